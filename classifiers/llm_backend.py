"""The guarded LLM backend: cache -> breaker -> budget -> endpoint with retries -> validation.

Never raises for an endpoint fault: the outcome carries LLM_UNAVAILABLE, LLM_BUDGET_EXHAUSTED
or GL_UNCERTAIN instead, so the batch goes on with the history backend.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from classifiers.guard import Backoff, Budget, CircuitBreaker
from classifiers.llm import (
    CONFIDENCE,
    PROMPT_VERSION,
    CallRecord,
    ChatEndpoint,
    EndpointError,
    Hint,
    LineAnswer,
    LLMCache,
    LLMOutcome,
    MemoryCache,
    build_messages,
    input_hash,
    parse_answer,
    response_schema,
)
from classifiers.records import Candidate, LineQuery, Suggestion
from invoices.records import ReasonCode

log = logging.getLogger(__name__)

CHARS_PER_TOKEN = 3.5


@dataclass
class LLMBackend:
    """Codes lines through a chat endpoint, within the run's budget and behind a breaker."""

    endpoint: ChatEndpoint
    chart: dict[str, str]  # GL account -> name
    cost_centres: list[str]
    budget: Budget = field(default_factory=Budget)
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    backoff: Backoff = field(default_factory=Backoff)
    cache: LLMCache = field(default_factory=MemoryCache)
    call_log: Callable[[CallRecord], None] = lambda record: None
    max_tokens: int = 64  # completion tokens per line
    retries: int = 2
    batch_lines: int = 8
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model_version(self) -> str:
        """The model and prompt version recorded on every suggestion this backend makes."""
        return f"{self.endpoint.model}/{PROMPT_VERSION}"

    def suggest(self, queries: Sequence[LineQuery], hints: dict[int, Hint]) -> LLMOutcome:
        """Suggestions for `queries`, in batches; the first failure reason is kept."""
        outcome = LLMOutcome()
        for start in range(0, len(queries), max(1, self.batch_lines)):
            batch = list(queries[start : start + max(1, self.batch_lines)])
            part = self._suggest_batch(batch, hints)
            outcome.suggestions.update(part.suggestions)
            outcome.reason = outcome.reason or part.reason
            for name in ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "lines_sent"):
                setattr(
                    outcome.usage, name, getattr(outcome.usage, name) + getattr(part.usage, name)
                )
            outcome.usage.seconds += part.usage.seconds
            outcome.usage.call_seconds += part.usage.call_seconds
        return outcome

    def _suggest_batch(self, batch: list[LineQuery], hints: dict[int, Hint]) -> LLMOutcome:
        mask = not self.endpoint.local
        messages = build_messages(batch, self.chart, hints, mask=mask)
        schema = response_schema(list(self.chart), self.cost_centres, len(batch))
        key = input_hash(self.endpoint.model, messages, schema)
        record = CallRecord(
            model=self.endpoint.model,
            prompt_version=PROMPT_VERSION,
            input_hash=key,
            lines=len(batch),
            outcome="",
            masked=mask,
        )
        outcome = LLMOutcome()
        cached = self.cache.get(key)
        if cached is not None:
            outcome.usage.cache_hits = 1
            self._log(record, "cache_hit")
            return self._accept(batch, cached, outcome, record, log_ok=False)
        with self._lock:
            if not self.breaker.allows():
                self._log(record, "breaker_open")
                outcome.reason = ReasonCode.LLM_UNAVAILABLE
                return outcome
            estimate = int(
                sum(len(m["content"]) for m in messages) / CHARS_PER_TOKEN
            ) + self._max_tokens(len(batch))
            if not self.budget.allows(estimate):
                self._log(record, "budget_exhausted", f"estimate {estimate} tokens")
                outcome.reason = ReasonCode.LLM_BUDGET_EXHAUSTED
                return outcome
            result = self._call_with_retries(messages, schema, record, outcome)
        if result is None:
            outcome.reason = ReasonCode.LLM_UNAVAILABLE
            return outcome
        accepted = self._accept(batch, result.content, outcome, record, log_ok=True)
        if accepted.suggestions:
            self.cache.put(key, result.model, _as_json(result.content))
        return accepted

    def _call_with_retries(self, messages, schema, record: CallRecord, outcome: LLMOutcome):
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                result = self.endpoint.complete(messages, schema, self._max_tokens(record.lines))
            except EndpointError as exc:
                elapsed = time.perf_counter() - started
                self.breaker.record_failure()
                self._log(
                    record.model_copy(update={"latency_ms": int(elapsed * 1000)}),
                    "error",
                    exc.detail,
                )
                if not exc.retryable or not self.breaker.allows() or attempt == self.retries:
                    return None
                self.backoff.wait(attempt)
                continue
            elapsed = time.perf_counter() - started
            self.breaker.record_success()
            self.budget.spend(result.prompt_tokens + result.completion_tokens)
            outcome.usage.calls += 1
            outcome.usage.lines_sent += record.lines
            outcome.usage.prompt_tokens += result.prompt_tokens
            outcome.usage.completion_tokens += result.completion_tokens
            outcome.usage.seconds += elapsed
            outcome.usage.call_seconds.append(round(elapsed, 3))
            record.prompt_tokens, record.completion_tokens = (
                result.prompt_tokens,
                result.completion_tokens,
            )
            record.latency_ms = int(elapsed * 1000)
            record.model = result.model or record.model
            return result
        return None

    def _max_tokens(self, lines: int) -> int:
        """The completion budget of one call: `max_tokens` per line plus the JSON frame."""
        return 16 + self.max_tokens * lines

    def _accept(
        self, batch, content, outcome: LLMOutcome, record: CallRecord, log_ok: bool
    ) -> LLMOutcome:
        try:
            answers = parse_answer(content, batch, list(self.chart), self.cost_centres)
        except ValueError as exc:
            self._log(record, "invalid", str(exc)[:500])
            outcome.reason = ReasonCode.GL_UNCERTAIN
            return outcome
        if log_ok:
            self._log(record, "ok")
        for line_no, answer in answers.items():
            outcome.suggestions[line_no] = self._suggestions(answer)
        return outcome

    def _suggestions(self, answer: LineAnswer) -> tuple[Suggestion, Suggestion | None]:
        conf = CONFIDENCE[answer.confidence]
        gl = Suggestion(
            code=answer.gl_account,
            confidence=conf,
            top=[Candidate(code=answer.gl_account, probability=conf)],
            backend="llm",
            model_version=self.model_version,
        )
        cc = None
        if answer.cost_centre:
            cc = Suggestion(
                code=answer.cost_centre,
                confidence=conf,
                top=[Candidate(code=answer.cost_centre, probability=conf)],
                backend="llm",
                model_version=self.model_version,
            )
        return gl, cc

    def _log(self, record: CallRecord, outcome: str, detail: str = "") -> None:
        final = record.model_copy(update={"outcome": outcome, "detail": detail})
        log.debug("llm call %s %s %s", final.input_hash[:12], outcome, detail)
        try:
            self.call_log(final)
        except Exception:  # noqa: BLE001 - a broken log must not stop the batch
            log.exception("could not record an LLM call")


def _as_json(content: str) -> dict:
    import json

    return json.loads(content)
