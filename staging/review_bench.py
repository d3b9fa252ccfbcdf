"""Bulk rows for `invoices bench-review`: many open exceptions in a schema of their own."""

from __future__ import annotations

from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from staging.db import Conn, check_schema_name


def seed_open_exceptions(conn: Conn, n: int, source_path: str, fields: dict[str, Any]) -> None:
    """`n` staged invoices (all showing the same page) with an open LOW_CONFIDENCE_TOTAL
    exception each, spread over 90 days of age and due dates."""
    with conn.transaction():
        conn.execute(
            "INSERT INTO documents (document_id, sha256, source_path, file_name, media_type,"
            " size_bytes, pages, status) SELECT g, md5(g::text) || md5('b' || g), %s,"
            " 'bench-' || g || '.pdf', 'application/pdf', 1000, 1, 'success'"
            " FROM generate_series(1, %s) g",
            (source_path, n),
        )
        conn.execute(
            "INSERT INTO invoices (document_id, vendor_name, invoice_number, due_date, currency,"
            " total, fields, status) SELECT g, 'Vendor ' || (g %% 97), 'INV-' || g,"
            " current_date + (g %% 90), 'EUR', (g %% 5000) + 0.5, %s, 'exception'"
            " FROM generate_series(1, %s) g",
            (Jsonb(fields), n),
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
    """Drop a bench schema and everything in it."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
        sql.Identifier(check_schema_name(schema))))


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
