"""The LLM bench: figures per call from the cascade's own call path, accuracy on generated
lines, and llama.cpp's timings read from a server log."""

from __future__ import annotations

import json

import pytest

from classifiers import local_server
from classifiers.bench_llm import (
    call_figures,
    labelled_invoices,
    parse_llama_perf,
    run_bench,
)
from classifiers.llm import CallRecord, ChatResult
from classifiers.local_server import DEFAULT_THREADS, server_command
from synthetic.coding import chart_of_accounts, coded_invoices, cost_centre_codes

LOG = """\
llama_perf_context_print:        load time =     210.00 ms
llama_perf_context_print: prompt eval time =     800.00 ms /   400 tokens (    2.00 ms per token)
llama_perf_context_print:        eval time =    3000.00 ms /    60 runs   (   50.00 ms per token)
Llama.generate: 380 prefix-match hit, remaining 20 prompt tokens to eval
llama_perf_context_print: prompt eval time =     100.00 ms /    20 tokens (    5.00 ms per token)
llama_perf_context_print:        eval time =    1000.00 ms /    20 runs   (   50.00 ms per token)
"""


def test_llama_perf_is_summed_per_kind():
    perf = parse_llama_perf(LOG)
    assert perf["prompt_eval"] == {"ms": 900.0, "tokens": 420, "ms_per_token": 2.14}
    assert perf["eval"] == {"ms": 4000.0, "tokens": 80, "ms_per_token": 50.0}
    assert parse_llama_perf("no timings here") == {}


def test_call_figures_count_only_calls_that_reached_the_endpoint():
    def rec(outcome, ms=0, p=0, c=0):
        return CallRecord(
            model="m",
            prompt_version="v",
            input_hash="h",
            lines=1,
            outcome=outcome,
            latency_ms=ms,
            prompt_tokens=p,
            completion_tokens=c,
        )

    figures = call_figures(
        [
            rec("ok", 1000, 300, 40),
            rec("invalid", 3000, 500, 60),
            rec("cache_hit"),
            rec("ok", 2000, 400, 50),
        ]
    )
    assert figures["calls"] == 3
    assert figures["outcomes"] == {"cache_hit": 1, "invalid": 1, "ok": 2}
    assert figures["seconds_per_call"]["p50"] == 2.0 and figures["seconds_per_call"]["p95"] == 3.0
    assert figures["prompt_tokens_per_call"] == 400.0
    assert figures["completion_tokens_per_call"] == 50.0


class KnowingEndpoint:
    """Codes a line right when its description is in `truth`, else to the chart's first
    account; counts the calls and the lines per call."""

    model, local = "knowing", True

    def __init__(self, truth: dict[str, str], first: str) -> None:
        self.truth, self.first, self.calls = truth, first, []

    def complete(self, messages, schema, max_tokens) -> ChatResult:
        rows = [x for x in messages[1]["content"].splitlines() if x.startswith("Line ")]
        self.calls.append(len(rows))
        assert len(rows) == schema["properties"]["lines"]["minItems"]
        lines = []
        for row in rows:
            text = row.split(": ", 1)[1].rsplit(" (amount", 1)[0]
            lines.append({"gl_account": self.truth.get(text, self.first), "confidence": "high"})
        return ChatResult(json.dumps({"lines": lines}), self.model, 200, 20)


def test_bench_codes_generated_lines_through_the_backend_every_call_real():
    invoices = coded_invoices(5, 8, seed=3)
    assert all(1 <= len(lines) <= 8 for lines in invoices)
    chart = chart_of_accounts()
    assert {ln.gl_account for lines in invoices for ln in lines} <= set(chart)
    every = [ln for lines in invoices for ln in lines]
    # the endpoint knows all but the first invoice's lines
    truth = {ln.description: ln.gl_account for ln in every[len(invoices[0]) :]}
    endpoint = KnowingEndpoint(truth, first="0650")
    labelled = labelled_invoices(invoices) * 2  # the same invoices again: no cache in a bench
    figures = run_bench(endpoint, chart, cost_centre_codes(), labelled, batch_lines=3)
    first_wrong = sum(ln.gl_account != "0650" for ln in invoices[0])
    assert figures["lines"] == 2 * len(every)
    assert figures["correct"] == 2 * (len(every) - first_wrong)
    assert figures["accuracy"] == round(figures["correct"] / figures["lines"], 4)
    assert max(endpoint.calls) <= 3
    assert figures["calls"] == len(endpoint.calls) == 2 * sum(-(-len(i) // 3) for i in invoices)
    assert figures["prompt_tokens_per_call"] == 200.0


def test_the_local_server_uses_one_thread_for_generation_and_for_the_prompt(tmp_path):
    cmd = server_command(tmp_path / "m.gguf", 9, threads=DEFAULT_THREADS, n_ctx=2048)
    flags = dict(zip(cmd[3::2], cmd[4::2], strict=True))
    assert DEFAULT_THREADS == 1
    assert flags["--n_threads"] == flags["--n_threads_batch"] == "1"
    assert flags["--host"] == "127.0.0.1" and flags["--model_alias"] == "m"


def test_starting_the_local_server_without_llama_cpp_says_how_to_build_it(monkeypatch):
    monkeypatch.setattr(local_server, "llama_server_available", lambda: False)
    with pytest.raises(RuntimeError, match="make llm"):
        local_server.start_server()
