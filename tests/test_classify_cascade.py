"""The cascade with a small inline history and scripted endpoints: acceptance, escalation,
outages, budget, invalid answers, caching, batching, masking; and the HTTP endpoint's error
mapping (mock transport and a real closed port)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from classifiers import ClassificationContext, classify
from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
from classifiers.cascade import Cascade
from classifiers.guard import Backoff, Budget, CircuitBreaker
from classifiers.history import CodedLine
from classifiers.llm import PROMPT_VERSION, CallRecord, ChatResult, EndpointError
from classifiers.llm_backend import LLMBackend
from classifiers.llm_http import HttpChatEndpoint
from classifiers.local_server import free_port
from classifiers.training import train_history_model
from invoices.records import (
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
    ReasonCode,
)
from invoices.settings import load_settings
from matchers.embeddings import HashingEmbedder

CHART = {"6300": "Office supplies", "6400": "IT hardware", "6410": "Software", "6600": "Utilities"}
CENTRES = ["CC100", "CC400", "CC500"]
PROV = Provenance(method=Method.TEXT_LAYER)
CATALOGUE = {
    "V1": [
        ("Copy paper A4, 500 sheets", "6300", "CC100"),
        ("Toner cartridge black", "6300", "CC100"),
    ],
    "V2": [("Laptop 14 inch", "6400", "CC400"), ("Annual software licence", "6410", "CC400")],
    "V3": [("Electricity consumption", "6600", "CC500"), ("Standing charge", "6600", "CC500")],
}


def _history() -> list[CodedLine]:
    lines = []
    for n in range(60):
        vendor = f"V{n % 3 + 1}"
        for no, (desc, gl, cc) in enumerate(CATALOGUE[vendor], start=1):
            lines.append(
                CodedLine(
                    f"H{n}",
                    no,
                    vendor,
                    desc,
                    gl,
                    cc,
                    invoice_date=date(2024, 1, 1) + timedelta(days=n),
                )
            )
    return lines


@pytest.fixture(scope="module")
def history_model():
    model, _ = train_history_model(_history(), HashingEmbedder(), "test-history")
    return model


class ScriptedEndpoint:
    """Answers like a chat endpoint from a script: 'ok', 'low', 'invalid' or 'down'."""

    def __init__(self, mode: str = "ok", local: bool = True) -> None:
        self.mode, self.local, self.model = mode, local, "scripted-llm"
        self.calls: list[list[dict[str, str]]] = []

    def complete(self, messages, schema, max_tokens) -> ChatResult:
        self.calls.append(messages)
        if self.mode == "down":
            raise EndpointError("connection refused")
        n = schema["properties"]["lines"]["minItems"]
        numbers = [
            int(x.split(":")[0].split()[-1])
            for x in messages[1]["content"].splitlines()
            if x.startswith("Line ")
        ]
        assert len(numbers) == n
        gl = "9999" if self.mode == "invalid" else "6410"
        conf = "low" if self.mode == "low" else "high"
        lines = [
            {"line_no": no, "gl_account": gl, "cost_centre": "CC400", "confidence": conf}
            for no in numbers
        ]
        return ChatResult(json.dumps({"lines": lines}), self.model, 120, 30)


def _cascade(model, endpoint=None, threshold=0.6, budget=None, log=None, batch=8) -> Cascade:
    llm = None
    if endpoint is not None:
        llm = LLMBackend(
            endpoint=endpoint,
            chart=CHART,
            cost_centres=CENTRES,
            budget=budget or Budget(),
            breaker=CircuitBreaker(failure_threshold=2, cooldown_seconds=3600),
            backoff=Backoff(sleep=lambda s: None),
            call_log=(log.append if log is not None else print),
            retries=1,
            batch_lines=batch,
        )
    return Cascade(
        history=model,
        embedder=HashingEmbedder(),
        llm=llm,
        rules=parse_rules(DEFAULT_APPROVAL_RULES),
        history_threshold=threshold,
    )


def _invoice(*descriptions: str, total: str = "120.00") -> Invoice:
    lines = [
        LineItem(
            description=FieldValue(value=d, confidence=1.0, provenance=PROV),
            line_total=FieldValue(value=Decimal("10.00"), confidence=1.0, provenance=PROV),
        )
        for d in descriptions
    ]
    return Invoice(
        lines=lines, total=FieldValue(value=Decimal(total), confidence=1.0, provenance=PROV)
    )


def _run(cascade: Cascade, invoice: Invoice, vendor: str | None = "V1", text: str = "INVOICE"):
    ctx = ClassificationContext(cascade, vendor_id=vendor, vendor_name="Acme", text=text)
    return classify(invoice, ctx, load_settings())


def test_confident_history_needs_no_llm_and_cites_precedents(history_model) -> None:
    endpoint = ScriptedEndpoint()
    result = _run(_cascade(history_model, endpoint), _invoice("Copy paper A4, 500 sheets"))
    line = result.lines[0]
    assert line.gl_account.code == "6300" and line.cost_centre.code == "CC100"
    assert line.gl_account.backend == "history" and line.gl_account.model_version == "test-history"
    assert line.gl_account.precedents and all(p.startswith("H") for p in line.gl_account.precedents)
    assert 0.6 <= line.gl_account.confidence <= 1.0 and len(line.gl_account.top) == 3
    assert endpoint.calls == [] and result.reasons == []
    assert result.gl_account.code == "6300" and result.approval_route.approver_group == "auto"
    assert result.document_type.value == "invoice"
    assert result.model_dump(mode="json")["lines"][0]["gl_account"]["code"] == "6300"


def test_uncertain_lines_go_to_the_llm_in_batches_and_are_cached(history_model) -> None:
    log: list[CallRecord] = []
    endpoint = ScriptedEndpoint()
    cascade = _cascade(history_model, endpoint, threshold=1.01, log=log, batch=2)
    invoice = _invoice("Laptop 14 inch", "Mystery item", "Cloud thing")
    result = _run(cascade, invoice, vendor="V2")
    assert len(endpoint.calls) == 2  # 3 lines in batches of 2
    assert all(
        ln.gl_account.code == "6410" and ln.gl_account.backend == "llm" for ln in result.lines
    )
    assert result.lines[0].gl_account.model_version == f"scripted-llm/{PROMPT_VERSION}"
    assert result.reasons == [] and result.llm.calls == 2 and result.llm.prompt_tokens == 240
    assert [r.outcome for r in log] == ["ok", "ok"] and log[0].completion_tokens == 30
    assert len(log[0].input_hash) == 64
    # each call's own seconds, for the run's p50 / p95 per call
    assert len(result.llm.call_seconds) == 2
    assert cascade.usage.call_seconds == result.llm.call_seconds
    again = _run(cascade, invoice, vendor="V2")
    assert len(endpoint.calls) == 2 and again.llm.cache_hits == 2
    assert again.llm.call_seconds == [] and len(cascade.usage.call_seconds) == 2
    assert [ln.gl_account.code for ln in again.lines] == ["6410"] * 3
    assert cascade.run_metrics()["llm_share"] == 1.0


@pytest.mark.parametrize(
    ("mode", "budget", "reason"),
    [
        ("down", None, ReasonCode.LLM_UNAVAILABLE),
        ("ok", Budget(max_calls=0), ReasonCode.LLM_BUDGET_EXHAUSTED),
        ("invalid", None, ReasonCode.GL_UNCERTAIN),
        ("low", None, ReasonCode.GL_UNCERTAIN),
    ],
)
def test_failures_keep_the_history_guess_with_the_right_reason(
    history_model, mode, budget, reason
) -> None:
    endpoint = ScriptedEndpoint(mode)
    cascade = _cascade(history_model, endpoint, threshold=1.01, budget=budget)
    docs = [_invoice("Copy paper A4, 500 sheets", "Toner cartridge black") for _ in range(4)]
    results = [_run(cascade, doc) for doc in docs]
    for result in results:  # nothing lost: every line coded, the reason recorded
        assert [ln.gl_account.code for ln in result.lines] == ["6300", "6300"] or mode == "low"
        assert all(ln.gl_account.code for ln in result.lines)
        assert reason in result.reasons and all(reason in ln.reasons for ln in result.lines)
    if mode == "down":  # the breaker opened: two failed calls, then no more traffic
        assert len(endpoint.calls) == 2 and cascade.llm.breaker.state == "open"
    if budget is not None:
        assert endpoint.calls == []


def test_no_llm_configured_marks_uncertain_lines(history_model) -> None:
    result = _run(
        _cascade(history_model, None, threshold=1.01), _invoice("Copy paper A4, 500 sheets")
    )
    assert result.lines[0].gl_account.code == "6300"
    assert result.reasons == [ReasonCode.GL_UNCERTAIN]


def test_statement_is_not_coded_and_costs_nothing(history_model) -> None:
    endpoint = ScriptedEndpoint()
    text = "Acme Ltd\nSTATEMENT OF ACCOUNT\nOpen items\nInvoice 1 100.00"
    result = _run(_cascade(history_model, endpoint, threshold=1.01), Invoice(), text=text)
    assert result.document_type.value == "statement" and result.lines == []
    assert result.reasons == [ReasonCode.NOT_AN_INVOICE] and result.approval_route is None
    assert endpoint.calls == []


def test_prompts_to_remote_endpoints_are_masked(history_model) -> None:
    secret = "Consulting by John Smith, john.smith@example.com, IBAN DE89370400440532013000"
    for local, leaked in ((False, False), (True, True)):
        endpoint = ScriptedEndpoint(local=local)
        _run(_cascade(history_model, endpoint, threshold=1.01), _invoice(secret))
        prompt = json.dumps(endpoint.calls)
        assert ("john.smith@example.com" in prompt) is leaked
        assert ("DE89370400440532013000" in prompt) is leaked


def test_history_precedents_are_in_the_prompt(history_model) -> None:
    endpoint = ScriptedEndpoint()
    _run(_cascade(history_model, endpoint, threshold=1.01), _invoice("Toner cartridge black"))
    user = endpoint.calls[0][1]["content"]
    assert (
        "history suggests: 6300" in user
        and "precedent: 'Toner cartridge black' was coded 6300" in user
    )
    assert "6410 Software" in endpoint.calls[0][0]["content"]


def _mock(handler) -> HttpChatEndpoint:
    return HttpChatEndpoint(
        "http://llm.test", "m", api_key="k", transport=httpx.MockTransport(handler)
    )


def test_http_endpoint_sends_the_schema_and_maps_errors() -> None:
    seen: dict[str, Any] = {}

    def ok(request: httpx.Request) -> httpx.Response:
        seen.update(json.loads(request.content), auth=request.headers["authorization"])
        return httpx.Response(
            200,
            json={
                "model": "m1",
                "choices": [{"message": {"content": "{}"}}],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3},
            },
        )

    result = _mock(ok).complete([{"role": "user", "content": "x"}], {"type": "object"}, 16)
    assert (result.model, result.prompt_tokens, result.completion_tokens) == ("m1", 7, 3)
    assert seen["response_format"]["type"] == "json_schema" and seen["auth"] == "Bearer k"
    assert seen["max_tokens"] == 16 and seen["temperature"] == 0.0
    for status, retryable in ((500, True), (429, True), (400, False)):
        with pytest.raises(EndpointError) as err:
            _mock(lambda r, s=status: httpx.Response(s, text="no")).complete([], {}, 1)
        assert err.value.retryable is retryable


def test_a_dead_endpoint_over_real_http_degrades_to_history(history_model) -> None:
    endpoint = HttpChatEndpoint(
        f"http://127.0.0.1:{free_port()}", "nobody", local=True, timeout_seconds=2.0
    )
    cascade = _cascade(history_model, endpoint, threshold=1.01)
    results = [_run(cascade, _invoice("Laptop 14 inch"), vendor="V2") for _ in range(3)]
    assert all(r.lines[0].gl_account.code == "6400" for r in results)
    assert all(ReasonCode.LLM_UNAVAILABLE in r.reasons for r in results)
    assert cascade.llm.breaker.trips == 1
    endpoint.close()


def test_llm_answer_against_clear_history_goes_to_a_clerk(history_model) -> None:
    from classifiers.records import Candidate, LineCoding, Suggestion

    cascade = _cascade(history_model, ScriptedEndpoint())
    top = [
        Candidate(code=c, probability=p) for c, p in (("6300", 0.5), ("6400", 0.3), ("6410", 0.1))
    ]
    history = Suggestion(code="6300", confidence=0.5, top=top, backend="history")
    llm_top = [Candidate(code="6600", probability=0.9)]
    outside = Suggestion(code="6600", confidence=0.9, top=llm_top, backend="llm")
    coding = LineCoding(line_no=1, gl_account=history)
    cascade._adopt(coding, outside, None)
    assert coding.gl_account.code == "6300" and coding.reasons == [ReasonCode.GL_UNCERTAIN]
    assert "6600" in [c.code for c in coding.gl_account.top]
    inside = Suggestion(
        code="6400", confidence=0.9, top=[Candidate(code="6400", probability=0.9)], backend="llm"
    )
    coding = LineCoding(line_no=1, gl_account=history.model_copy(deep=True))
    cascade._adopt(coding, inside, None)
    assert coding.gl_account.code == "6400" and coding.gl_account.backend == "llm"
    assert coding.reasons == []


def test_a_model_stored_under_the_old_loader_name_keeps_the_shared_embedder(history_model):
    """Models stored before matching and classification shared one loader named the same
    MiniLM "minilm:<package>"; read back, they carry the shared loader's name at 256 tokens,
    so the run does not take them for another embedder's."""
    from classifiers.history import HistoryModel
    from matchers.embeddings import load_embedder

    settings = load_settings()
    shared = load_embedder(settings, settings.classifier_embedding_max_tokens)
    package_folder = shared.name.split(":")[0]
    history_model.embedder_name = f"minilm:{package_folder}"
    restored = HistoryModel.from_bytes(history_model.to_bytes())
    assert restored.embedder_name == shared.name == f"{package_folder}:f32:256"
    history_model.embedder_name = "hashing:256"
    assert HistoryModel.from_bytes(history_model.to_bytes()).embedder_name == "hashing:256"
