"""The ERP outbox relay's side: claims under a lease, receipts, failures, and wake-ups.

The relay (`erp_sync.relay`) claims due entries with `FOR UPDATE SKIP LOCKED` and a lease
(`claim_entry`), and records the outcome only while its attempt number still matches
(`complete_entry` with the ERP's receipt, `fail_entry`): a relay whose lease ran out and was
taken over cannot overwrite what the new holder does. A dead entry sends its invoice back to the
exception queue as ERP_SYNC_FAILED with the ERP's message. An insert into the outbox NOTIFYs the
schema's channel (`listen`, `wait_for_notify`); polling (`next_due_in`) is the fallback.
`erp_lock` serialises what relays must not do side by side in the ERP (creating a supplier).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from invoices.erp_payload import ErpPayload
from invoices.records import ReasonCode
from staging import db
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


def claim_entry(
    conn: Conn, worker: str, lease_seconds: float, max_attempts: int | None = None
) -> ClaimedEntry | None:
    """Claim the next due entry (pending and due, or in flight with its lease run out) under a
    lease, and commit, so the claim stands before the ERP is called. None when nothing is due.
    An entry whose lease ran out at its last attempt (`max_attempts`) is not claimed again:
    `bury_abandoned` makes it dead."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE erp_outbox o SET status = 'in_flight', attempts = o.attempts + 1,"
            " lease_until = now() + make_interval(secs => %s), leased_by = %s, updated_at = now()"
            " FROM (SELECT entry_id FROM erp_outbox WHERE (status = 'pending' AND"
            "   next_attempt_at <= now()) OR (status = 'in_flight' AND lease_until < now()"
            "   AND attempts < coalesce(%s, 2147483647))"
            "   ORDER BY next_attempt_at, entry_id LIMIT 1 FOR UPDATE SKIP LOCKED) due"
            " WHERE o.entry_id = due.entry_id"
            " RETURNING o.entry_id, o.document_id, o.kind, o.idempotency_key, o.payload,"
            " o.attachment, o.attachment_name, o.attempts",
            (lease_seconds, worker, max_attempts),
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
            _back_to_exception_queue(
                conn, entry.entry_id, entry.document_id, entry.kind, entry.attempt, message
            )
    return str(row["status"])


def bury_abandoned(conn: Conn, max_attempts: int) -> list[str]:
    """Make dead the entries whose lease ran out at their last attempt without an outcome (the
    relay was killed, or its host died, during the push), and send their invoices back to the
    exception queue as ERP_SYNC_FAILED. Such an attempt counts like a failed one (the claim
    counted it), so an entry that kills the relay every time ends dead instead of being
    claimed for ever. Committed; the messages of the entries made dead."""
    messages = []
    with conn.transaction():
        rows = conn.execute(
            "UPDATE erp_outbox o SET status = 'dead', lease_until = NULL, updated_at = now(),"
            " last_error = 'the relay stopped without an outcome on attempt ' || o.attempts"
            " || ' of ' || %s || ' (killed, or its host died: the lease ran out)'"
            " || coalesce('; the error before: ' || o.last_error, '')"
            " FROM (SELECT entry_id FROM erp_outbox WHERE status = 'in_flight'"
            "   AND lease_until < now() AND attempts >= %s FOR UPDATE SKIP LOCKED) gone"
            " WHERE o.entry_id = gone.entry_id"
            " RETURNING o.entry_id, o.document_id, o.kind, o.attempts, o.last_error",
            (max_attempts, max_attempts),
        ).fetchall()
        for row in rows:
            _back_to_exception_queue(
                conn, row["entry_id"], row["document_id"], row["kind"], row["attempts"],
                row["last_error"],
            )  # fmt: skip
            messages.append(str(row["last_error"]))
    return messages


def _back_to_exception_queue(
    conn: Conn, entry_id: int, document_id: int, kind: str, attempts: int, message: str
) -> None:
    if kind == "bill":
        conn.execute(
            "UPDATE invoices SET status = 'exception', updated_at = now() WHERE document_id = %s",
            (document_id,),
        )
    detail = {"entry_id": entry_id, "kind": kind, "attempts": attempts, "erp_message": message}
    open_exception(
        conn, document_id, None, [ReasonCode.ERP_SYNC_FAILED.value], {"erp_sync": detail}
    )
    audit(conn, "erp_sync_failed", actor="erp_sync", document_id=document_id, detail=detail)


def next_due_in(conn: Conn) -> float | None:
    """Seconds until the next entry is due (0 when one is due now; None when none waits)."""
    # not greatest(0, ...) in SQL: it skips a NULL, and "none waits" would read as "due now"
    row = conn.execute(
        "SELECT extract(epoch FROM min(CASE WHEN status = 'pending' THEN"
        " next_attempt_at ELSE lease_until END) - now())::float8 AS s FROM erp_outbox"
        " WHERE status IN ('pending', 'in_flight')"
    ).fetchone()
    return None if row is None or row["s"] is None else max(0.0, float(row["s"]))


def listen(conn: Conn) -> None:
    """LISTEN on the outbox channel (on an autocommit connection kept for waiting)."""
    conn.execute(f'LISTEN "{channel(conn)}"')


def wait_for_notify(conn: Conn, timeout: float) -> bool:
    """Wait up to `timeout` seconds for an outbox NOTIFY; True when one arrived."""
    for _ in conn.notifies(timeout=timeout, stop_after=1):
        return True
    return False


@contextmanager
def erp_lock(url: str, schema: str, key: str, timeout_seconds: float) -> Iterator[None]:
    """Hold a Postgres advisory lock named `key` for the `with` block, on a connection of its
    own, so that relays (of any schema on this server) take turns: two relays must not both
    find no supplier party in the ERP and both create one. Waits at most `timeout_seconds`
    (TimeoutError). A relay killed while holding it loses its connection, and so the lock."""
    with db.connect(url, schema, autocommit=True) as conn:
        wait_ms = max(1, int(timeout_seconds * 1000))  # 0 would mean no limit
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{wait_ms}ms",))
        try:
            conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (key,))
        except psycopg.errors.LockNotAvailable as exc:
            raise TimeoutError(
                f"another relay held the lock {key!r} for {timeout_seconds:.1f} s"
            ) from exc
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (key,))
