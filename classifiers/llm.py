"""The language-model backend: prompt, constrained output, validation, and the guards.

Pure logic: the HTTP transport sits behind `ChatEndpoint` (see `classifiers.llm_http`). One call
codes a batch of lines of one invoice. The answer is constrained by a JSON schema whose GL codes
are the chart of accounts, then validated with pydantic; anything else is rejected. Every call
passes the cache (by content hash), the circuit breaker and the run budget, is masked when the
endpoint is not local, and is logged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ValidationError

from classifiers.privacy import mask_personal_data
from classifiers.records import Candidate, LineQuery, LLMUsage, Suggestion
from invoices.records import ReasonCode

PROMPT_VERSION = "gl-coding-v1"
CONFIDENCE = {"high": 0.9, "medium": 0.6, "low": 0.3}


class EndpointError(Exception):
    """The endpoint did not answer usefully (transport error, timeout, 5xx, 429)."""

    def __init__(self, detail: str, retryable: bool = True) -> None:
        self.detail = detail
        self.retryable = retryable
        super().__init__(detail)


@dataclass(frozen=True)
class ChatResult:
    """What an endpoint returned for one chat completion."""

    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int


class ChatEndpoint(Protocol):
    """An OpenAI-compatible chat endpoint."""

    model: str
    local: bool

    def complete(
        self, messages: list[dict[str, str]], schema: dict[str, Any], max_tokens: int
    ) -> ChatResult:
        """One constrained chat completion; raises EndpointError."""
        ...


class LLMCache(Protocol):
    """Responses by content hash."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def put(self, key: str, model: str, answer: dict[str, Any]) -> None: ...


class MemoryCache:
    """An in-process cache (tests, offline runs)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}

    def get(self, key: str) -> dict[str, Any] | None:
        """The cached answer of `key`, if any."""
        return self.items.get(key)

    def put(self, key: str, model: str, answer: dict[str, Any]) -> None:
        """Remember an answer."""
        self.items[key] = answer


class CallRecord(BaseModel):
    """One line of the LLM call log."""

    model: str
    prompt_version: str
    input_hash: str
    lines: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_ms: int = 0
    outcome: str  # ok, invalid, error, cache_hit, breaker_open, budget_exhausted
    detail: str = ""
    masked: bool = False


class LineAnswer(BaseModel):
    """The model's coding of one line, as the schema demands (answers come in line order)."""

    gl_account: str
    cost_centre: str | None = None
    confidence: Literal["high", "medium", "low"]


class CodingAnswer(BaseModel):
    """The model's whole answer for a batch of lines."""

    lines: list[LineAnswer]


def response_schema(gl_accounts: Sequence[str], cost_centres: Sequence[str], n: int) -> dict:
    """The JSON schema of an answer: one entry per line, in order; GL codes from the chart.

    Entries are matched to lines by position: small models copy numbers from the prompt into
    a `line_no` field, but they keep the count the grammar imposes.
    """
    line: dict[str, Any] = {
        "type": "object",
        "properties": {
            "gl_account": {"type": "string", "enum": list(gl_accounts)},
            "confidence": {"type": "string", "enum": list(CONFIDENCE)},
        },
        "required": ["gl_account", "confidence"],
        "additionalProperties": False,
    }
    if cost_centres:
        line["properties"]["cost_centre"] = {"type": "string", "enum": list(cost_centres)}
        line["required"].insert(1, "cost_centre")
    return {
        "type": "object",
        "properties": {"lines": {"type": "array", "items": line, "minItems": n, "maxItems": n}},
        "required": ["lines"],
        "additionalProperties": False,
    }


@dataclass(frozen=True)
class Hint:
    """What the history backend thinks of a line, put in the prompt as precedent."""

    candidates: list[Candidate]
    examples: list[tuple[str, str]]


def build_messages(
    queries: Sequence[LineQuery], chart: dict[str, str], hints: dict[int, Hint], mask: bool
) -> list[dict[str, str]]:
    """System and user messages for coding `queries`; masked when the endpoint is remote."""
    accounts = "\n".join(f"{code} {name}" for code, name in chart.items())
    system = (
        "You are an accounts-payable clerk. Code each invoice line to one GL account from this "
        f"chart of accounts:\n{accounts}\nAnswer in JSON only. Use confidence 'high' only when "
        "the line clearly belongs to the account. Give one entry per line, in the order asked."
    )
    vendor = queries[0].vendor_name or queries[0].vendor_id or "unknown"
    parts = [f"Vendor: {vendor}"]
    for q in queries:
        parts.append(
            f"Line {q.line_no}: {q.description}"
            + (f" (amount {q.amount})" if q.amount is not None else "")
        )
        hint = hints.get(q.line_no)
        if hint and hint.candidates:
            cands = ", ".join(f"{c.code} ({c.probability:.2f})" for c in hint.candidates)
            parts.append(f"  history suggests: {cands}")
        for text, code in (hint.examples if hint else [])[:2]:
            parts.append(f"  precedent: '{text}' was coded {code}")
    user = "\n".join(parts)
    if mask:
        user = mask_personal_data(user)
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def input_hash(model: str, messages: list[dict[str, str]], schema: dict[str, Any]) -> str:
    """The content hash that keys the cache and the call log."""
    blob = json.dumps([PROMPT_VERSION, model, messages, schema], sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def parse_answer(
    content: str | dict[str, Any],
    queries: Sequence[LineQuery],
    gl_accounts: Sequence[str],
    cost_centres: Sequence[str],
) -> dict[int, LineAnswer]:
    """The validated answer by line number; raises ValueError if anything is off."""
    try:
        data = json.loads(content) if isinstance(content, str) else content
        answer = CodingAnswer.model_validate(data)
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise ValueError(f"answer is not valid: {exc}") from exc
    if len(answer.lines) != len(queries):
        raise ValueError(f"answer has {len(answer.lines)} entries for {len(queries)} lines")
    by_line = {q.line_no: a for q, a in zip(queries, answer.lines, strict=True)}
    for a in by_line.values():
        if a.gl_account not in gl_accounts:
            raise ValueError(f"GL account {a.gl_account} is not in the chart of accounts")
        if a.cost_centre is not None and cost_centres and a.cost_centre not in cost_centres:
            raise ValueError(f"cost centre {a.cost_centre} is unknown")
    return by_line


@dataclass
class LLMOutcome:
    """Suggestions for the lines the model coded, or the reason it could not."""

    suggestions: dict[int, tuple[Suggestion, Suggestion | None]] = field(default_factory=dict)
    reason: ReasonCode | None = None
    usage: LLMUsage = field(default_factory=LLMUsage)
