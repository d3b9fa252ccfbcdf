"""The outbox relay: claim due entries, push them to the ERP, record the outcome under the lease.

One loop, plain Python: it claims one entry at a time (`FOR UPDATE SKIP LOCKED`, so several
relays can run side by side), commits the claim, calls the adapter, and marks the entry done only
if it still holds it. A refusal by the ERP makes the entry dead at once (its invoice goes back to
the exception queue as ERP_SYNC_FAILED); an ERP fault is retried with exponential backoff and full
jitter, and consecutive faults open a circuit breaker that stops calling the ERP until a probe
after the cool-down succeeds. LISTEN/NOTIFY wakes the relay when an approval queues an entry;
polling every `erp_poll_seconds` is the fallback. A whole push must finish within
`erp_call_timeout_seconds`, which must stay at most half the lease.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from erp_sync.adapters import ErpAdapter, ErpRejected, ErpTimeout, ErpUnavailable, adapter_for
from invoices.settings import Settings
from staging import db, outbox, outbox_relay

log = logging.getLogger(__name__)


def backoff_seconds(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """The wait before the next attempt: exponential in the attempt number, capped, with full
    jitter (uniform between 0 and the exponential), so retries of many entries spread out."""
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return rng.uniform(0, ceiling)


@dataclass
class CircuitBreaker:
    """Closed: calls go through. After `failures` consecutive faults it opens: no calls until
    `cooldown` seconds have passed; then half-open: one probe decides between closed and open."""

    failures: int
    cooldown: float
    clock: Callable[[], float] = time.monotonic
    state: str = "closed"
    consecutive: int = 0
    opened_at: float = 0.0
    times_opened: int = 0

    def allow(self) -> bool:
        """Whether a call may go to the ERP now (moving an open breaker to half-open)."""
        if self.state == "open" and self.clock() - self.opened_at >= self.cooldown:
            self.state = "half_open"
        return self.state != "open"

    def seconds_until_probe(self) -> float:
        """How long an open breaker still waits before its probe."""
        return max(0.0, self.cooldown - (self.clock() - self.opened_at))

    def record_success(self) -> None:
        """A call worked: close."""
        self.state, self.consecutive = "closed", 0

    def record_failure(self) -> None:
        """A call failed on the ERP's side: open after too many in a row (or a failed probe)."""
        self.consecutive += 1
        if self.state == "half_open" or self.consecutive >= self.failures:
            if self.state != "open":
                self.times_opened += 1
                log.warning("ERP circuit breaker open for %.0f s", self.cooldown)
            self.state, self.opened_at = "open", self.clock()


@dataclass
class SyncStats:
    """What one relay run did, and where its time went (the ERP's part and its own)."""

    done: int = 0
    adopted: int = 0
    retried: int = 0
    dead: int = 0
    lost_lease: int = 0
    breaker_opened: int = 0
    erp_seconds: float = 0.0
    seconds: float = 0.0
    dead_messages: list[str] = field(default_factory=list)

    @property
    def relay_seconds(self) -> float:
        """The relay's own time: everything but the adapter's calls."""
        return max(0.0, self.seconds - self.erp_seconds)

    def as_counts(self) -> dict[str, Any]:
        """The figures as a JSON-ready dict (`invoices sync` prints it, the flow reports it)."""
        counts: dict[str, Any] = {
            k: getattr(self, k)
            for k in ("done", "adopted", "retried", "dead", "lost_lease", "breaker_opened")
        }
        counts.update(
            {k: round(getattr(self, k), 3) for k in ("seconds", "erp_seconds", "relay_seconds")}
        )
        return counts


def check_timeouts(settings: Settings) -> None:
    """Refuse settings whose push timeout is not well inside the lease (a push outliving its
    lease could run beside a second relay that took the entry over)."""
    if settings.erp_call_timeout_seconds * 2 > settings.erp_lease_seconds:
        raise ValueError(
            f"erp_call_timeout_seconds ({settings.erp_call_timeout_seconds}) must be at most half"
            f" of erp_lease_seconds ({settings.erp_lease_seconds})"
        )


