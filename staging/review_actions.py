"""The review page's decisions and evidence actions, each versioned, audited and timed.

Approve, reject, hold, reassign, comment; "not a duplicate"; a bank-detail change proposed by
one user and confirmed by another (the `bank_change_maker_is_not_checker` constraint refuses
the same user in the database); clerk seconds per action; the corrections as labels.
"""

from __future__ import annotations

from typing import Any

import psycopg

from staging.db import Conn
from staging.review import FourEyesViolation, NotClaimed, ReviewConflict, bump_version
from staging.store import audit


def _time_action(conn: Conn, doc: int, me: str, action: str, reasons: list[str]) -> None:
    """Record the seconds since the claim or this clerk's previous action on the item."""
    conn.execute(
        "INSERT INTO review_clerk_time (document_id, actor, action, reason_codes, seconds)"
        " SELECT %(doc)s, %(me)s, %(action)s, %(reasons)s, greatest(0, extract(epoch FROM"
        " now() - greatest(e.claimed_at, (SELECT max(at) FROM review_clerk_time t"
        "   WHERE t.document_id = %(doc)s AND t.actor = %(me)s))))"
        " FROM exception_queue e WHERE e.document_id = %(doc)s AND e.claimed_at IS NOT NULL"
        " ORDER BY e.exception_id DESC LIMIT 1",
        {"doc": doc, "me": me, "action": action, "reasons": reasons},
    )


def money_changed_by(conn: Conn, document_id: int, me: str) -> bool:
    """Whether `me` changed an amount on this document (then `me` may not approve it)."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM review_corrections WHERE document_id = %s AND actor = %s"
        " AND changes_money) AS changed", (document_id, me),
    ).fetchone()
    return bool(row and row["changed"])


def decide(
    conn: Conn, exception_id: int, version: int, me: str, decision: str, note: str = ""
) -> int:
    """approve | reject | hold | reassign (note: the new assignee). Approving and rejecting
    resolve the exception and set the invoice's status; returns the new version."""
    if decision not in ("approve", "reject", "hold", "reassign"):
        raise ValueError(f"unknown decision {decision!r}")
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        doc = row["document_id"]
        if decision == "approve" and money_changed_by(conn, doc, me):
            raise FourEyesViolation(
                "you changed an amount on this invoice: a second person must approve it"
            )
        if decision == "approve" and _pending_bank_change(conn, doc):
            raise FourEyesViolation("a bank-detail change on this invoice awaits confirmation")
        _apply_decision(conn, exception_id, doc, me, decision, note)
        _time_action(conn, doc, me, decision, row["reason_codes"])
        audit(conn, f"review_{decision}", actor=me, document_id=doc, detail={
            "exception_id": exception_id, "version": row["version"], "note": note,
            "reason_codes": row["reason_codes"],
        })
    return int(row["version"])


def _apply_decision(conn: Conn, exception_id: int, doc: int, me: str, decision: str,
                    note: str) -> None:
    if decision in ("approve", "reject"):
        conn.execute(
            "UPDATE exception_queue SET status = 'resolved', resolution = %s, assignee ="
            " coalesce(assignee, %s), resolved_at = now(), claimed_by = NULL, lease_until = NULL,"
            " waiting_second = false WHERE exception_id = %s",
            ("approved" if decision == "approve" else f"rejected: {note}", me, exception_id),
        )
        conn.execute(
            "UPDATE invoices SET status = %s, updated_at = now() WHERE document_id = %s",
            ("approved" if decision == "approve" else "rejected", doc),
        )
    elif decision == "hold":
        conn.execute(
            "UPDATE exception_queue SET hold_comment = %s WHERE exception_id = %s",
            (note, exception_id),
        )
    else:
        conn.execute(
            "UPDATE exception_queue SET assignee = %s, claimed_by = NULL, lease_until = NULL"
            " WHERE exception_id = %s", (note, exception_id),
        )


def _pending_bank_change(conn: Conn, doc: int) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM bank_change_proposals WHERE document_id = %s"
        " AND confirmed_by IS NULL) AS pending", (doc,),
    ).fetchone()
    return bool(row and row["pending"])


