"""The review page's queue: tabs and counts, keyset pages, claims with a lease, versioned saves.

Every save carries the version the clerk saw; a save against another version is refused with
what changed since (`StaleVersion`). A claim is a lease: others read the item while it lasts,
and an expired lease frees it. Decisions and evidence actions are in `staging.review_actions`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from psycopg import sql
from psycopg.types.json import Jsonb

from staging.corrections import insert_correction
from staging.db import Conn
from staging.store import audit

TABS = ("open", "mine", "waiting", "hold", "audit", "resolved")
# a straight-through invoice the nightly sampled for audit carries only this reason: it has a
# tab of its own and is not counted among the open exceptions
AUDIT_ONLY = "e.reason_codes = ARRAY['AUDIT_SAMPLE']::text[]"
SORTS = {
    "age": ("e.created_at", "timestamptz"),
    "due": ("coalesce(i.due_date, 'infinity'::date)", "date"),
    "total": ("coalesce(i.total, 0)", "numeric"),
}
# invoice fields with a column of their own in `invoices` (the others live in `fields` only)
HEADER_COLUMNS = (
    "vendor_name", "vendor_vat_id", "iban", "invoice_number", "invoice_date", "due_date",
    "po_number", "currency", "subtotal", "tax", "total", "amount_due",
)


class ReviewConflict(Exception):
    """A save or decision the queue refuses; `message` is what the clerk reads."""

    def __init__(self, message: str, changes: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.changes = changes or []


class StaleVersion(ReviewConflict):
    """The item changed since the clerk loaded it."""


class NotClaimed(ReviewConflict):
    """Another user holds the item's lease (or the clerk's own lease ran out)."""


class FourEyesViolation(ReviewConflict):
    """The same person may not make and check (bank details, an amount and its approval)."""


class NotApprovable(ReviewConflict):
    """The invoice cannot be approved as it stands: it cannot be mapped to an ERP bill (the
    message lists why), or there is no staged invoice behind the item."""


_TAB_WHERE = {
    "open": "e.status = 'open' AND e.hold_comment IS NULL AND NOT e.waiting_second"
    f" AND NOT {AUDIT_ONLY}",
    "mine": "e.status = 'open' AND (e.assignee = %(me)s OR (e.claimed_by = %(me)s"
    " AND e.lease_until > now()))",
    "waiting": "e.status = 'open' AND e.waiting_second",
    "hold": "e.status = 'open' AND e.hold_comment IS NOT NULL",
    "audit": "e.status = 'open' AND e.hold_comment IS NULL AND NOT e.waiting_second"
    f" AND {AUDIT_ONLY}",
    "resolved": "e.status = 'resolved'",
}


def queue_counts(conn: Conn, me: str) -> dict[str, Any]:
    """Counts per tab, and per reason code over the open items."""
    parts = ", ".join(f"count(*) FILTER (WHERE {w}) AS {t}" for t, w in _TAB_WHERE.items())
    row = conn.execute(
        f"SELECT {parts} FROM exception_queue e", {"me": me}  # type: ignore[arg-type]
    ).fetchone()
    reasons = conn.execute(
        "SELECT r AS reason, count(*) AS n FROM exception_queue e, unnest(e.reason_codes) r"
        " WHERE e.status = 'open' GROUP BY r ORDER BY count(*) DESC, r"
    ).fetchall()
    return {"tabs": dict(row or {}), "reasons": {r["reason"]: r["n"] for r in reasons}}


def _filters(f: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    where, params = [], {}
    if f.get("vendor"):
        where.append("(i.vendor_name ILIKE %(vendor)s OR i.vendor_id ILIKE %(vendor)s)")
        params["vendor"] = f"%{f['vendor']}%"
    for key, clause in (
        ("min_total", "i.total >= %(min_total)s"),
        ("max_total", "i.total <= %(max_total)s"),
        ("currency", "i.currency = %(currency)s"),
        ("reason", "%(reason)s = ANY(e.reason_codes)"),
        ("assignee", "e.assignee = %(assignee)s"),
        ("due_before", "i.due_date <= %(due_before)s"),
        ("min_age_days", "e.created_at <= now() - make_interval(days => %(min_age_days)s)"),
    ):
        if f.get(key) not in (None, ""):
            where.append(clause)
            params[key] = f[key]
    return where, params


def queue_page(
    conn: Conn,
    me: str,
    tab: str = "open",
    filters: dict[str, Any] | None = None,
    sort: str = "age",
    after: tuple[str, int] | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], tuple[str, int] | None]:
    """One page of a tab, keyset-paginated on (sort key, exception id); returns the rows and the
    cursor of the next page (None on the last)."""
    if tab not in _TAB_WHERE or sort not in SORTS:
        raise ValueError(f"unknown tab {tab!r} or sort {sort!r}")
    expr, kind = SORTS[sort]
    where, params = _filters(filters or {})
    where.insert(0, _TAB_WHERE[tab])
    params.update(me=me, limit=limit + 1)
    if after is not None:
        where.append(f"({expr}, e.exception_id) > (%(after_key)s::{kind}, %(after_id)s)")
        params.update(after_key=after[0], after_id=after[1])
    rows = conn.execute(
        "SELECT e.exception_id, e.document_id, e.reason_codes, e.status, e.assignee,"
        " e.claimed_by, e.lease_until > now() AS leased, e.hold_comment, e.waiting_second,"
        " e.created_at, now() - e.created_at AS age, i.vendor_name, i.vendor_id, i.total,"
        " i.currency, i.due_date, i.invoice_number, d.file_name, " + expr + " AS sort_key"
        " FROM exception_queue e JOIN documents d USING (document_id)"
        " LEFT JOIN invoices i USING (document_id) WHERE " + " AND ".join(where) +
        f" ORDER BY {expr}, e.exception_id LIMIT %(limit)s",
        params,  # type: ignore[arg-type]
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = (str(rows[-1]["sort_key"]), int(rows[-1]["exception_id"])) if more else None
    return rows, cursor


def item(conn: Conn, exception_id: int) -> dict[str, Any] | None:
    """Everything the item page shows: the exception, document, invoice, lines, comments and
    the document's history; None for an unknown id."""
    row = conn.execute(
        "SELECT e.*, e.lease_until > now() AS leased, d.file_name, d.source_path, d.media_type,"
        " d.pages, d.text_methods, d.errors, d.duplicate_of, i.fields, i.checks, i.vendor_id,"
        " i.vendor_match, i.po_match, i.duplicates, i.status AS invoice_status, i.total,"
        " i.currency, i.iban, i.vendor_name FROM exception_queue e"
        " JOIN documents d USING (document_id) LEFT JOIN invoices i USING (document_id)"
        " WHERE e.exception_id = %s",
        (exception_id,),
    ).fetchone()
    if row is None:
        return None
    doc = row["document_id"]
    row["lines"] = conn.execute(
        "SELECT * FROM invoice_lines WHERE document_id = %s ORDER BY line_no", (doc,)
    ).fetchall()
    row["comments"] = conn.execute(
        "SELECT actor, at, body FROM review_comments WHERE document_id = %s ORDER BY at", (doc,)
    ).fetchall()
    row["history"] = conn.execute(
        "SELECT at, actor, action, detail FROM audit_log WHERE document_id = %s"
        " ORDER BY audit_id", (doc,),
    ).fetchall()
    return row