class Relay:
    """The relay loop over one schema's outbox and one adapter."""

    def __init__(self, settings: Settings, adapter: ErpAdapter | None = None) -> None:
        check_timeouts(settings)
        assert settings.database_url
        self.settings = settings
        self.adapter = adapter or adapter_for(settings)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.breaker = CircuitBreaker(
            settings.erp_breaker_failures, settings.erp_breaker_cooldown_seconds
        )
        self.rng = random.Random()
        self.stats = SyncStats()
        self.idle = False
        self.conn = db.connect(settings.database_url, settings.db_schema)
        self.listener = db.connect(settings.database_url, settings.db_schema, autocommit=True)
        outbox_relay.listen(self.listener)

    def close(self) -> None:
        """Close both connections."""
        self.conn.close()
        self.listener.close()

    def run(
        self,
        *,
        until_empty: bool = True,
        until_idle: bool = False,
        max_seconds: float | None = None,
    ) -> SyncStats:
        """Relay entries until nothing is left to do (`until_empty`: nothing pending or in
        flight), until nothing is due now (`until_idle`: not waiting for retries due later,
        leases held by other relays or new approvals, nor for an open breaker), or until
        `max_seconds` passed."""
        started = time.perf_counter()
        self.stats.breaker_opened = self.breaker.times_opened
        while max_seconds is None or time.perf_counter() - started < max_seconds:
            if self.step(wait=not until_idle):
                continue
            if until_idle and (self.idle or self.breaker.state == "open"):
                break
            if until_empty and self._nothing_left():
                break
        self.stats.seconds += time.perf_counter() - started
        self.stats.breaker_opened = self.breaker.times_opened
        return self.stats

    def step(self, *, wait: bool = True) -> bool:
        """Do one thing (probe, push one entry, or wait unless `wait` is off); True when an
        entry was worked. `idle` tells afterwards whether nothing was due."""
        self.idle = False
        if not self.breaker.allow():
            if not wait:
                return False
            time.sleep(min(self.breaker.seconds_until_probe(), self.settings.erp_poll_seconds))
            return False
        if self.breaker.state == "half_open":
            return self._probe()
        for message in outbox_relay.bury_abandoned(self.conn, self.settings.erp_max_attempts):
            self.stats.dead += 1
            self.stats.dead_messages.append(message)
            log.error("entry dead: %s", message)
        entry = outbox_relay.claim_entry(
            self.conn, self.worker, self.settings.erp_lease_seconds, self.settings.erp_max_attempts
        )
        if entry is None:
            self.idle = True
            if not wait:
                self.conn.commit()
                return False
            due = outbox_relay.next_due_in(self.conn)
            self.conn.commit()
            timeout = self.settings.erp_poll_seconds if due is None else min(due, 1.0)
            outbox_relay.wait_for_notify(self.listener, max(timeout, 0.05))
            return False
        self._push(entry)
        return True

    def _probe(self) -> bool:
        try:
            self.adapter.probe()
        except ErpUnavailable as exc:
            log.warning("ERP probe failed: %s", exc)
            self.breaker.record_failure()
            return False
        log.info("ERP answers again: circuit breaker closed")
        self.breaker.record_success()
        return False

    def _push(self, entry: outbox_relay.ClaimedEntry) -> None:
        called = time.perf_counter()
        try:
            receipt = self.adapter.push(entry)
        except ErpRejected as exc:
            self.stats.erp_seconds += time.perf_counter() - called
            self._fail(entry, exc.message, permanent=True)
            return
        except (ErpUnavailable, OSError) as exc:
            elapsed = time.perf_counter() - called
            self.stats.erp_seconds += elapsed
            self.breaker.record_failure()
            # the ERP may still be working on a call that timed out: not again before the
            # lease ends, so the retry cannot run beside it (and, say, create a second bill)
            wait = self.settings.erp_lease_seconds - elapsed if isinstance(exc, ErpTimeout) else 0
            self._fail(entry, f"{type(exc).__name__}: {exc}", permanent=False, at_least=wait)
            return
        self.stats.erp_seconds += time.perf_counter() - called
        self.breaker.record_success()
        if outbox_relay.complete_entry(self.conn, entry, receipt.as_json()):
            self.stats.done += 1
            self.stats.adopted += receipt.adopted
        else:
            self.stats.lost_lease += 1
            log.warning("entry %s was taken over by another relay", entry.entry_id)

    def _fail(
        self,
        entry: outbox_relay.ClaimedEntry,
        message: str,
        *,
        permanent: bool,
        at_least: float = 0,
    ) -> None:
        delay = max(
            at_least,
            backoff_seconds(
                entry.attempt,
                self.settings.erp_backoff_base_seconds,
                self.settings.erp_backoff_max_seconds,
                self.rng,
            ),
        )
        status = outbox_relay.fail_entry(
            self.conn,
            entry,
            message,
            permanent=permanent,
            max_attempts=self.settings.erp_max_attempts,
            retry_in_seconds=delay,
        )
        if status == "dead":
            self.stats.dead += 1
            self.stats.dead_messages.append(message)
            log.error("entry %s dead: %s", entry.entry_id, message)
        elif status == "pending":
            self.stats.retried += 1
            log.warning("entry %s: retry in %.1f s: %s", entry.entry_id, delay, message)

    def _nothing_left(self) -> bool:
        counts = outbox.outbox_counts(self.conn)
        self.conn.commit()
        return counts["pending"] + counts["in_flight"] == 0


def sync(
    settings: Settings,
    adapter: ErpAdapter | None = None,
    *,
    until_empty: bool = True,
    max_seconds: float | None = None,
) -> SyncStats:
    """Run the relay over the settings' outbox: `invoices sync` calls this."""
    relay = Relay(settings, adapter)
    try:
        return relay.run(until_empty=until_empty, max_seconds=max_seconds)
    finally:
        relay.close()


def drain(settings: Settings) -> dict[str, Any]:
    """Relay the entries due now, once, and return the counts with what is left in the outbox
    (`left`): the relay flow (`flows.relay`) runs this after each batch and on its schedule.
    When nothing is due no adapter is made (the files adapter compiles its rules, Tryton
    logs in)."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        due = outbox_relay.next_due_in(conn)
        left = outbox.outbox_counts(conn)
    if due is None or due > 0:
        return {**SyncStats().as_counts(), "left": left}
    relay = Relay(settings)
    try:
        stats = relay.run(until_empty=False, until_idle=True)
        left = outbox.outbox_counts(relay.conn)
        relay.conn.commit()
    finally:
        relay.close()
    return {**stats.as_counts(), "left": left}