def bulk_approve(
    conn: Conn, exception_ids: list[int], me: str, reason: str, max_total: Any | None
) -> tuple[list[int], dict[int, str]]:
    """Approve open items that share `reason`, carry no money-changing correction, are not
    someone else's claim and have no pending bank change; `max_total` (None: no limit) bounds
    the totals. Returns (approved ids, {refused id: why}); each approval is audited."""
    approved: list[int] = []
    refused: dict[int, str] = {}
    for eid in exception_ids:
        with conn.transaction():
            row = conn.execute(
                "SELECT e.exception_id, e.document_id, e.version, e.reason_codes, i.total,"
                " e.hold_comment,"
                " e.claimed_by, e.lease_until > now() AS leased, EXISTS (SELECT 1 FROM"
                " review_corrections c WHERE c.document_id = e.document_id AND c.changes_money)"
                " AS money, EXISTS (SELECT 1 FROM bank_change_proposals p WHERE p.document_id ="
                " e.document_id AND p.confirmed_by IS NULL) AS bank FROM exception_queue e"
                " LEFT JOIN invoices i USING (document_id) WHERE e.exception_id = %s"
                " AND e.status = 'open' FOR UPDATE OF e", (eid,),
            ).fetchone()
            why = _bulk_refusal(row, me, reason, max_total)
            if why:
                refused[eid] = why
                continue
            assert row is not None
            conn.execute("UPDATE exception_queue SET version = version + 1 WHERE exception_id"
                         " = %s", (eid,))
            _apply_decision(conn, eid, row["document_id"], me, "approve", "")
            audit(conn, "review_approve", actor=me, document_id=row["document_id"], detail={
                "exception_id": eid, "version": row["version"] + 1, "bulk": True,
                "reason_codes": row["reason_codes"],
            })
            approved.append(eid)
    return approved, refused


def _bulk_refusal(row: dict[str, Any] | None, me: str, reason: str,
                  max_total: Any | None) -> str | None:
    if row is None:
        return "not an open item"
    if reason not in row["reason_codes"]:
        return f"does not have reason {reason}"
    if row["hold_comment"] is not None:
        return "on hold"
    if row["money"]:
        return "an amount was corrected: approve it on its page, by a second person"
    if row["bank"]:
        return "a bank-detail change awaits confirmation"
    if row["leased"] and row["claimed_by"] != me:
        return f"{row['claimed_by']} is working on it"
    if max_total is not None and row["total"] is not None and row["total"] > max_total:
        return "over your approval limit"
    return None


