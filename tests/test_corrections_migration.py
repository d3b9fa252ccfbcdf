"""Migration 080 moves the review page's own corrections and clerk-time rows (migration 040) into
the one corrections table and the one clerk-time table, and drops the page's tables; 081's views
show the moved rows."""

from __future__ import annotations

import psycopg
import pytest
from psycopg.types.json import Jsonb

from staging import analytics, db

pytestmark = pytest.mark.db


def _migrate_before_080(conn) -> None:
    conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT now())"
    )
    for version, name, text in db.available_migrations():
        if version < 80:
            conn.execute(text)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                         (version, name))
    conn.commit()


def test_080_moves_the_page_rows_and_drops_the_page_tables(database_url, fresh_schema):
    conn = psycopg.connect(database_url, row_factory=psycopg.rows.dict_row)
    conn.execute(f'DROP SCHEMA "{fresh_schema}" CASCADE')
    conn.execute(f'DROP SCHEMA IF EXISTS "{fresh_schema}_analytics" CASCADE')
    conn.execute(f'CREATE SCHEMA "{fresh_schema}"')
    conn.execute(f'SET search_path TO "{fresh_schema}", public')
    _migrate_before_080(conn)
    doc = conn.execute(
        "INSERT INTO documents (sha256, source_path, file_name, media_type, size_bytes, pages,"
        " status) VALUES (repeat('a', 64), '/x/a.pdf', 'a.pdf', 'application/pdf', 1, 1,"
        " 'success') RETURNING document_id").fetchone()["document_id"]
    conn.execute("INSERT INTO invoices (document_id, status) VALUES (%s, 'exception')", (doc,))
    eid = conn.execute("INSERT INTO exception_queue (document_id, reason_codes) VALUES (%s,"
                       " ARRAY['LOW_CONFIDENCE_TOTAL']) RETURNING exception_id",
                       (doc,)).fetchone()["exception_id"]
    conn.execute(
        "INSERT INTO review_corrections (document_id, field, old_value, new_value, page, bbox,"
        " actor, at, extractor, extractor_version, changes_money) VALUES (%s, 'total', '10.00',"
        " '12.00', 1, %s, 'anna', '2025-03-03 10:00+00', 'layout-labels', '7', true)",
        (doc, Jsonb([400, 490, 450, 502])),
    )
    conn.execute(
        "INSERT INTO review_clerk_time (document_id, actor, action, reason_codes, seconds, at)"
        " VALUES (%s, 'anna', 'approve', ARRAY['LOW_CONFIDENCE_TOTAL'], 42.5,"
        " '2025-03-03 10:01+00')", (doc,),
    )
    conn.commit()
    applied = db.upgrade(conn)
    conn.commit()
    assert applied[:2] == ["080_one_corrections_table", "081_analytics_views_one_corrections_table"]
    fix = conn.execute("SELECT * FROM field_corrections").fetchall()
    assert len(fix) == 1
    f = fix[0]
    assert (f["document_id"], f["field"], f["old_value"], f["new_value"], f["corrected_by"]) == (
        doc, "total", "10.00", "12.00", "anna")
    assert (f["page"], f["bbox"], f["changes_money"], f["extractor"]) == (
        1, [400, 490, 450, 502], True, "layout-labels")
    timed = conn.execute("SELECT *, extract(epoch FROM finished_at - started_at)::float8 AS s"
                         " FROM clerk_item_time").fetchall()
    assert [(t["clerk"], t["action"], t["reason_codes"], t["exception_id"], t["s"])
            for t in timed] == [("anna", "approve", ["LOW_CONFIDENCE_TOTAL"], eid, 42.5)]
    gone = conn.execute("SELECT to_regclass('review_corrections') AS a,"
                        " to_regclass('review_clerk_time') AS b").fetchone()
    assert gone == {"a": None, "b": None}
    reader = analytics.connect_analytics(database_url, fresh_schema)
    try:
        seen = analytics.load(reader, "corrections")
        seconds = analytics.load(reader, "clerk_seconds")
    finally:
        reader.close()
    assert seen["corrected_by"].tolist() == ["anna"] and seen["changes_money"].tolist() == [True]
    assert seconds["seconds"].tolist() == [42.5] and seconds["action"].tolist() == ["approve"]
    conn.close()
