"""The ERP outbox: approving an invoice and queueing it for the ERP in one transaction.

`approve_invoice` sets an invoice `approved` and inserts its outbox entry (the ERP payload mapped
from the staged invoice, the PDF, an idempotency key of document and approval version) in the
same transaction; a trigger refuses an entry for an invoice that is not approved, and another
NOTIFYs the relay. The relay (`erp_sync.relay`) claims due entries with `FOR UPDATE SKIP LOCKED`
and a lease (`claim_entry`), and records the outcome only while its attempt number still
matches (`complete_entry`, `fail_entry`): a relay whose lease ran out and was taken over cannot
overwrite what the new holder does. A dead entry sends its invoice back to the exception queue as
ERP_SYNC_FAILED with the ERP's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.types.json import Jsonb

from invoices.erp_payload import (
    ErpMapping,
    ErpPayload,
    PayloadIncomplete,
    StagedInvoice,
    StagedLine,
    StagedVendor,
    map_invoice,
)
from invoices.records import ReasonCode
from invoices.settings import Settings, load_settings
from staging.db import Conn
from staging.store import PIPELINE_ACTOR, audit, open_exception

APPROVABLE = ("staged", "exception")


class ApprovalRefused(ValueError):
    """The invoice cannot be approved at this version (its status or version say why)."""


@dataclass(frozen=True)
class Approval:
    """The outcome of an approval: the outbox entry, and whether this call created it."""

    document_id: int
    version: int
    entry_id: int
    created: bool


@dataclass(frozen=True)
class ClaimedEntry:
    """An outbox entry a relay holds under lease; `attempt` fences what it may record."""

    entry_id: int
    document_id: int
    kind: str
    idempotency_key: str
    payload: ErpPayload
    attachment: bytes | None
    attachment_name: str | None
    attempt: int


def erp_mapping(settings: Settings) -> ErpMapping:
    """The GL and tax mapping of the settings."""
    return ErpMapping(gl_accounts=settings.erp_gl_accounts, tax_codes=settings.erp_tax_codes)


def channel(conn: Conn) -> str:
    """The NOTIFY channel of this schema's outbox."""
    row = conn.execute("SELECT 'erp_outbox_' || current_schema() AS c").fetchone()
    assert row is not None
    return str(row["c"])