def claim(conn: Conn, exception_id: int, me: str, lease_seconds: int) -> dict[str, Any]:
    """Claim (or renew) the item's lease for `me`. Returns {claimed: bool, holder, lease_until}:
    when another user's lease is live the item stays theirs and `me` reads it only."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE exception_queue SET claimed_by = %(me)s,"
            " claimed_at = CASE WHEN claimed_by = %(me)s AND lease_until > now()"
            "   THEN claimed_at ELSE now() END,"
            " lease_until = now() + make_interval(secs => %(lease)s)"
            " WHERE exception_id = %(id)s AND status = 'open' AND (claimed_by IS NULL OR"
            " claimed_by = %(me)s OR lease_until <= now()) RETURNING claimed_by, lease_until",
            {"me": me, "id": exception_id, "lease": lease_seconds},
        ).fetchone()
        if row is not None:
            return {"claimed": True, "holder": me, "lease_until": row["lease_until"]}
        held = conn.execute(
            "SELECT claimed_by, lease_until, status FROM exception_queue"
            " WHERE exception_id = %s", (exception_id,),
        ).fetchone()
    if held is None:
        raise LookupError(f"no exception {exception_id}")
    return {"claimed": False, "holder": held["claimed_by"], "lease_until": held["lease_until"]}


def release(conn: Conn, exception_id: int, me: str) -> None:
    """Give up `me`'s lease on the item."""
    conn.execute(
        "UPDATE exception_queue SET claimed_by = NULL, lease_until = NULL"
        " WHERE exception_id = %s AND claimed_by = %s", (exception_id, me),
    )


