"""The analytics views on a tiny hand-computed fixture: one vendor, three invoices.

A: INV-1, January, 119.00 on PO-1, one coded line 100.00 (6300/CC1), straight through.
B: INV-2, February, 238.00, lines 150.00 (6300/CC1) and 50.00 (6400/CC2); PRICE_VARIANCE,
   resolved and approved by a clerk 2.5 hours after it was opened; the clerk corrected its total.
C: INV-1 again, 119.00: DUPLICATE_SUSPECTED of A, still open, opened 10 hours ago.
A's invoice number was auto-accepted and later corrected by a clerk.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.analytics import MONEY
from invoices.records import (
    Document,
    DocumentResult,
    FieldValue,
    Invoice,
    Method,
    Provenance,
    ReasonCode,
)
from staging import analytics, corrections, db, master, runs, store

pytestmark = pytest.mark.db

PROV = Provenance(method=Method.TEXT_LAYER, extractor="layout-labels", version="7", page=1)
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def _fv(value, confidence=0.99):
    return FieldValue(value=value, confidence=confidence, provenance=PROV)


def _coded(lines):
    return {
        "gl_account": {"code": lines[0][1]},
        "cost_centre": {"code": lines[0][2]},
        "lines": [
            {"line_no": n, "amount": str(a), "gl_account": {"code": g}, "cost_centre": {"code": c}}
            for n, (a, g, c) in enumerate(lines, start=1)
        ],
        "model_versions": {"history": "history-h1"},
    }


def _result(name, number, day, total, lines, *, reasons=(), duplicates=(), po=None):
    invoice = Invoice(
        vendor_name=_fv("ACME GmbH"),
        invoice_number=_fv(number),
        invoice_date=_fv(day),
        currency=_fv("EUR"),
        total=_fv(Decimal(total)),
        po_number=_fv(po) if po else None,
    )
    return DocumentResult(
        document=Document(
            path=Path(f"/in/{name}.pdf"), sha256=name * 64, media_type="application/pdf",
            size_bytes=10, pages=1,
        ),
        invoice=invoice,
        text_methods=["text_layer"],
        vendor_match={"vendor_id": "V1", "probability": 1.0, "method": "vat_id"},
        classification=_coded(lines),
        reasons=list(reasons),
        duplicates=list(duplicates),
    )  # fmt: skip


def _master(folder: Path) -> Path:
    folder.mkdir()
    (folder / "vendors.csv").write_text("vendor_id,name,country,currency\nV1,ACME GmbH,DE,EUR\n")
    (folder / "gl_accounts.csv").write_text("gl_account,name\n6300,Office\n6400,Travel\n")
    (folder / "purchase_orders.csv").write_text(
        "po_number,vendor_id,currency,status\nPO-1,V1,EUR,open\n"
    )
    return folder


@pytest.fixture
def tiny(database_url, fresh_schema, tmp_path):
    conn = db.connect(database_url, fresh_schema)
    master.load_master_dir(conn, _master(tmp_path / "master"))
    run_id = runs.start_run(conn, "/in")
    a = store.stage_result(
        conn, _result("a", "INV-1", dt.date(2026, 1, 15), "119.00", [("100.00", "6300", "CC1")],
                      po="PO-1"), run_id)  # fmt: skip
    b = store.stage_result(
        conn,
        _result("b", "INV-2", dt.date(2026, 2, 3), "238.00",
                [("150.00", "6300", "CC1"), ("50.00", "6400", "CC2")],
                reasons=[ReasonCode.PRICE_VARIANCE]),
        run_id,
    )  # fmt: skip
    c = store.stage_result(
        conn,
        _result("c", "INV-1", dt.date(2026, 1, 15), "119.00", [("100.00", "6300", "CC1")],
                reasons=[ReasonCode.DUPLICATE_SUSPECTED],
                duplicates=[{"document_id": 1, "kind": "same_number", "score": 0.97}]),
        run_id,
    )  # fmt: skip
    runs.finish_run(conn, run_id, counts={"documents": 3, "staged": 3, "exceptions": 2},
                    metrics={"wall_seconds": 4.5})  # fmt: skip
    queue = {r["document_id"]: r["exception_id"] for r in store.open_exception_queue(conn)}
    store.resolve_exception(conn, queue[b], actor="anna", resolution="price agreed", approve=True)
    # hand-set times (the store stamps now()), so ages and durations are known
    conn.execute(
        "UPDATE exception_queue SET created_at = %s, resolved_at = %s WHERE document_id = %s",
        (T0, T0 + dt.timedelta(hours=2.5), b),
    )
    conn.execute(
        "UPDATE exception_queue SET created_at = now() - interval '10 hours'"
        " WHERE document_id = %s",
        (c,),
    )
    conn.commit()
    corrections.record_field_correction(conn, b, "total", Decimal("238.50"), clerk="anna")
    corrections.record_field_correction(conn, a, "invoice_number", "INV-001", clerk="anna")
    corrections.record_item_time(
        conn, b, clerk="anna", started_at=T0, finished_at=T0 + dt.timedelta(seconds=90),
        exception_id=queue[b],
    )  # fmt: skip
    conn.commit()
    reader = analytics.connect_analytics(database_url, fresh_schema)
    yield {"a": a, "b": b, "c": c, "run_id": str(run_id), "reader": reader, "conn": conn}
    reader.close()
    conn.close()


def test_every_declared_view_exists_with_its_columns(tiny, fresh_schema):
    conn = tiny["conn"]
    assert analytics.view_names(conn, fresh_schema) == sorted(analytics.declared_views())
    for view in analytics.declared_views():
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            (analytics.analytics_schema(fresh_schema), view),
        ).fetchall()
        declared = list(analytics.columns(view))
        assert [r["column_name"] for r in rows] == declared, view


def test_invoices_flat_and_run_rates(tiny):
    flat = analytics.load(tiny["reader"], "invoices_flat").set_index("document_id").sort_index()
    assert len(flat) == 3
    assert set(flat["vendor_name"]) == {"ACME GmbH"}
    assert flat.loc[tiny["a"], "po_status"] == "open"
    assert flat.loc[tiny["a"], "gl_account_name"] == "Office"
    assert flat["straight_through"].tolist() == [True, False, False]
    assert flat["total"].dtype == MONEY and flat["total"].sum() == Decimal("476.00")
    run = analytics.load(tiny["reader"], "run_rates", run_id=tiny["run_id"]).iloc[0]
    assert (run["documents"], run["invoices"], run["straight_through"]) == (3, 3, 1)
    assert run["straight_through_rate"] == pytest.approx(1 / 3)
    assert run["flow_seconds"] == 4.5


def test_exceptions_ages_and_reasons(tiny):
    exc = analytics.load(tiny["reader"], "exceptions").set_index("document_id")
    b, c = exc.loc[tiny["b"]], exc.loc[tiny["c"]]
    assert (b["status"], b["assignee"], b["resolution"]) == ("resolved", "anna", "price agreed")
    assert b["hours_to_resolve"] == pytest.approx(2.5)
    assert c["status"] == "open" and pd_isna(c["hours_to_resolve"])
    assert c["age_hours"] == pytest.approx(10, abs=0.05)
    open_only = analytics.load(tiny["reader"], "exceptions", status="open")
    assert open_only["document_id"].tolist() == [tiny["c"]]
    pareto = analytics.load(tiny["reader"], "reason_rates").set_index("reason_code")
    assert pareto["documents"].to_dict() == {"DUPLICATE_SUSPECTED": 1, "PRICE_VARIANCE": 1}
    assert pareto.loc["PRICE_VARIANCE", "share_of_run"] == pytest.approx(1 / 3)


def pd_isna(value) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


def test_spend_excludes_the_open_duplicate_and_stays_exact(tiny):
    spend = analytics.load(tiny["reader"], "spend")
    by = {(str(r.month), r.gl_account, r.cost_centre): r.amount for r in spend.itertuples()}
    assert by == {
        ("2026-01-01", "6300", "CC1"): Decimal("100.00"),
        ("2026-02-01", "6300", "CC1"): Decimal("150.00"),
        ("2026-02-01", "6400", "CC2"): Decimal("50.00"),
    }
    assert spend["amount"].sum() == Decimal("300.00")
    assert set(spend["vendor_id"]) == {"V1"}


def test_duplicates_caught_with_the_amount_paid_twice(tiny):
    dup = analytics.load(tiny["reader"], "duplicates_caught")
    assert dup["document_id"].tolist() == [tiny["c"]]
    row = dup.iloc[0]
    assert row["amount"] == Decimal("119.00") and row["kind"] == "same_number"
    assert row["earlier_document_id"] == 1 and row["status"] == "open"


def test_corrections_rates_and_clerk_seconds(tiny):
    rates = analytics.load(tiny["reader"], "field_rates", vendor_id="V1").set_index("field")
    number, total = rates.loc["invoice_number"], rates.loc["total"]
    assert (number["values"], number["auto_accepted"], number["corrected"]) == (3, 1, 1)
    assert number["auto_accepted_corrected"] == 1 and number["auto_accepted_precision"] == 0
    assert (total["corrected"], total["auto_accepted_corrected"]) == (1, 0)
    assert total["auto_accepted_precision"] == 1
    assert number["auto_accept_rate"] == pytest.approx(1 / 3)
    counts = analytics.load(tiny["reader"], "correction_counts").set_index("field")
    assert counts["corrections"].to_dict() == {"invoice_number": 1, "total": 1}
    fixes = analytics.load(tiny["reader"], "corrections", field="total").iloc[0]
    assert (fixes["old_value"], fixes["new_value"], fixes["extractor_version"]) == (
        "238.00", "238.50", "7",
    )  # fmt: skip
    assert not fixes["was_auto_accepted"]
    vendor = analytics.load(tiny["reader"], "vendor_rates").iloc[0]
    assert (vendor["invoices"], vendor["straight_through"], vendor["corrected_values"]) == (3, 1, 2)
    seconds = analytics.load(tiny["reader"], "clerk_seconds")
    assert seconds["seconds"].tolist() == [90.0] and seconds["clerk"].tolist() == ["anna"]


def test_model_and_extractor_versions_per_run(tiny):
    versions = analytics.load(tiny["reader"], "run_versions", run_id=tiny["run_id"])
    got = {
        (r.component, r.name, None if pd_isna(r.version) else r.version, r.documents)
        for r in versions.itertuples()
    }
    assert got == {
        ("extractor", "text_layer:layout-labels", "7", 3),
        ("model", "history", "history-h1", 3),
        ("text_method", "text_layer", None, 3),
    }


def test_reader_refuses_unknown_views_and_columns(tiny):
    with pytest.raises(KeyError, match="unknown analytics view"):
        analytics.load(tiny["reader"], "invoices")
    with pytest.raises(KeyError, match="no column"):
        analytics.load(tiny["reader"], "exceptions", colour="red")
    some = analytics.load(tiny["reader"], "exceptions", document_id=[tiny["b"], tiny["c"]])
    assert len(some) == 2


def test_an_audit_sample_stays_straight_through_and_its_corrections_show_drift(tiny):
    conn, run_id = tiny["conn"], uuid.UUID(tiny["run_id"])
    d = store.stage_result(
        conn,
        _result("d", "INV-9", dt.date(2026, 3, 1), "50.00", [("50.00", "6300", "CC1")],
                reasons=[ReasonCode.AUDIT_SAMPLE]),
        run_id,
    )  # fmt: skip
    corrections.record_field_correction(conn, d, "total", "55.00", clerk="anna")
    corrections.record_field_correction(conn, tiny["a"], "total", "119.50", clerk="anna")
    conn.commit()
    flat = analytics.load(tiny["reader"], "invoices_flat", document_id=d)
    assert flat["straight_through"].tolist() == [True]
    fixes = analytics.load(tiny["reader"], "corrections", field="total")
    assert fixes.set_index("document_id")["was_auto_accepted"].to_dict() == {
        tiny["a"]: True, tiny["b"]: False, d: True,
    }  # fmt: skip
    drift = analytics.load(tiny["reader"], "vendor_drift")
    # A's invoice number, A's total and D's total: auto-accepted values corrected this week
    assert drift[["vendor_id", "corrections", "documents", "first_week"]].values.tolist() == [
        ["V1", 3, 2, True]
    ]