def load_staged_invoice(conn: Conn, document_id: int) -> StagedInvoice:
    """The staged invoice with its vendor (master data first, printed values second) and the
    GL account and cost centre of every line from its classification."""
    row = conn.execute(
        "SELECT i.*, v.name AS master_name, v.vat_id AS master_vat_id, v.country, v.address,"
        " v.iban AS master_iban FROM invoices i LEFT JOIN vendors v USING (vendor_id)"
        " WHERE i.document_id = %s",
        (document_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no staged invoice {document_id}")
    coding = row["classification"] or {}
    by_line = {c["line_no"]: c for c in coding.get("lines", [])}
    lines = conn.execute(
        "SELECT * FROM invoice_lines WHERE document_id = %s ORDER BY line_no", (document_id,)
    ).fetchall()
    fields = row["fields"] or {}
    return StagedInvoice(
        document_id=document_id,
        document_type=row["document_type"],
        invoice_number=row["invoice_number"],
        invoice_date=row["invoice_date"],
        due_date=row["due_date"],
        currency=row["currency"],
        po_number=row["po_number"],
        buyer_name=(fields.get("buyer_name") or {}).get("value"),
        subtotal=row["subtotal"],
        tax=row["tax"],
        total=row["total"],
        vendor=StagedVendor(
            vendor_id=row["vendor_id"],
            name=row["master_name"] or row["vendor_name"],
            vat_id=row["master_vat_id"] or row["vendor_vat_id"],
            country=row["country"],
            address=row["address"] or (fields.get("vendor_address") or {}).get("value"),
            iban=row["master_iban"] or row["iban"],
        ),
        lines=[_staged_line(line, by_line.get(line["line_no"], {})) for line in lines],
        gl_account=_code(coding.get("gl_account")),
        cost_centre=_code(coding.get("cost_centre")),
    )


def _staged_line(line: dict[str, Any], coding: dict[str, Any]) -> StagedLine:
    return StagedLine(
        line_no=line["line_no"],
        description=line["description"],
        quantity=line["quantity"],
        unit=line["unit"],
        unit_price=line["unit_price"],
        tax_rate=line["tax_rate"],
        line_total=line["line_total"],
        gl_account=_code(coding.get("gl_account")),
        cost_centre=_code(coding.get("cost_centre")),
    )


def _code(suggestion: Any) -> str | None:
    return suggestion.get("code") if isinstance(suggestion, dict) else None


def _attachment(conn: Conn, document_id: int) -> tuple[bytes | None, str | None]:
    row = conn.execute(
        "SELECT source_path, file_name FROM documents WHERE document_id = %s", (document_id,)
    ).fetchone()
    if row is None:
        return None, None
    path = Path(row["source_path"])
    try:
        return path.read_bytes(), row["file_name"]
    except OSError:
        return None, row["file_name"]  # the file left the inbox: the bill goes without it


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
    attachment, name = _attachment(conn, document_id)
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
            attachment,
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
    is deleted in the ERP). Voiding twice adds nothing; returns the reversal's entry id."""
    with conn.transaction():
        row = conn.execute(
            "SELECT status, approval_version, voided_at FROM invoices WHERE document_id = %s"
            " FOR UPDATE",
            (document_id,),
        ).fetchone()
        if row is None or row["status"] != "synced":
            raise ApprovalRefused(f"invoice {document_id} is not synced: nothing to reverse")
        version = row["approval_version"]
        if row["voided_at"] is not None:
            return _entry_id(conn, document_id, version, "reversal")
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


def claim_entry(conn: Conn, worker: str, lease_seconds: float) -> ClaimedEntry | None:
    """Claim the next due entry (pending and due, or in flight with its lease run out) under a
    lease, and commit, so the claim stands before the ERP is called. None when nothing is due."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE erp_outbox o SET status = 'in_flight', attempts = o.attempts + 1,"
            " lease_until = now() + make_interval(secs => %s), leased_by = %s, updated_at = now()"
            " FROM (SELECT entry_id FROM erp_outbox WHERE (status = 'pending' AND"
            "   next_attempt_at <= now()) OR (status = 'in_flight' AND lease_until < now())"
            "   ORDER BY next_attempt_at, entry_id LIMIT 1 FOR UPDATE SKIP LOCKED) due"
            " WHERE o.entry_id = due.entry_id"
            " RETURNING o.entry_id, o.document_id, o.kind, o.idempotency_key, o.payload,"
            " o.attachment, o.attachment_name, o.attempts",
            (lease_seconds, worker),
        ).fetchone()
    if row is None:
        return None
    return ClaimedEntry(
        entry_id=row["entry_id"],
        document_id=row["document_id"],
        kind=row["kind"],
        idempotency_key=row["idempotency_key"],
        payload=ErpPayload.model_validate(row["payload"]),
        attachment=bytes(row["attachment"]) if row["attachment"] is not None else None,
        attachment_name=row["attachment_name"],
        attempt=row["attempts"],
    )


def complete_entry(conn: Conn, entry: ClaimedEntry, receipt: dict[str, Any]) -> bool:
    """Mark an entry done with the ERP's receipt, and its invoice synced, in one transaction,
    only if this attempt still holds the entry. False when another relay took it over."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE erp_outbox SET status = 'done', receipt = %s, done_at = now(),"
            " lease_until = NULL, last_error = NULL, updated_at = now()"
            " WHERE entry_id = %s AND attempts = %s AND status = 'in_flight' RETURNING entry_id",
            (Jsonb(receipt), entry.entry_id, entry.attempt),
        ).fetchone()
        if row is None:
            return False
        if entry.kind == "bill":
            conn.execute(
                "UPDATE invoices SET status = 'synced', erp_id = %s, synced_at = now(),"
                " updated_at = now() WHERE document_id = %s",
                (receipt.get("erp_id"), entry.document_id),
            )
        else:
            conn.execute(
                "UPDATE invoices SET credit_erp_id = %s, updated_at = now() WHERE document_id = %s",
                (receipt.get("erp_id"), entry.document_id),
            )
        audit(
            conn,
            "erp_synced" if entry.kind == "bill" else "erp_reversed",
            actor="erp_sync",
            document_id=entry.document_id,
            detail={"entry_id": entry.entry_id, "attempt": entry.attempt, "receipt": receipt},
        )
    return True