def changes_since(conn: Conn, document_id: int, version: int) -> list[dict[str, Any]]:
    """What was saved on the item after `version` (from the audit log)."""
    return conn.execute(
        "SELECT at, actor, action, detail FROM audit_log WHERE document_id = %s"
        " AND (detail->>'version')::int > %s ORDER BY audit_id",
        (document_id, version),
    ).fetchall()


def bump_version(conn: Conn, exception_id: int, version: int, me: str) -> dict[str, Any]:
    """Inside a transaction: move the item from `version` to the next, if `me` holds a live
    lease and nobody saved meanwhile; returns the row (document_id, version, reason_codes)."""
    row = conn.execute(
        "UPDATE exception_queue SET version = version + 1, updated_at = now()"
        " WHERE exception_id = %s AND version = %s AND status = 'open' AND claimed_by = %s"
        " AND lease_until > now() RETURNING document_id, version, reason_codes",
        (exception_id, version, me),
    ).fetchone()
    if row is not None:
        return row
    now = conn.execute(
        "SELECT document_id, version, status, claimed_by, lease_until > now() AS leased"
        " FROM exception_queue WHERE exception_id = %s", (exception_id,),
    ).fetchone()
    if now is None:
        raise LookupError(f"no exception {exception_id}")
    if now["status"] != "open":
        raise StaleVersion("this item is already resolved",
                           changes_since(conn, now["document_id"], version))
    if now["version"] != version:
        raise StaleVersion(
            f"this item changed since you opened it (version {version} -> {now['version']})",
            changes_since(conn, now["document_id"], version),
        )
    holder = now["claimed_by"] if now["leased"] else None
    raise NotClaimed(
        f"{holder} is working on this item" if holder and holder != me
        else "your claim on this item ran out: reopen it"
    )


def save_field(
    conn: Conn,
    exception_id: int,
    version: int,
    me: str,
    correction: dict[str, Any],
) -> int:
    """Save one corrected header field: the invoice column and its `fields` entry, the checks
    re-run on the new values, the correction as a label (`staging.corrections`), the audit
    entry; returns the new version. `correction` holds field, old_text, new_text, value
    (typed), field_json, checks, reason_codes, old_field (the staged FieldValue JSON: value,
    confidence, provenance with the box), changes_money."""
    c = correction
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        doc = row["document_id"]
        if c["field"] in HEADER_COLUMNS:
            conn.execute(
                sql.SQL("UPDATE invoices SET {} = %s WHERE document_id = %s").format(
                    sql.Identifier(c["field"])
                ),
                (_column_value(c["value"]), doc),
            )
        conn.execute(
            "UPDATE invoices SET fields = jsonb_set(fields, %s, %s), checks = %s,"
            " updated_at = now() WHERE document_id = %s",
            ([c["field"]], Jsonb(c["field_json"]), Jsonb(c["checks"]), doc),
        )
        conn.execute(
            "UPDATE exception_queue SET reason_codes = %s,"
            " waiting_second = waiting_second OR %s WHERE exception_id = %s",
            (c["reason_codes"], c["changes_money"], exception_id),
        )
        insert_correction(conn, doc, c["field"], c.get("old_field") or {}, c["new_text"],
                          clerk=me, changes_money=c["changes_money"], page=c.get("page"),
                          bbox=c.get("bbox"))
        audit(conn, "field_corrected", actor=me, document_id=doc, detail={
            "exception_id": exception_id, "version": row["version"], "field": c["field"],
            "old": c["old_text"], "new": c["new_text"], "reason_codes": row["reason_codes"],
        })
    return int(row["version"])


