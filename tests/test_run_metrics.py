"""Run metrics (pure) and the run/document context on every log line."""

from __future__ import annotations

import io
import json
import logging
from decimal import Decimal

import pytest

from flows import logs
from flows.run_summary import summary_markdown
from invoices.run_metrics import cost, percentile, spread, summarise
from invoices.settings import load_settings


def _record(**kw):
    base = {
        "file": "a.pdf",
        "status": "success",
        "exception": False,
        "reasons": [],
        "timings": {"text": 1.0, "extraction": 0.5},
        "pages_ocr": 0,
        "pages_text_layer": 1,
        "fields_present": 4,
        "fields_accepted": 4,
        "llm_calls": 0,
        "llm_tokens": 0,
        "llm_seconds": 0.0,
        "model_versions": {},
    }
    return {**base, **kw}


@pytest.mark.parametrize(
    "values,q,expected",
    [([], 50, 0.0), ([3.0], 95, 3.0), ([1, 2, 3, 4], 50, 2), ([*range(1, 21)], 95, 19)],
)
def test_percentile_nearest_rank(values, q, expected):
    assert percentile([float(v) for v in values], q) == expected


def test_summarise_counts_rates_stages_and_llm():
    settings = load_settings(cpu_price_per_hour=Decimal("3.6"), llm_cost_per_1k_tokens=Decimal("1"))
    records = [
        _record(),
        _record(
            status="failed",
            exception=True,
            reasons=["DOCUMENT_EMPTY"],
            timings={"text": 3.0},
            pages_text_layer=0,
            fields_present=0,
            fields_accepted=0,
        ),
        _record(
            exception=True,
            reasons=["PRICE_VARIANCE", "PO_MISSING"],
            pages_ocr=2,
            pages_text_layer=0,
            fields_accepted=2,
            llm_calls=2,
            llm_tokens=500,
            llm_seconds=4.0,
            model_versions={"history": "h1"},
        ),
    ]
    m = summarise(records, settings, cpu_seconds=10.0)
    assert m["processed"] == 3 and m["failures"] == 1
    assert m["pages"] == {"text_layer": 1, "ocr": 2}
    assert m["exceptions_by_reason"] == {"DOCUMENT_EMPTY": 1, "PO_MISSING": 1, "PRICE_VARIANCE": 1}
    assert m["straight_through_rate"] == round(1 / 3, 4)
    assert m["auto_accept_rate"] == 0.75  # 6 of 8 present fields
    assert m["stage_percentiles"]["text"] == {"p50": 1.0, "p95": 3.0, "max": 3.0, "total": 5.0}
    assert m["seconds_per_document"]["max"] == 3.0
    assert m["llm"]["calls"] == 2 and m["llm"]["seconds_per_call"]["p50"] == 2.0
    assert m["llm"]["tokens_per_call"] == 250.0
    # 10 CPU-s at 3.6/h = 0.01; 500 tokens at 1/1k = 0.5; per 1,000 of 3 invoices
    assert m["cost"]["total"] == Decimal("0.51")
    assert m["cost"]["per_1000_invoices"] == Decimal("170.0000")
    assert m["model_versions"] == {"history": "h1"}


def test_llm_seconds_per_call_are_each_calls_own():
    records = [
        _record(
            llm_calls=2,
            llm_tokens=900,
            llm_prompt_tokens=800,
            llm_completion_tokens=100,
            llm_seconds=10.0,
            llm_call_seconds=[1.0, 9.0],
        ),
        _record(
            llm_calls=1,
            llm_tokens=300,
            llm_prompt_tokens=250,
            llm_completion_tokens=50,
            llm_seconds=2.0,
            llm_call_seconds=[2.0],
        ),
        _record(llm_calls=1, llm_tokens=100, llm_seconds=3.0),  # written before call seconds
    ]
    llm = summarise(records, load_settings())["llm"]
    # per call, not per document: a document's mean (5 s) would hide its 9 s call
    assert llm["seconds_per_call"] == {"p50": 2.0, "p95": 9.0, "max": 9.0, "total": 15.0}
    assert llm["prompt_tokens"] == 1050 and llm["completion_tokens"] == 150
    assert llm["prompt_tokens_per_call"] == 262.5 and llm["completion_tokens_per_call"] == 37.5
    assert llm["tokens_per_call"] == 325.0
    text = summary_markdown(
        {
            "run_id": "r",
            "documents": 3,
            "staged": 3,
            "identical_files": 0,
            "skipped": 0,
            "exceptions": 0,
            "failures": 0,
            "straight_through_rate": 1.0,
            "seconds_per_stage": {},
            "llm": llm,
        }
    )
    assert "seconds p50 2.0, p95 9.0, prompt tokens 262.5, completion tokens 37.5" in text


def test_cost_of_nothing_is_zero():
    assert cost(0.0, 0, 0, load_settings())["per_1000_invoices"] == 0
    assert spread([])["max"] == 0.0


@pytest.mark.parametrize("json_lines", [False, True])
def test_every_line_carries_run_document_and_file(json_lines):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        logs.configure(json_lines)
        with logs.run_scope("run-42"):
            logging.getLogger("extractors.x").warning("outside a document")
            with logs.document_scope("ab" * 32, "inv-7.pdf"):
                logging.getLogger("matchers.y").warning("inside")
    finally:
        root.removeHandler(handler)
        logs.configure(False)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    if json_lines:
        first, second = (json.loads(line) for line in lines)
        assert first["run_id"] == "run-42" and first["file_name"] == "-"
        assert second["document_id"] == "ab" * 6 and second["file_name"] == "inv-7.pdf"
        assert second["message"] == "inside"
    else:
        assert "run=run-42" in lines[0] and "file=-" in lines[0]
        assert "doc=abababababab file=inv-7.pdf" in lines[1]
