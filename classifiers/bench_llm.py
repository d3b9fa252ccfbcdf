"""How fast and how right the language model is, called the way the cascade calls it.

`run_bench` sends labelled lines through the guarded `LLMBackend` (the cascade's prompt, schema,
batching and completion budget; no cache, so every batch is a real call) and returns, per call,
the seconds and the prompt and completion tokens, and the share of lines coded right.
`parse_llama_perf` reads llama.cpp's own timings from the local server's log (prompt
evaluation and generation, ms per token), which tell where a slow call spends its time.
The labelled lines come from the caller (`invoices bench-llm` builds them from the generator's
catalogue); the endpoint is any `ChatEndpoint`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from classifiers.guard import Budget
from classifiers.llm import CallRecord, ChatEndpoint
from classifiers.llm_backend import LLMBackend
from classifiers.records import LineQuery
from invoices.run_metrics import spread


@dataclass(frozen=True)
class LabelledLine:
    """One invoice line and the GL account a clerk would book it to."""

    query: LineQuery
    gl_account: str


def labelled_invoices(invoices: Iterable[Iterable[Any]]) -> list[list[LabelledLine]]:
    """Invoices of coded lines (anything with `description`, `amount`, `vendor_id`,
    `vendor_name` and `gl_account`) as the lines the cascade sends, numbered from 1."""
    return [
        [
            LabelledLine(
                LineQuery(
                    line_no=no,
                    description=ln.description,
                    amount=ln.amount,
                    vendor_id=ln.vendor_id,
                    vendor_name=ln.vendor_name,
                ),
                ln.gl_account,
            )
            for no, ln in enumerate(lines, start=1)
        ]
        for lines in invoices
    ]


class NoCache:
    """A cache that never remembers: every batch of the bench is a real call."""

    def get(self, key: str) -> dict[str, Any] | None:
        """Nothing is ever cached."""
        return None

    def put(self, key: str, model: str, answer: dict[str, Any]) -> None:
        """Forget the answer."""


def run_bench(
    endpoint: ChatEndpoint,
    chart: dict[str, str],
    cost_centres: Sequence[str],
    invoices: Sequence[Sequence[LabelledLine]],
    *,
    batch_lines: int = 8,
    max_tokens: int = 64,
) -> dict[str, Any]:
    """Code every invoice's lines through `endpoint` as the cascade would (no history hints,
    like a vendor without history) and return the figures per call and the accuracy."""
    calls: list[CallRecord] = []
    backend = LLMBackend(
        endpoint=endpoint,
        chart=dict(chart),
        cost_centres=list(cost_centres),
        budget=Budget(max_calls=None, max_tokens=None),
        cache=NoCache(),
        call_log=calls.append,
        max_tokens=max_tokens,
        retries=0,
        batch_lines=batch_lines,
    )
    lines = correct = answered = 0
    started = time.perf_counter()
    for invoice in invoices:
        outcome = backend.suggest([ln.query for ln in invoice], {})
        for ln in invoice:
            lines += 1
            answer = outcome.suggestions.get(ln.query.line_no)
            if answer is not None:
                answered += 1
                correct += answer[0].code == ln.gl_account
    wall = time.perf_counter() - started
    return {
        **call_figures(calls),
        "lines": lines,
        "answered": answered,
        "correct": correct,
        "accuracy": round(correct / lines, 4) if lines else 0.0,
        "wall_seconds": round(wall, 2),
    }


def call_figures(calls: Sequence[CallRecord]) -> dict[str, Any]:
    """Seconds per call (p50, p95, max) and mean prompt and completion tokens of the calls
    that reached the endpoint, with the count of each outcome."""
    made = [c for c in calls if c.outcome in ("ok", "invalid")]
    outcomes: dict[str, int] = {}
    for c in calls:
        outcomes[c.outcome] = outcomes.get(c.outcome, 0) + 1
    n = len(made)
    return {
        "calls": n,
        "outcomes": dict(sorted(outcomes.items())),
        "seconds_per_call": spread([c.latency_ms / 1000 for c in made]),
        "prompt_tokens_per_call": round(sum(c.prompt_tokens for c in made) / n, 1) if n else 0.0,
        "completion_tokens_per_call": (
            round(sum(c.completion_tokens for c in made) / n, 1) if n else 0.0
        ),
    }


# llama.cpp prints, after each completion (verbose server):
#   llama_perf_context_print: prompt eval time =  812.31 ms /   402 tokens (...)
#   llama_perf_context_print:        eval time = 3018.40 ms /    63 runs   (...)
_PERF = re.compile(
    r"(?P<kind>prompt eval|eval|sampling) time\s*=\s*(?P<ms>[\d.]+) ms\s*/\s*(?P<n>\d+)"
    r" (?:tokens|runs)"
)


def parse_llama_perf(log_text: str) -> dict[str, dict[str, float]]:
    """llama.cpp's own timings summed over a server log: per kind (prompt eval, eval,
    sampling) the milliseconds, the tokens or runs, and milliseconds per token."""
    sums: dict[str, list[float]] = {}
    for m in _PERF.finditer(log_text):
        ms, n = sums.setdefault(m["kind"], [0.0, 0.0]), float(m["n"])
        ms[0] += float(m["ms"])
        ms[1] += n
    return {
        kind.replace(" ", "_"): {
            "ms": round(ms, 1),
            "tokens": int(n),
            "ms_per_token": round(ms / n, 2) if n else 0.0,
        }
        for kind, (ms, n) in sorted(sums.items())
    }
