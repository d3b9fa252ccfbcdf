"""The ERP outbox: approving an invoice and queueing it for the ERP in one transaction.

`approve_invoice` sets an invoice `approved` and inserts its outbox entry (the ERP payload mapped
from the staged invoice, the PDF, an idempotency key of document and approval version) in the
same transaction; a trigger refuses an entry for an invoice that is not approved, and another
NOTIFYs the relay. `void_invoice` queues a synced bill's credit note through the same outbox.
What the relay does with an entry (claims, leases, receipts, failures) is in
`staging.outbox_relay`; how an entry's invoice is read from the store, in `staging.erp_staged`.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg.types.json import Jsonb

from invoices.erp_payload import ErpPayload, PayloadIncomplete, map_invoice
from invoices.records import ReasonCode
from invoices.settings import Settings, load_settings
from staging.db import Conn
from staging.erp_staged import attachment, erp_mapping, load_staged_invoice
from staging.outbox_relay import ClaimedEntry as ClaimedEntry  # erp_sync.tryton imports it here
from staging.store import PIPELINE_ACTOR, audit, open_exception

APPROVABLE = ("staged", "exception")


class ApprovalRefused(ValueError):
    """The invoice cannot be approved at this version (its status or version say why)."""


class VoidRefused(ApprovalRefused):
    """The invoice cannot be voided: it is not synced (nothing in the ERP to reverse)."""


class AlreadyVoided(VoidRefused):
    """The invoice was voided before: its credit note is queued (`entry_id`) or sent."""

    def __init__(self, message: str, entry_id: int) -> None:
        super().__init__(message)
        self.entry_id = entry_id


@dataclass(frozen=True)
class Approval:
    """The outcome of an approval: the outbox entry, and whether this call created it."""

    document_id: int
    version: int
    entry_id: int
    created: bool


def approve_invoice(
    conn: Conn,
    document_id: int,
    approved_by: str,
    version: int,
    *,
    settings: Settings | None = None,
) -> Approval:
    """Approve an invoice at `version` (1 for its first approval, one more for each approval
    after it came back to the exception queue) and queue it for the ERP, in one transaction.

    Approving again at the version it is approved at adds nothing and returns the existing
    entry. Raises ApprovalRefused for a rejected invoice or a stale version, and
    `invoices.erp_payload.PayloadIncomplete` when it cannot be mapped (nothing is changed)."""
    mapping = erp_mapping(settings or load_settings())
    with conn.transaction():
        row = conn.execute(
            "SELECT status, approval_version FROM invoices WHERE document_id = %s FOR UPDATE",
            (document_id,),
        ).fetchone()
        if row is None:
            raise LookupError(f"no staged invoice {document_id}")
        if row["approval_version"] == version and row["status"] in ("approved", "synced"):
            return Approval(document_id, version, _entry_id(conn, document_id, version), False)
        if row["status"] not in APPROVABLE or version != row["approval_version"] + 1:
            raise ApprovalRefused(
                f"invoice {document_id} is {row['status']} at approval version"
                f" {row['approval_version']}: it cannot be approved at version {version}"
            )
        payload = map_invoice(load_staged_invoice(conn, document_id), mapping)
        conn.execute(
            "UPDATE invoices SET status = 'approved', approval_version = %s, approved_by = %s,"
            " approved_at = now(), updated_at = now() WHERE document_id = %s",
            (version, approved_by, document_id),
        )
        _resolve_open_exception(conn, document_id, approved_by)
        entry_id = _enqueue(conn, document_id, "bill", version, payload)
        audit(
            conn,
            "invoice_approved",
            actor=approved_by,
            document_id=document_id,
            detail={"approval_version": version, "outbox_entry": entry_id},
        )
    return Approval(document_id, version, entry_id, True)


def approve_straight_through(conn: Conn, document_id: int, settings: Settings) -> bool:
    """The pipeline approves a straight-through invoice (where `erp_approve_straight_through`
    allows it) and queues it; one it cannot map goes to the exception queue as ERP_SYNC_FAILED
    with the mapping's problems. True when it was approved."""
    try:
        approve_invoice(conn, document_id, PIPELINE_ACTOR, 1, settings=settings)
    except PayloadIncomplete as exc:
        conn.execute(
            "UPDATE invoices SET status = 'exception', updated_at = now() WHERE document_id = %s",
            (document_id,),
        )
        open_exception(
            conn,
            document_id,
            None,
            [ReasonCode.ERP_SYNC_FAILED.value],
            {"erp_sync": {"erp_message": str(exc), "problems": exc.problems}},
        )
        return False
    return True


