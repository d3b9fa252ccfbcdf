"""Drift per vendor on a tiny fixture, and the run report's drift and model-version sections.

Two vendors, four completed runs, one straight-through invoice per vendor and run (five header
values each). Clerks corrected two values of V2's invoices in each of the last two runs (found
by audit samples), one of V1's in the first run, and values of a V1 invoice that was an
exception (not auto-accepted) in the last run. With a window of two runs and a threshold of
20 %: V2 is listed (4 of 10 = 40 %, 0 % in the two runs before: new); V1 is not (0 of 10 in
the window; its exception's corrections do not count).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.records import (
    Document,
    DocumentResult,
    FieldValue,
    Invoice,
    Method,
    Provenance,
    ReasonCode,
)
from review.report import model_version_rows, write_html
from staging import corrections, db, master, runs, store

pytestmark = pytest.mark.db
PROV = Provenance(method=Method.TEXT_LAYER, extractor="layout-labels", version="7", page=1)


def _result(name: str, vendor: str, reasons=()) -> DocumentResult:
    fv = lambda v: FieldValue(value=v, confidence=0.99, provenance=PROV)  # noqa: E731
    invoice = Invoice(vendor_name=fv(f"{vendor} GmbH"), invoice_number=fv(name),
                      invoice_date=fv(dt.date(2026, 1, 5)), currency=fv("EUR"),
                      total=fv(Decimal("10.00")))  # fmt: skip
    return DocumentResult(
        document=Document(path=Path(f"/in/{name}.pdf"), sha256=name.ljust(64, "0"),
                          media_type="application/pdf", size_bytes=1, pages=1),
        invoice=invoice, text_methods=["text_layer"], reasons=list(reasons),
        vendor_match={"vendor_id": vendor, "probability": 1.0, "method": "vat_id"},
        classification={"model_versions": {"history": "history-h1"}},
    )  # fmt: skip


@pytest.fixture
def drifting(database_url, fresh_schema, tmp_path):
    conn = db.connect(database_url, fresh_schema)
    folder = tmp_path / "master"
    folder.mkdir()
    (folder / "vendors.csv").write_text("vendor_id,name\nV1,One GmbH\nV2,Two GmbH\n")
    master.load_master_dir(conn, folder)
    start = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
    docs: dict[tuple[int, str], int] = {}
    for n in range(1, 5):
        run_id = runs.start_run(conn, "/in")
        conn.execute("UPDATE batch_runs SET started_at = %s WHERE run_id = %s",
                     (start + dt.timedelta(days=n), run_id))  # fmt: skip
        for vendor in ("V1", "V2"):
            sample = [ReasonCode.AUDIT_SAMPLE] if vendor == "V2" and n >= 3 else []
            docs[n, vendor] = store.stage_result(conn, _result(f"r{n}{vendor}", vendor, sample),
                                                 run_id)  # fmt: skip
        if n == 4:
            docs[n, "V1x"] = store.stage_result(
                conn, _result("r4V1x", "V1", [ReasonCode.PRICE_VARIANCE]), run_id)
        runs.finish_run(conn, run_id, counts={"documents": 2}, metrics={})
        last = run_id
    for n in (3, 4):
        for field in ("total", "invoice_number"):
            corrections.record_field_correction(conn, docs[n, "V2"], field, "x", clerk="audit")
    corrections.record_field_correction(conn, docs[1, "V1"], "total", "9.00", clerk="anna")
    for field in ("total", "currency", "invoice_date"):
        corrections.record_field_correction(conn, docs[4, "V1x"], field, "x", clerk="anna")
    conn.commit()
    yield conn, last
    conn.close()


def test_a_vendor_whose_auto_accepted_values_start_being_corrected_is_listed(drifting):
    conn, _ = drifting
    rows = corrections.vendor_drift(conn, runs=2, share=0.2, min_values=5)
    assert rows == [{
        "vendor_id": "V2", "vendor_name": "Two GmbH", "auto_accepted": 10, "corrected": 4,
        "corrected_share": 0.4, "fields": ["invoice_number", "total"], "earlier_share": 0.0,
        "new": True,
    }]  # fmt: skip
    # over all four runs V2 is 4 of 20 and V1 1 of 20 (its exception's values are not counted)
    wide = corrections.vendor_drift(conn, runs=4, share=0.04, min_values=5)
    assert [(r["vendor_id"], r["corrected"], r["auto_accepted"], r["earlier_share"])
            for r in wide] == [("V2", 4, 20, None), ("V1", 1, 20, None)]  # fmt: skip
    assert corrections.vendor_drift(conn, runs=2, share=0.4, min_values=5) == []  # not above
    assert corrections.vendor_drift(conn, runs=2, share=0.2, min_values=11) == []  # too few


def test_the_run_report_shows_drift_and_the_model_versions(drifting, tmp_path):
    conn, last = drifting
    summary = {"seconds_per_stage": {}, "straight_through_rate": 0.5, "staged": 3,
               "model_versions": {"calibration": "calibration-c1", "vendor_aliases": None},
               "vendor_drift": corrections.vendor_drift(conn, runs=2, share=0.2, min_values=5)}
    versions = model_version_rows(summary, runs.value_versions(conn, last))
    assert {"component": "extractor", "name": "text_layer:layout-labels", "version": "7",
            "values": 15, "invoices": 3} in versions  # fmt: skip
    assert {"component": "classification", "name": "history", "version": "history-h1",
            "values": None, "invoices": 3} in versions  # fmt: skip
    html = write_html({}, summary, [], tmp_path / "r.html", [], versions=versions).read_text()
    drift = html.split('id="vendor-drift"')[1].split("</table>")[0]
    assert "Two GmbH (V2)" in drift and "40.0 %" in drift and "invoice_number, total" in drift
    models = html.split('id="model-versions"')[1].split("</table>")[0]
    assert "calibration-c1" in models and "vendor_aliases" in models and "history-h1" in models
    assert "<td>text_layer:layout-labels</td><td>7</td><td>15</td><td>3</td>" in models