LINE_COLUMNS = ("description", "quantity", "unit_price", "line_total")


def save_line(
    conn: Conn, exception_id: int, version: int, me: str, change: dict[str, Any]
) -> tuple[int, int]:
    """Edit, add or delete one line of the line-item grid: the line row, the checks re-run on
    the new lines, the reason codes, one correction per changed cell (the cell as field, with
    the line's number) and the audit entry; returns (new version, line number).

    `change` holds op (edit | add | delete), line_no (edit, delete), columns (the cells),
    line_json (the LineItem), checks, reason_codes, cells ([{cell, old, new, money, old_field
    (the cell's staged FieldValue JSON), page, bbox}]), summary_old, summary_new."""
    c = change
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        doc = row["document_id"]
        cols = c.get("columns") or {}
        if c["op"] == "add":
            found = conn.execute(
                "INSERT INTO invoice_lines (document_id, line_no, description, quantity,"
                " unit_price, line_total, fields) SELECT %s, coalesce(max(line_no), 0) + 1,"
                " %s, %s, %s, %s, %s FROM invoice_lines WHERE document_id = %s RETURNING line_no",
                (doc, *(cols.get(k) for k in LINE_COLUMNS), Jsonb(c["line_json"]), doc),
            ).fetchone()
        elif c["op"] == "delete":
            found = conn.execute(
                "DELETE FROM invoice_lines WHERE document_id = %s AND line_no = %s"
                " RETURNING line_no", (doc, c["line_no"]),
            ).fetchone()
        else:
            found = conn.execute(
                "UPDATE invoice_lines SET description = %s, quantity = %s, unit_price = %s,"
                " line_total = %s, fields = %s WHERE document_id = %s AND line_no = %s"
                " RETURNING line_no",
                (*(cols.get(k) for k in LINE_COLUMNS), Jsonb(c["line_json"]), doc, c["line_no"]),
            ).fetchone()
        if found is None:
            raise LookupError(f"this invoice has no line {c.get('line_no')}")
        line_no = int(found["line_no"])
        money = any(cell["money"] for cell in c["cells"])
        conn.execute(
            "UPDATE invoices SET checks = %s, updated_at = now() WHERE document_id = %s",
            (Jsonb(c["checks"]), doc),
        )
        conn.execute(
            "UPDATE exception_queue SET reason_codes = %s,"
            " waiting_second = waiting_second OR %s WHERE exception_id = %s",
            (c["reason_codes"], money, exception_id),
        )
        for cell in c["cells"]:
            insert_correction(conn, doc, cell["cell"], cell.get("old_field") or {}, cell["new"],
                              clerk=me, line_no=line_no, changes_money=cell["money"],
                              page=cell.get("page"), bbox=cell.get("bbox"),
                              old_text=cell["old"])
        audit(conn, f"line_{c['op']}", actor=me, document_id=doc, detail={
            "exception_id": exception_id, "version": row["version"], "field": f"line {line_no}",
            "old": c.get("summary_old"), "new": c.get("summary_new"),
            "reason_codes": row["reason_codes"],
        })
    return int(row["version"]), line_no


def _column_value(value: Any) -> Any:
    return value if isinstance(value, str | Decimal | date) or value is None else str(value)


def invoice_summary(conn: Conn, document_id: int) -> dict[str, Any] | None:
    """Another document's file name, header columns and fields (the duplicate side view)."""
    return conn.execute(
        "SELECT d.document_id, d.file_name, i.fields, i.status, "
        + ", ".join(f"i.{c}" for c in HEADER_COLUMNS)
        + " FROM documents d LEFT JOIN invoices i USING (document_id) WHERE d.document_id = %s",
        (document_id,),
    ).fetchone()


