"""The staging schema on a real Postgres: migrations, audit log, master data, the store."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from invoices.errors import MasterDataError
from invoices.records import (
    Document,
    DocumentResult,
    FieldValue,
    Invoice,
    Method,
    Provenance,
    ReasonCode,
    StageError,
    Status,
)
from staging import db, master, runs, store

pytestmark = pytest.mark.db

PROV = Provenance(method=Method.TEXT_LAYER, extractor="test", page=1, raw="x")


def _fv(value, confidence=0.95):
    return FieldValue(value=value, confidence=confidence, provenance=PROV)


def _result(sha: str, *, reasons=(), status=Status.SUCCESS, invoice=True) -> DocumentResult:
    inv = (
        Invoice(
            vendor_name=_fv("ACME GmbH"),
            invoice_number=_fv("INV-1"),
            currency=_fv("EUR"),
            total=_fv(Decimal("119.00")),
        )
        if invoice
        else None
    )
    return DocumentResult(
        document=Document(
            path=Path(f"/in/{sha[:6]}.pdf"),
            sha256=sha,
            media_type="application/pdf",
            size_bytes=10,
            pages=1,
        ),
        invoice=inv,
        status=status,
        reasons=list(reasons),
        errors=[StageError(stage="text", category="DOCUMENT_UNREADABLE", message="bad")]
        if status == Status.FAILED
        else [],
    )


def test_migrations_apply_once_and_in_order(database_url):
    schema = f"test_{uuid.uuid4().hex[:10]}"
    conn = db.connect(database_url, schema)
    try:
        first = db.upgrade(conn)
        assert first and first[0] == "001_core"
        assert first == sorted(first)
        assert db.upgrade(conn) == []
        assert db.current_version(conn) == max(v for v, _, _ in db.available_migrations())
        tables = {
            r["table_name"]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        }
        for name in (
            "documents",
            "invoices",
            "invoice_lines",
            "exception_queue",
            "audit_log",
            "batch_runs",
            "vendors",
            "purchase_orders",
            "purchase_order_lines",
            "goods_receipts",
            "gl_accounts",
            "cost_centres",
        ):
            assert name in tables
    finally:
        conn.close()
        with psycopg.connect(database_url, autocommit=True) as c:
            c.execute(f'DROP SCHEMA "{schema}" CASCADE')
            c.execute(f'DROP SCHEMA "{schema}_analytics" CASCADE')


def test_schema_name_is_checked():
    with pytest.raises(ValueError):
        db.check_schema_name('x"; DROP TABLE y; --')


def test_audit_log_rejects_update_delete_truncate(conn):
    store.audit(conn, "test_action", detail={"a": 1})
    conn.commit()
    for statement in (
        "UPDATE audit_log SET actor = 'mallory'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            conn.execute(statement)
        conn.rollback()
    rows = conn.execute("SELECT actor, action FROM audit_log").fetchall()
    assert rows == [{"actor": "pipeline", "action": "test_action"}]


def test_stage_result_is_one_row_per_document_and_idempotent(conn):
    run_id = runs.start_run(conn, "/in")
    ok = _result("a" * 64)
    flagged = _result("b" * 64, reasons=[ReasonCode.VENDOR_UNKNOWN])
    failed = _result(
        "c" * 64, status=Status.FAILED, invoice=False, reasons=[ReasonCode.DOCUMENT_UNREADABLE]
    )
    ids = [store.stage_result(conn, r, run_id) for r in (ok, flagged, failed)]
    assert all(isinstance(i, int) for i in ids)
    assert store.stage_result(conn, ok, run_id) is None  # same sha256: nothing new
    conn.commit()
    assert conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"] == 3
    invoices = conn.execute("SELECT document_id, status, total FROM invoices ORDER BY 1").fetchall()
    assert [r["status"] for r in invoices] == ["staged", "exception"]
    assert invoices[0]["total"] == Decimal("119.00")
    queue = runs.run_exceptions(conn, run_id)
    assert [q["reason_codes"] for q in queue] == [["VENDOR_UNKNOWN"], ["DOCUMENT_UNREADABLE"]]
    assert queue[1]["document_status"] == "failed"
    actions = [r["action"] for r in conn.execute("SELECT action FROM audit_log ORDER BY audit_id")]
    assert actions.count("document_staged") == 2 and actions.count("document_failed") == 1
    assert actions.count("exception_opened") == 2


def test_resolving_an_exception_is_audited(conn):
    run_id = runs.start_run(conn, "/in")
    doc_id = store.stage_result(conn, _result("d" * 64, reasons=[ReasonCode.MISSING_TOTAL]), run_id)
    exc_id = runs.run_exceptions(conn, run_id)[0]["exception_id"]
    store.resolve_exception(
        conn, exc_id, actor="clerk.anna", resolution="total keyed in", approve=True
    )
    row = conn.execute("SELECT status FROM invoices WHERE document_id = %s", (doc_id,)).fetchone()
    assert row["status"] == "approved"
    with pytest.raises(LookupError):
        store.resolve_exception(conn, exc_id, actor="clerk.anna", resolution="again", approve=True)
    last = conn.execute(
        "SELECT actor, action FROM audit_log ORDER BY audit_id DESC LIMIT 1"
    ).fetchone()
    assert last == {"actor": "clerk.anna", "action": "exception_resolved"}


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_load_master_upserts_and_reports_bad_rows(conn, tmp_path):
    _write(
        tmp_path / "vendors.csv",
        "vendor_id,name,aliases,address,country,vat_id,iban,bic,email,currency,locale,payment_terms_days\n"
        "V1,ACME GmbH,ACME|Acme Gesellschaft,Hauptstr. 1 Berlin,DE,de 123 456 789,"
        "DE89 3704 0044 0532 0130 00,COBADEFFXXX,ap@acme.de,EUR,de_DE,30\n",
    )
    _write(
        tmp_path / "purchase_orders.csv",
        "po_number,vendor_id,currency,order_date,status\nPO-1,V1,EUR,2024-01-05,open\n",
    )
    _write(
        tmp_path / "po_lines.csv",
        "po_number,line_no,sku,description,quantity,unit,unit_price,tax_rate\n"
        "PO-1,1,SKU-1,Widget,10,pcs,2.50,19\n",
    )
    _write(
        tmp_path / "goods_receipts.csv",
        "receipt_id,po_number,line_no,quantity,received_date\nGR-1,PO-1,1,4,2024-01-10\n",
    )
    counts = master.load_master_dir(conn, tmp_path)
    assert counts == {
        "vendors": 1,
        "purchase_orders": 1,
        "purchase_order_lines": 1,
        "goods_receipts": 1,
    }
    assert master.load_master_dir(conn, tmp_path) == counts
    vendor = master.vendor_rows(conn)[0]
    assert vendor["vat_id"] == "DE123456789" and vendor["iban"] == "DE89370400440532013000"
    assert vendor["aliases"] == ["ACME", "Acme Gesellschaft"]
    _write(
        tmp_path / "po_lines.csv",
        "po_number,line_no,sku,description,quantity,unit,unit_price,tax_rate\n"
        "PO-1,1,SKU-1,Widget,ten,pcs,2.50,19\n",
    )
    with pytest.raises(MasterDataError, match=r"po_lines.csv row 2: column quantity"):
        master.load_master_dir(conn, tmp_path)


def test_load_master_refuses_an_empty_folder(conn, tmp_path):
    with pytest.raises(MasterDataError, match="no master-data CSV"):
        master.load_master_dir(conn, tmp_path)