def fail_entry(
    conn: Conn,
    entry: ClaimedEntry,
    message: str,
    *,
    permanent: bool,
    max_attempts: int,
    retry_in_seconds: float,
) -> str | None:
    """Record a failed attempt: the entry waits `retry_in_seconds` before the next, or is dead
    (a permanent refusal, or the last attempt), and then its invoice goes back to the exception
    queue as ERP_SYNC_FAILED with the ERP's message. Returns the new status (None: not held)."""
    dead = permanent or entry.attempt >= max_attempts
    with conn.transaction():
        row = conn.execute(
            "UPDATE erp_outbox SET status = %s, last_error = %s, lease_until = NULL,"
            " next_attempt_at = now() + make_interval(secs => %s), updated_at = now()"
            " WHERE entry_id = %s AND attempts = %s AND status = 'in_flight' RETURNING status",
            (
                "dead" if dead else "pending",
                message,
                retry_in_seconds,
                entry.entry_id,
                entry.attempt,
            ),
        ).fetchone()
        if row is None:
            return None
        if dead:
            _back_to_exception_queue(conn, entry, message)
    return str(row["status"])


def _back_to_exception_queue(conn: Conn, entry: ClaimedEntry, message: str) -> None:
    if entry.kind == "bill":
        conn.execute(
            "UPDATE invoices SET status = 'exception', updated_at = now() WHERE document_id = %s",
            (entry.document_id,),
        )
    detail = {
        "entry_id": entry.entry_id,
        "kind": entry.kind,
        "attempts": entry.attempt,
        "erp_message": message,
    }
    open_exception(
        conn, entry.document_id, None, [ReasonCode.ERP_SYNC_FAILED.value], {"erp_sync": detail}
    )
    audit(conn, "erp_sync_failed", actor="erp_sync", document_id=entry.document_id, detail=detail)


def outbox_counts(conn: Conn) -> dict[str, int]:
    """Entries per status (pending, in_flight, done, dead)."""
    rows = conn.execute("SELECT status, count(*) AS n FROM erp_outbox GROUP BY status").fetchall()
    counts = {s: 0 for s in ("pending", "in_flight", "done", "dead")}
    counts.update({r["status"]: int(r["n"]) for r in rows})
    return counts


def next_due_in(conn: Conn) -> float | None:
    """Seconds until the next entry is due (0 when one is due now; None when none waits)."""
    row = conn.execute(
        "SELECT greatest(0, extract(epoch FROM min(CASE WHEN status = 'pending' THEN"
        " next_attempt_at ELSE lease_until END) - now()))::float8 AS s FROM erp_outbox"
        " WHERE status IN ('pending', 'in_flight')"
    ).fetchone()
    return None if row is None or row["s"] is None else float(row["s"])


def listen(conn: Conn) -> None:
    """LISTEN on the outbox channel (on an autocommit connection kept for waiting)."""
    conn.execute(f'LISTEN "{channel(conn)}"')


def wait_for_notify(conn: Conn, timeout: float) -> bool:
    """Wait up to `timeout` seconds for an outbox NOTIFY; True when one arrived."""
    for _ in conn.notifies(timeout=timeout, stop_after=1):
        return True
    return False