def add_comment(conn: Conn, exception_id: int, me: str, body: str) -> None:
    """A comment on the item (any open or resolved item; comments need no claim)."""
    with conn.transaction():
        row = conn.execute(
            "SELECT document_id FROM exception_queue WHERE exception_id = %s", (exception_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"no exception {exception_id}")
        conn.execute(
            "INSERT INTO review_comments (document_id, actor, body) VALUES (%s, %s, %s)",
            (row["document_id"], me, body),
        )
        audit(conn, "review_comment", actor=me, document_id=row["document_id"],
              detail={"exception_id": exception_id, "length": len(body)})


def not_a_duplicate(conn: Conn, exception_id: int, version: int, me: str) -> int:
    """The clerk clears DUPLICATE_SUSPECTED: the reason goes, the item stays for the others."""
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        conn.execute(
            "UPDATE exception_queue SET reason_codes = array_remove(reason_codes,"
            " 'DUPLICATE_SUSPECTED') WHERE exception_id = %s", (exception_id,),
        )
        _time_action(conn, row["document_id"], me, "not_a_duplicate", row["reason_codes"])
        audit(conn, "review_not_a_duplicate", actor=me, document_id=row["document_id"], detail={
            "exception_id": exception_id, "version": row["version"],
            "old": row["reason_codes"],
        })
    return int(row["version"])


def propose_bank_change(
    conn: Conn, exception_id: int, version: int, me: str, vendor_id: str, new_iban: str
) -> int:
    """Propose the printed IBAN as the vendor's new account; the item waits for a second
    person. Returns the proposal id."""
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        old = conn.execute("SELECT iban FROM vendors WHERE vendor_id = %s", (vendor_id,)).fetchone()
        if old is None:
            raise LookupError(f"no vendor {vendor_id}")
        try:
            with conn.transaction():
                pid = conn.execute(
                    "INSERT INTO bank_change_proposals (vendor_id, document_id, old_iban,"
                    " new_iban, proposed_by) VALUES (%s, %s, %s, %s, %s) RETURNING proposal_id",
                    (vendor_id, row["document_id"], old["iban"], new_iban, me),
                ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise ReviewConflict(
                "a change of this vendor's bank details is already pending"
            ) from exc
        conn.execute(
            "UPDATE exception_queue SET waiting_second = true WHERE exception_id = %s",
            (exception_id,),
        )
        audit(conn, "bank_change_proposed", actor=me, document_id=row["document_id"], detail={
            "exception_id": exception_id, "version": row["version"], "vendor_id": vendor_id,
            "old": old["iban"], "new": new_iban,
        })
    assert pid is not None
    return int(pid["proposal_id"])


def pending_bank_change(conn: Conn, document_id: int) -> dict[str, Any] | None:
    """The unconfirmed bank-detail proposal raised from this document, if any."""
    return conn.execute(
        "SELECT * FROM bank_change_proposals WHERE document_id = %s AND confirmed_by IS NULL",
        (document_id,),
    ).fetchone()


def confirm_bank_change(conn: Conn, proposal_id: int, me: str) -> None:
    """A second person confirms: the vendor master's IBAN changes now, never before. The
    database refuses a confirmation by the proposer (FourEyesViolation)."""
    with conn.transaction():
        try:
            with conn.transaction():
                row = conn.execute(
                    "UPDATE bank_change_proposals SET confirmed_by = %s, confirmed_at = now()"
                    " WHERE proposal_id = %s AND confirmed_by IS NULL"
                    " RETURNING vendor_id, document_id, old_iban, new_iban",
                    (me, proposal_id),
                ).fetchone()
        except psycopg.errors.CheckViolation as exc:
            raise FourEyesViolation(
                "you proposed this bank-detail change: another person must confirm it"
            ) from exc
        if row is None:
            raise NotClaimed("no pending bank-detail change with this id")
        conn.execute("SELECT set_config('invoices.review_session', 'on', true)")
        conn.execute(
            "UPDATE vendors SET iban = %s, updated_at = now() WHERE vendor_id = %s",
            (row["new_iban"], row["vendor_id"]),
        )
        conn.execute(
            "UPDATE exception_queue SET reason_codes = array_remove(reason_codes,"
            " 'BANK_DETAILS_CHANGED'), waiting_second = false, version = version + 1"
            " WHERE document_id = %s AND status = 'open'", (row["document_id"],),
        )
        audit(conn, "bank_change_confirmed", actor=me, document_id=row["document_id"], detail={
            "proposal_id": proposal_id, "vendor_id": row["vendor_id"], "old": row["old_iban"],
            "new": row["new_iban"],
        })


def clerk_time_by_reason(conn: Conn) -> list[dict[str, Any]]:
    """Median and p90 seconds per action per reason code, with counts."""
    return conn.execute(
        "SELECT r AS reason, count(*) AS n,"
        " percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median,"
        " percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90"
        " FROM review_clerk_time, unnest(CASE WHEN reason_codes = '{}' THEN '{NONE}'::text[]"
        " ELSE reason_codes END) r GROUP BY r ORDER BY r"
    ).fetchall()


def corrections(conn: Conn) -> list[dict[str, Any]]:
    """Every correction with its document's file and sha256 (for the label export)."""
    return conn.execute(
        "SELECT c.*, d.file_name, d.sha256 FROM review_corrections c"
        " JOIN documents d USING (document_id) ORDER BY c.document_id, c.correction_id"
    ).fetchall()


__all__ = ["FourEyesViolation", "NotClaimed", "ReviewConflict"]
