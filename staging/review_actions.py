"""The review page's decisions and evidence actions, each versioned, audited and timed.

Approve, reject, hold, reassign, comment; "not a duplicate"; a bank-detail change proposed by
one user and confirmed by another (the `bank_change_maker_is_not_checker` constraint refuses
the same user in the database); clerk seconds per action (`staging.corrections`).

An approval goes through `staging.outbox.approve_invoice`, in the same transaction as the
item's resolution and its audit entry: the invoice is approved and its ERP outbox entry queued
together, or (an invoice that cannot be mapped to an ERP bill) nothing changes at all.
"""

from __future__ import annotations

from typing import Any

import psycopg

from invoices.erp_payload import PayloadIncomplete
from invoices.settings import Settings
from staging import outbox
from staging.corrections import money_changed_by, time_action
from staging.db import Conn
from staging.review import (
    FourEyesViolation,
    NotApprovable,
    NotClaimed,
    ReviewConflict,
    bump_version,
)
from staging.store import audit


def decide(
    conn: Conn,
    exception_id: int,
    version: int,
    me: str,
    decision: str,
    note: str = "",
    *,
    settings: Settings | None = None,
) -> int:
    """approve | reject | hold | reassign (note: the new assignee). Approving and rejecting
    resolve the exception and set the invoice's status (an approval also queues the invoice
    for the ERP, with `settings`' mapping); returns the new version. Raises NotApprovable,
    changing nothing, for an invoice that cannot be mapped to an ERP bill."""
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
        entry = _apply_decision(conn, exception_id, doc, me, decision, note, settings)
        time_action(conn, doc, me, decision, row["reason_codes"])
        detail = {"exception_id": exception_id, "version": row["version"], "note": note,
                  "reason_codes": row["reason_codes"]}  # fmt: skip
        if entry is not None:
            detail["outbox_entry"] = entry
        audit(conn, f"review_{decision}", actor=me, document_id=doc, detail=detail)
    return int(row["version"])


def _apply_decision(conn: Conn, exception_id: int, doc: int, me: str, decision: str,
                    note: str, settings: Settings | None) -> int | None:
    """Apply the decision to the item and its invoice; for an approval, the id of the outbox
    entry that queues the invoice for the ERP."""
    if decision in ("approve", "reject"):
        conn.execute(
            "UPDATE exception_queue SET status = 'resolved', resolution = %s, assignee ="
            " coalesce(assignee, %s), resolved_at = now(), claimed_by = NULL, lease_until = NULL,"
            " waiting_second = false WHERE exception_id = %s",
            ("approved" if decision == "approve" else f"rejected: {note}", me, exception_id),
        )
    if decision == "approve":
        return _approve_for_erp(conn, doc, me, settings)
    if decision == "reject":
        conn.execute(
            "UPDATE invoices SET status = 'rejected', updated_at = now() WHERE document_id = %s",
            (doc,),
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
    return None


def _approve_for_erp(conn: Conn, doc: int, me: str, settings: Settings | None) -> int:
    """Approve the item's invoice through the outbox (at its next approval version; an invoice
    already approved at its version keeps its one entry); the outbox entry's id."""
    row = conn.execute(
        "SELECT status, approval_version FROM invoices WHERE document_id = %s FOR UPDATE", (doc,)
    ).fetchone()
    if row is None:
        raise NotApprovable(
            "there is no staged invoice behind this item, so nothing can be approved for the"
            " ERP: reject it instead"
        )
    done = row["status"] in ("approved", "synced")
    version = row["approval_version"] + (0 if done else 1)
    try:
        return outbox.approve_invoice(conn, doc, me, version, settings=settings).entry_id
    except PayloadIncomplete as exc:
        raise NotApprovable(
            "this invoice cannot be sent to the ERP, so it was not approved: "
            + "; ".join(exc.problems) + ". Correct it, or reject it."
        ) from exc
    except outbox.ApprovalRefused as exc:
        raise NotApprovable(str(exc)) from exc


def _pending_bank_change(conn: Conn, doc: int) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM bank_change_proposals WHERE document_id = %s"
        " AND confirmed_by IS NULL) AS pending", (doc,),
    ).fetchone()
    return bool(row and row["pending"])


def bulk_approve(
    conn: Conn,
    exception_ids: list[int],
    me: str,
    reason: str,
    max_total: Any | None,
    *,
    settings: Settings | None = None,
) -> tuple[list[int], dict[int, str]]:
    """Approve open items that share `reason`, carry no money-changing correction, are not
    someone else's claim and have no pending bank change; `max_total` (None: no limit) bounds
    the totals. Each approval queues its invoice for the ERP, in the item's own transaction
    with its audit entry. Returns (approved ids, {refused id: why})."""
    approved: list[int] = []
    refused: dict[int, str] = {}
    for eid in exception_ids:
        try:
            why = _bulk_approve_one(conn, eid, me, reason, max_total, settings)
        except NotApprovable as exc:
            why = exc.message  # the item's transaction rolled back: nothing changed
        if why:
            refused[eid] = why
        else:
            approved.append(eid)
    return approved, refused


def _bulk_approve_one(conn: Conn, eid: int, me: str, reason: str, max_total: Any | None,
                      settings: Settings | None) -> str | None:
    """Approve one item of a bulk approval; why not, when it is refused."""
    with conn.transaction():
        row = conn.execute(
            "SELECT e.exception_id, e.document_id, e.version, e.reason_codes, i.total,"
            " e.hold_comment,"
            " e.claimed_by, e.lease_until > now() AS leased, EXISTS (SELECT 1 FROM"
            " field_corrections c WHERE c.document_id = e.document_id AND c.changes_money)"
            " AS money, EXISTS (SELECT 1 FROM bank_change_proposals p WHERE p.document_id ="
            " e.document_id AND p.confirmed_by IS NULL) AS bank FROM exception_queue e"
            " LEFT JOIN invoices i USING (document_id) WHERE e.exception_id = %s"
            " AND e.status = 'open' FOR UPDATE OF e", (eid,),
        ).fetchone()
        why = _bulk_refusal(row, me, reason, max_total)
        if why:
            return why
        assert row is not None
        conn.execute("UPDATE exception_queue SET version = version + 1 WHERE exception_id"
                     " = %s", (eid,))
        entry = _apply_decision(conn, eid, row["document_id"], me, "approve", "", settings)
        audit(conn, "review_approve", actor=me, document_id=row["document_id"], detail={
            "exception_id": eid, "version": row["version"] + 1, "bulk": True,
            "reason_codes": row["reason_codes"], "outbox_entry": entry,
        })
    return None


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
        time_action(conn, row["document_id"], me, "not_a_duplicate", row["reason_codes"])
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


__all__ = ["FourEyesViolation", "NotApprovable", "NotClaimed", "ReviewConflict"]