def _resolve_open_exception(conn: Conn, document_id: int, actor: str) -> None:
    conn.execute(
        "UPDATE exception_queue SET status = 'resolved', resolution = 'approved', assignee ="
        " coalesce(assignee, %s), resolved_at = now(), updated_at = now()"
        " WHERE document_id = %s AND status = 'open'",
        (actor, document_id),
    )


def _key(document_id: int, kind: str, version: int) -> str:
    return f"document:{document_id}:{kind}:v{version}"


def _enqueue(conn: Conn, document_id: int, kind: str, version: int, payload: ErpPayload) -> int:
    pdf, name = attachment(conn, document_id)
    row = conn.execute(
        "INSERT INTO erp_outbox (document_id, kind, approval_version, idempotency_key, payload,"
        " attachment, attachment_name) VALUES (%s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING entry_id",
        (
            document_id,
            kind,
            version,
            _key(document_id, kind, version),
            Jsonb(payload.model_dump(mode="json")),
            pdf,
            name,
        ),
    ).fetchone()
    return int(row["entry_id"]) if row else _entry_id(conn, document_id, version, kind)


def _entry_id(conn: Conn, document_id: int, version: int, kind: str = "bill") -> int:
    row = conn.execute(
        "SELECT entry_id FROM erp_outbox WHERE idempotency_key = %s",
        (_key(document_id, kind, version),),
    ).fetchone()
    if row is None:
        raise LookupError(f"invoice {document_id} is approved but has no outbox entry")
    return int(row["entry_id"])


def void_invoice(conn: Conn, document_id: int, voided_by: str, reason: str) -> int:
    """Void a synced invoice: queue a credit note for its bill through the same outbox (nothing
    is deleted in the ERP), audited with who voided it and why; returns the reversal's entry
    id. Raises VoidRefused for an invoice that is not synced, AlreadyVoided for one voided
    before (nothing is added), LookupError for no such invoice."""
    if not reason.strip():
        raise VoidRefused("voiding an invoice needs a reason")
    with conn.transaction():
        row = conn.execute(
            "SELECT status, approval_version, voided_at, erp_id FROM invoices"
            " WHERE document_id = %s FOR UPDATE",
            (document_id,),
        ).fetchone()
        if row is None:
            raise LookupError(f"no staged invoice {document_id}")
        if row["status"] != "synced":
            raise VoidRefused(
                f"invoice {document_id} is {row['status']}, not synced: there is no ERP bill to"
                " reverse (only an invoice the ERP has posted can be voided)"
            )
        version = row["approval_version"]
        if row["voided_at"] is not None:
            entry = _entry_id(conn, document_id, version, "reversal")
            raise AlreadyVoided(
                f"invoice {document_id} was voided at {row['voided_at']:%Y-%m-%d %H:%M}: its"
                f" credit note is outbox entry {entry}",
                entry,
            )
        bill = conn.execute(
            "SELECT payload FROM erp_outbox WHERE idempotency_key = %s",
            (_key(document_id, "bill", version),),
        ).fetchone()
        assert bill is not None
        original = ErpPayload.model_validate(bill["payload"])
        credit = original.model_copy(
            update={"kind": "credit_note", "credits_invoice": original.invoice_number}
        )
        conn.execute(
            "UPDATE invoices SET voided_at = now(), updated_at = now() WHERE document_id = %s",
            (document_id,),
        )
        entry_id = _enqueue(conn, document_id, "reversal", version, credit)
        audit(
            conn,
            "invoice_voided",
            actor=voided_by,
            document_id=document_id,
            detail={"reason": reason, "outbox_entry": entry_id},
        )
    return entry_id


def outbox_counts(conn: Conn) -> dict[str, int]:
    """Entries per status (pending, in_flight, done, dead)."""
    rows = conn.execute("SELECT status, count(*) AS n FROM erp_outbox GROUP BY status").fetchall()
    counts = {s: 0 for s in ("pending", "in_flight", "done", "dead")}
    counts.update({r["status"]: int(r["n"]) for r in rows})
    return counts
