"""What clerks change and how long they take: the one corrections table and the one clerk-time
table (migrations 050 and 080), written by the review page and read by the analytics views,
`invoices export-corrections` and the learning loop.

A correction records the value as it was staged and what produced it (extractor, version,
method, confidence), the box it was read from, who and when, and whether it changed an amount;
so the learning loop can score a model against the values it got wrong, and the page can keep
whoever changed an amount from approving it. The review page also replaces the staged value
(`staging.review.save_field`); `record_field_correction` (scripts and tests playing clerk)
leaves the staged row as extracted. Clerk time is one row per stretch of work on an item: from
the claim (or the clerk's previous action on it) to an action.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb

from staging.db import Conn
from staging.store import audit


def _staged_value(conn: Conn, document_id: int, field: str, line_no: int | None) -> dict[str, Any]:
    if line_no is None:
        row = conn.execute(
            "SELECT fields -> %s AS fv FROM invoices WHERE document_id = %s", (field, document_id)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT fields -> %s AS fv FROM invoice_lines WHERE document_id = %s AND line_no = %s",
            (field, document_id, line_no),
        ).fetchone()
    if row is None:
        raise LookupError(f"no staged invoice {document_id}" + (f" line {line_no}" * bool(line_no)))
    return row["fv"] or {}


def insert_correction(
    conn: Conn,
    document_id: int,
    field: str,
    staged: dict[str, Any],
    new_value: Any,
    *,
    clerk: str,
    line_no: int | None = None,
    changes_money: bool = False,
    page: int | None = None,
    bbox: Any = None,
    old_text: str | None = None,
    at: datetime | None = None,
) -> int:
    """Store one correction of `field` (of line `line_no`, or the header) from its staged
    FieldValue JSON `staged` (value, confidence, provenance) to `new_value`; returns the
    correction id. The box is the one the clerk picked (`page`, `bbox`), else the staged
    value's; `old_text` is the old value as the page showed it, else the staged value."""
    prov = staged.get("provenance") or {}
    old = old_text if old_text is not None else staged.get("value")
    if bbox is None:
        page, bbox = prov.get("page"), prov.get("bbox")
    row = conn.execute(
        "INSERT INTO field_corrections (document_id, field, line_no, old_value, new_value,"
        " old_confidence, extractor, extractor_version, method, page, bbox, changes_money,"
        " corrected_by, corrected_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))"
        " RETURNING correction_id",
        (
            document_id,
            field,
            line_no,
            None if old is None else str(old),
            None if new_value is None else str(new_value),
            staged.get("confidence"),
            prov.get("extractor"),
            prov.get("version"),
            prov.get("method"),
            page,
            Jsonb(bbox) if bbox is not None else None,
            changes_money,
            clerk,
            at,
        ),
    ).fetchone()
    assert row is not None
    return int(row["correction_id"])


def record_field_correction(
    conn: Conn,
    document_id: int,
    field: str,
    new_value: Any,
    *,
    clerk: str,
    line_no: int | None = None,
    at: datetime | None = None,
) -> int:
    """A clerk set `field` (of the header, or of line `line_no`) to `new_value`: record it with
    the staged value and its provenance, audit it, and return the correction id."""
    with conn.transaction():
        staged = _staged_value(conn, document_id, field, line_no)
        correction_id = insert_correction(
            conn, document_id, field, staged, new_value, clerk=clerk, line_no=line_no, at=at
        )
        audit(
            conn,
            "field_corrected",
            actor=clerk,
            document_id=document_id,
            detail={
                "field": field,
                "line_no": line_no,
                "old": staged.get("value"),
                "new": str(new_value),
            },
        )
    return correction_id


def money_changed_by(conn: Conn, document_id: int, clerk: str) -> bool:
    """Whether `clerk` changed an amount on this document (then `clerk` may not approve it)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM field_corrections WHERE document_id = %s"
        " AND corrected_by = %s AND changes_money) AS changed",
        (document_id, clerk),
    ).fetchone()
    return bool(row and row["changed"])


def label_rows(conn: Conn) -> list[dict[str, Any]]:
    """Every correction with its document's file and sha256 (for the eval-label export)."""
    return conn.execute(
        "SELECT c.*, d.file_name, d.sha256 FROM field_corrections c"
        " JOIN documents d USING (document_id) ORDER BY c.document_id, c.correction_id"
    ).fetchall()


def record_item_time(
    conn: Conn,
    document_id: int,
    *,
    clerk: str,
    started_at: datetime,
    finished_at: datetime,
    exception_id: int | None = None,
    action: str = "item",
    reason_codes: list[str] | None = None,
) -> int:
    """A clerk worked on one item from `started_at` to `finished_at` (a whole item, or up to
    one `action` on it)."""
    row = conn.execute(
        "INSERT INTO clerk_item_time (document_id, exception_id, clerk, started_at, finished_at,"
        " action, reason_codes) VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING item_time_id",
        (document_id, exception_id, clerk, started_at, finished_at, action, reason_codes or []),
    ).fetchone()
    assert row is not None
    return int(row["item_time_id"])


def time_action(conn: Conn, document_id: int, clerk: str, action: str, reasons: list[str]) -> None:
    """Record the stretch from the clerk's claim on the item (or their previous action on it)
    to this action, with the item's reason codes."""
    conn.execute(
        "INSERT INTO clerk_item_time (document_id, exception_id, clerk, started_at, finished_at,"
        " action, reason_codes)"
        " SELECT %(doc)s, e.exception_id, %(me)s, least(now(), greatest(e.claimed_at,"
        "   (SELECT max(t.finished_at) FROM clerk_item_time t"
        "     WHERE t.document_id = %(doc)s AND t.clerk = %(me)s))), now(), %(action)s,"
        "   %(reasons)s"
        " FROM exception_queue e WHERE e.document_id = %(doc)s AND e.claimed_at IS NOT NULL"
        " ORDER BY e.exception_id DESC LIMIT 1",
        {"doc": document_id, "me": clerk, "action": action, "reasons": reasons},
    )