def vendor_bank(conn: Conn, vendor_id: str) -> dict[str, Any] | None:
    """The vendor master's name, IBAN and BIC."""
    return conn.execute(
        "SELECT vendor_id, name, iban, bic FROM vendors WHERE vendor_id = %s", (vendor_id,)
    ).fetchone()


def next_open_after(conn: Conn, exception_id: int) -> int | None:
    """The open item after this one in queue order (oldest first), for "next": an audit
    sample's next is the next audit sample, an exception's the next exception."""
    row = conn.execute(
        "SELECT e.exception_id FROM exception_queue e, exception_queue me"
        " WHERE me.exception_id = %s AND e.status = 'open' AND e.hold_comment IS NULL"
        " AND (e.reason_codes = ARRAY['AUDIT_SAMPLE']::text[])"
        "   = (me.reason_codes = ARRAY['AUDIT_SAMPLE']::text[])"
        " AND (e.created_at, e.exception_id) > (me.created_at, me.exception_id)"
        " ORDER BY e.created_at, e.exception_id LIMIT 1", (exception_id,),
    ).fetchone()
    return int(row["exception_id"]) if row else None


def po_evidence(conn: Conn, po_number: str, document_id: int) -> dict[str, Any] | None:
    """The purchase order behind a PO reason code: its header, lines, goods receipts per line
    and what other documents billed per line (None for a PO the master does not hold)."""
    order = conn.execute(
        "SELECT po_number, vendor_id, currency, order_date, status FROM purchase_orders"
        " WHERE po_number = %s", (po_number,),
    ).fetchone()
    if order is None:
        return None
    order["lines"] = conn.execute(
        "SELECT line_no, sku, description, quantity, unit, unit_price FROM purchase_order_lines"
        " WHERE po_number = %s ORDER BY line_no", (po_number,),
    ).fetchall()
    receipts = conn.execute(
        "SELECT receipt_id, line_no, quantity, received_date FROM goods_receipts"
        " WHERE po_number = %s ORDER BY received_date NULLS LAST, receipt_id", (po_number,),
    ).fetchall()
    billed = conn.execute(
        "SELECT line_no, sum(quantity) AS quantity FROM po_billing_ledger WHERE po_number = %s"
        " AND document_id <> %s GROUP BY line_no", (po_number, document_id),
    ).fetchall()
    for ln in order["lines"]:
        ln["receipts"] = [r for r in receipts if r["line_no"] == ln["line_no"]]
        ln["received"] = sum((r["quantity"] for r in ln["receipts"]), Decimal(0))
        ln["billed_elsewhere"] = next(
            (b["quantity"] for b in billed if b["line_no"] == ln["line_no"]), Decimal(0))
    return order


def models_and_erp(conn: Conn, document_id: int) -> dict[str, Any]:
    """What stands behind the staged values and where the invoice went: the run's model versions
    (the confidence calibration), the classification's model versions and per-line coding
    backends, the approval and the ERP receipt (the ERP's id of the posted bill) with the outbox
    entries that carried it."""
    row = conn.execute(
        "SELECT i.run_id, b.metrics -> 'model_versions' AS run_versions,"
        " i.classification -> 'model_versions' AS classifier_versions,"
        " i.classification -> 'document_type' AS document_type,"
        " i.classification -> 'lines' AS coded_lines, i.status, i.approval_version,"
        " i.approved_by, i.approved_at, i.erp_id, i.synced_at, i.voided_at, i.credit_erp_id"
        " FROM invoices i LEFT JOIN batch_runs b USING (run_id) WHERE i.document_id = %s",
        (document_id,),
    ).fetchone()
    if row is None:
        return {}
    row["outbox"] = conn.execute(
        "SELECT entry_id, kind, approval_version, status, attempts, last_error, receipt,"
        " created_at, done_at FROM erp_outbox WHERE document_id = %s ORDER BY entry_id",
        (document_id,),
    ).fetchall()
    return row
