"""The ERP outbox relay's side: claims under a lease, receipts, failures, and wake-ups.

The relay (`erp_sync.relay`) claims due entries with `FOR UPDATE SKIP LOCKED` and a lease
(`claim_entry`), and records the outcome only while its attempt number still matches
(`complete_entry` with the ERP's receipt, `fail_entry`): a relay whose lease ran out and was
taken over cannot overwrite what the new holder does. A dead entry sends its invoice back to the
exception queue as ERP_SYNC_FAILED with the ERP's message. An insert into the outbox NOTIFYs the
schema's channel (`listen`, `wait_for_notify`); polling (`next_due_in`) is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from invoices.erp_payload import ErpPayload
from invoices.records import ReasonCode
from staging.db import Conn
from staging.store import audit, open_exception


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


def channel(conn: Conn) -> str:
    """The NOTIFY channel of this schema's outbox."""
    row = conn.execute("SELECT 'erp_outbox_' || current_schema() AS c").fetchone()
    assert row is not None
    return str(row["c"])


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
