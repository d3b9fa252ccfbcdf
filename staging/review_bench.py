"""Bulk rows for `invoices bench-review`: many open exceptions in a schema of their own."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from staging.db import Conn, check_schema_name

BENCH_GL = "6000"  # the GL account of every seeded line (the bench maps it to the ERP)


def seed_open_exceptions(conn: Conn, n: int, source_path: str, fields: dict[str, Any]) -> None:
    """`n` staged invoices (all showing the same page, one line each, coded to `BENCH_GL`) with
    an open LOW_CONFIDENCE_TOTAL exception each, spread over 90 days of age and due dates."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO documents (document_id, sha256, source_path, file_name, media_type,"
            " size_bytes, pages, status) SELECT g, md5(g::text) || md5('b' || g), %s,"
            " 'bench-' || g || '.pdf', 'application/pdf', 1000, 1, 'success'"
            " FROM generate_series(1, %s) g",
            (source_path, n),
        )
        # one 19 % line coded to GL 6000 each, so an approval can queue an ERP bill
        conn.execute(
            "INSERT INTO invoices (document_id, vendor_name, invoice_number, invoice_date,"
            " due_date, currency, subtotal, tax, total, fields, classification, status)"
            " SELECT g, 'Vendor ' || (g %% 97), 'INV-' || g, current_date - 1,"
            " current_date + (g %% 90), 'EUR', net, round(net * 0.19, 2),"
            " net + round(net * 0.19, 2), %s, %s, 'exception'"
            " FROM generate_series(1, %s) g, LATERAL (SELECT (g %% 5000) + 0.5 AS net) a",
            (Jsonb(fields), Jsonb({"gl_account": {"code": BENCH_GL}, "lines": []}), n),
        )
        conn.execute(
            "INSERT INTO invoice_lines (document_id, line_no, description, quantity, unit_price,"
            " tax_rate, line_total) SELECT document_id, 1, 'Bench service', 1, subtotal, 19,"
            " subtotal FROM invoices"
        )
        conn.execute(
            "INSERT INTO exception_queue (document_id, reason_codes, created_at)"
            " SELECT g, ARRAY['LOW_CONFIDENCE_TOTAL'], now() - make_interval(mins => g)"
            " FROM generate_series(1, %s) g",
            (n,),
        )
        conn.execute("SELECT setval(pg_get_serial_sequence('documents', 'document_id'), %s)",
                     (n,))
        conn.execute("ANALYZE exception_queue; ANALYZE invoices; ANALYZE documents")


def drop_schema(conn: Conn, schema: str) -> None:
    """Drop a bench schema and everything in it, and its analytics schema (migration 051)."""
    for name in (schema, schema + "_analytics"):
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(check_schema_name(name))))


def decisions_per_item(conn: Conn, action: str) -> list[dict[str, Any]]:
    """Per exception: how many `action` audit entries it has, and who made them."""
    return conn.execute(
        "SELECT (detail->>'exception_id')::int AS exception_id, count(*) AS n,"
        " array_agg(actor) AS actors FROM audit_log WHERE action = %s GROUP BY 1",
        (action,),
    ).fetchall()


def item_numbers(conn: Conn, exception_ids: list[int]) -> dict[int, str]:
    """The invoice number of each exception's invoice."""
    rows = conn.execute(
        "SELECT e.exception_id, i.invoice_number FROM exception_queue e JOIN invoices i"
        " USING (document_id) WHERE e.exception_id = ANY(%s)", (exception_ids,),
    ).fetchall()
    return {r["exception_id"]: r["invoice_number"] for r in rows}


def outbox_entries_per_item(conn: Conn, exception_ids: list[int]) -> dict[int, int]:
    """How many ERP outbox entries each exception's invoice has."""
    rows = conn.execute(
        "SELECT e.exception_id, count(o.entry_id) AS n FROM exception_queue e"
        " LEFT JOIN erp_outbox o USING (document_id) WHERE e.exception_id = ANY(%s)"
        " GROUP BY e.exception_id",
        (exception_ids,),
    ).fetchall()
    return {r["exception_id"]: int(r["n"]) for r in rows}