def clerk_time_by_reason(conn: Conn) -> list[dict[str, Any]]:
    """Median and p90 seconds per reason code (over every timed stretch), with counts."""
    return conn.execute(
        "SELECT r AS reason, count(*) AS n,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS median,"
        " percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90"
        " FROM (SELECT extract(epoch FROM finished_at - started_at)::float8 AS s, reason_codes"
        "       FROM clerk_item_time) t,"
        " unnest(CASE WHEN reason_codes = '{}' THEN '{NONE}'::text[] ELSE reason_codes END) r"
        " GROUP BY r ORDER BY r"
    ).fetchall()


def correction_samples(conn: Conn) -> list[dict[str, Any]]:
    """Every staged header value of an invoice a clerk has looked at, with whether a clerk
    corrected it: (document_id, run_id, field, vendor_id, confidence, method, corrected).

    An invoice counts as looked at when it has a correction or a resolved exception; its
    uncorrected values were confirmed. A corrected value's confidence and method are the ones
    it was staged with (its first correction kept them: the review page replaces the staged
    value with the clerk's). These are the labels the confidence calibration learns from."""
    return conn.execute(
        "SELECT i.document_id, i.run_id, kv.key AS field, i.vendor_id,"
        " CASE WHEN c.correction_id IS NULL THEN (kv.value ->> 'confidence')::float8"
        "   ELSE c.old_confidence::float8 END AS confidence,"
        " CASE WHEN c.correction_id IS NULL THEN kv.value -> 'provenance' ->> 'method'"
        "   ELSE c.method END AS method,"
        " c.correction_id IS NOT NULL AS corrected"
        " FROM invoices i CROSS JOIN LATERAL jsonb_each(i.fields) kv"
        " LEFT JOIN LATERAL (SELECT fc.correction_id, fc.old_confidence, fc.method"
        "   FROM field_corrections fc"
        "   WHERE fc.document_id = i.document_id AND fc.field = kv.key AND fc.line_no IS NULL"
        "   ORDER BY fc.correction_id LIMIT 1) c ON true"
        " WHERE jsonb_typeof(kv.value) = 'object' AND kv.value ? 'confidence'"
        " AND (EXISTS (SELECT 1 FROM field_corrections f2 WHERE f2.document_id = i.document_id)"
        "  OR EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = i.document_id"
        "             AND e.status = 'resolved'))"
        " ORDER BY i.document_id, kv.key"
    ).fetchall()


def vendor_drift(conn: Conn, *, runs: int, share: float, min_values: int) -> list[dict[str, Any]]:
    """Vendors whose auto-accepted values clerks have started to correct: over the last `runs`
    completed runs, at least `min_values` auto-accepted header values (of straight-through
    invoices: no exception but an audit sample) of which more than `share` were corrected.
    Each row: vendor_id, vendor_name, auto_accepted, corrected, corrected_share, fields (the
    corrected ones), and the same share over the `runs` runs before (earlier_share, NULL when
    there were none) with `new` true when that earlier share was not above `share`."""
    return conn.execute(
        "WITH ranked AS (SELECT run_id, row_number() OVER (ORDER BY started_at DESC, run_id)"
        "   AS n FROM batch_runs WHERE status = 'completed'),"
        " vals AS (SELECT i.vendor_id, r.n <= %(runs)s AS recent, kv.key AS field,"
        "   EXISTS (SELECT 1 FROM field_corrections fc WHERE fc.document_id = i.document_id"
        "     AND fc.field = kv.key AND fc.line_no IS NULL) AS corrected"
        "   FROM invoices i JOIN ranked r USING (run_id)"
        "   CROSS JOIN LATERAL jsonb_each(i.fields) kv"
        "   WHERE r.n <= 2 * %(runs)s AND i.vendor_id IS NOT NULL"
        "   AND jsonb_typeof(kv.value) = 'object' AND kv.value ? 'confidence'"
        "   AND NOT EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = i.document_id"
        "     AND e.reason_codes <> ARRAY['AUDIT_SAMPLE'])),"
        " per AS (SELECT vendor_id,"
        "   count(*) FILTER (WHERE recent) AS auto_accepted,"
        "   count(*) FILTER (WHERE recent AND corrected) AS corrected,"
        "   array_agg(DISTINCT field ORDER BY field) FILTER (WHERE recent AND corrected) AS fields,"
        "   count(*) FILTER (WHERE NOT recent) AS earlier,"
        "   count(*) FILTER (WHERE NOT recent AND corrected) AS earlier_corrected"
        "   FROM vals GROUP BY vendor_id)"
        " SELECT p.vendor_id, v.name AS vendor_name, p.auto_accepted, p.corrected,"
        " round(p.corrected::numeric / p.auto_accepted, 4)::float8 AS corrected_share,"
        " p.fields, CASE WHEN p.earlier > 0 THEN"
        "   round(p.earlier_corrected::numeric / p.earlier, 4)::float8 END AS earlier_share,"
        " p.earlier = 0 OR p.earlier_corrected::numeric / p.earlier <= %(share)s AS new"
        " FROM per p LEFT JOIN vendors v USING (vendor_id)"
        " WHERE p.auto_accepted >= %(min)s AND p.corrected::numeric / p.auto_accepted > %(share)s"
        " ORDER BY p.corrected::numeric / p.auto_accepted DESC, p.vendor_id",
        {"runs": runs, "share": share, "min": min_values},
    ).fetchall()
