"""The transactional outbox and its relay on a real Postgres, with the en16931 file adapter."""

from __future__ import annotations

import random
from pathlib import Path

import psycopg
import pytest
from psycopg.types.json import Jsonb

from erp_sync.en16931 import En16931Files
from erp_sync.relay import CircuitBreaker, Relay, backoff_seconds, check_timeouts, sync
from invoices.erp_payload import PayloadIncomplete
from invoices.settings import load_settings
from staging import db, outbox, outbox_relay
from synthetic import generate_corpus
from tests.erp_support import file_erp_settings, stage_corpus

pytestmark = pytest.mark.slow  # a generated corpus and the EN 16931 rules compiled once: ~35 s


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("erp_corpus")
    generate_corpus(out, invoices=24, seed=11, scanned_share=0.0, workers=1)
    return out


@pytest.fixture
def erp_settings(database_url, fresh_schema, corpus, tmp_path):
    return file_erp_settings(
        database_url,
        fresh_schema,
        corpus,
        tmp_path / "outbound",
        erp_backoff_base_seconds=0.01,
        erp_backoff_max_seconds=0.05,
        erp_lease_seconds=30,
        erp_call_timeout_seconds=10,
    )


@pytest.fixture
def staged(conn, corpus) -> list[int]:
    return stage_corpus(conn, corpus, limit=6)


def test_approval_and_its_entry_are_one_transaction_and_reapproval_adds_nothing(
    conn, staged, erp_settings
):
    first = outbox.approve_invoice(conn, staged[0], "clerk.anna", 1, settings=erp_settings)
    again = outbox.approve_invoice(conn, staged[0], "clerk.anna", 1, settings=erp_settings)
    assert first.created and not again.created and first.entry_id == again.entry_id
    row = conn.execute(
        "SELECT i.status, i.approval_version, i.approved_by, o.status AS entry, o.payload"
        " FROM invoices i JOIN erp_outbox o USING (document_id) WHERE document_id = %s",
        (staged[0],),
    ).fetchall()
    assert len(row) == 1 and row[0]["status"] == "approved" and row[0]["entry"] == "pending"
    assert row[0]["approval_version"] == 1 and row[0]["approved_by"] == "clerk.anna"
    assert row[0]["payload"]["lines"][0]["erp_account"].startswith("E")
    with pytest.raises(outbox.ApprovalRefused):
        outbox.approve_invoice(conn, staged[0], "clerk.anna", 3, settings=erp_settings)


def test_the_database_refuses_an_unapproved_invoice_in_the_outbox(conn, staged):
    for status in ("staged", "exception", "rejected"):
        conn.execute("UPDATE invoices SET status = %s WHERE document_id = %s", (status, staged[1]))
        with pytest.raises(psycopg.errors.CheckViolation, match="not approved"):
            conn.execute(
                "INSERT INTO erp_outbox (document_id, kind, approval_version, idempotency_key,"
                " payload) VALUES (%s, 'bill', 0, 'forged', %s)",
                (staged[1], Jsonb({})),
            )
        conn.rollback()


def test_the_idempotency_key_is_unique(conn, staged, erp_settings):
    outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=erp_settings)
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO erp_outbox (document_id, kind, approval_version, idempotency_key,"
            " payload) SELECT document_id, kind, approval_version, idempotency_key, payload"
            " FROM erp_outbox"
        )
    conn.rollback()


def test_an_unmappable_invoice_is_not_approved(conn, staged, erp_settings):
    settings = erp_settings.model_copy(update={"erp_gl_accounts": {}})
    with pytest.raises(PayloadIncomplete, match="has no ERP account"):
        outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=settings)
    row = conn.execute("SELECT status FROM invoices WHERE document_id = %s", (staged[0],))
    assert row.fetchone()["status"] == "staged"
    assert outbox.outbox_counts(conn)["pending"] == 0


def test_relay_writes_one_file_per_bill_and_records_receipts(conn, staged, erp_settings):
    for document_id in staged:
        outbox.approve_invoice(conn, document_id, "clerk", 1, settings=erp_settings)
    stats = sync(erp_settings, max_seconds=60)
    assert stats.done == len(staged) and stats.dead == 0
    files = sorted(erp_settings.erp_outbound_dir.glob("*.xml"))
    assert len(files) == len(staged)
    assert not list(erp_settings.erp_outbound_dir.glob(".tmp-*"))
    rows = conn.execute("SELECT status, erp_id FROM invoices ORDER BY document_id").fetchall()
    assert {r["status"] for r in rows} == {"synced"}
    assert sorted(r["erp_id"] for r in rows) == [f.name for f in files]
    audited = conn.execute("SELECT count(*) AS n FROM audit_log WHERE action = 'erp_synced'")
    assert audited.fetchone()["n"] == len(staged)
    conn.commit()
    # a second run finds nothing to do; a reversal goes through the same outbox
    assert sync(erp_settings, max_seconds=10).done == 0
    reversal = outbox.void_invoice(conn, staged[0], "clerk", "returned goods")
    with pytest.raises(outbox.AlreadyVoided) as again:  # voiding twice adds nothing
        outbox.void_invoice(conn, staged[0], "clerk", "again")
    assert again.value.entry_id == reversal
    assert sync(erp_settings, max_seconds=30).done == 1
    assert len(list(erp_settings.erp_outbound_dir.glob("*reversal*.xml"))) == 1


def test_a_relay_that_lost_its_lease_cannot_mark_done(conn, staged, erp_settings):
    outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=erp_settings)
    first = outbox_relay.claim_entry(conn, "relay-a", 30)
    assert first is not None and outbox_relay.claim_entry(conn, "relay-b", 30) is None
    conn.execute("UPDATE erp_outbox SET lease_until = now() - interval '1 second'")
    conn.commit()
    second = outbox_relay.claim_entry(conn, "relay-b", 30)
    assert second is not None and second.attempt == first.attempt + 1
    assert not outbox_relay.complete_entry(conn, first, {"erp_id": "stale"})
    assert outbox_relay.complete_entry(conn, second, {"erp_id": "fresh"})
    row = conn.execute("SELECT erp_id FROM invoices WHERE document_id = %s", (staged[0],))
    assert row.fetchone()["erp_id"] == "fresh"


def test_an_erp_that_keeps_failing_sends_the_invoice_back_as_erp_sync_failed(
    conn, staged, erp_settings, tmp_path
):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbound folder should be")
    settings = erp_settings.model_copy(
        update={
            "erp_outbound_dir": blocked / "out",
            "erp_max_attempts": 3,
            "erp_breaker_failures": 100,
        }
    )
    outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=settings)
    stats = sync(settings, max_seconds=30)
    assert stats.dead == 1 and stats.retried == 2
    row = conn.execute(
        "SELECT i.status, e.reason_codes, e.details FROM invoices i JOIN exception_queue e"
        " USING (document_id) WHERE document_id = %s AND e.status = 'open'",
        (staged[0],),
    ).fetchone()
    assert row["status"] == "exception" and row["reason_codes"] == ["ERP_SYNC_FAILED"]
    assert "cannot write" in row["details"]["erp_sync"]["erp_message"]
    conn.commit()
    # approved again (a new version) after the clerk fixed it, it goes out
    outbox.approve_invoice(conn, staged[0], "clerk", 2, settings=erp_settings)
    assert sync(erp_settings, max_seconds=30).done == 1


def test_a_rejected_payload_is_dead_at_once_and_the_others_go_on(conn, staged, erp_settings):
    for document_id in staged[:3]:
        outbox.approve_invoice(conn, document_id, "clerk", 1, settings=erp_settings)
    # a payload tampered with after approval (the trigger that keeps payloads fixed set aside)
    conn.execute("ALTER TABLE erp_outbox DISABLE TRIGGER erp_outbox_fixed_identity")
    conn.execute(
        "UPDATE erp_outbox SET payload = jsonb_set(payload, '{gross_total}', '\"1.00\"')"
        " WHERE document_id = %s",
        (staged[1],),
    )
    conn.commit()
    stats = sync(erp_settings, max_seconds=60)
    assert (stats.done, stats.dead) == (2, 1)
    assert "BR-CO-15" in stats.dead_messages[0]


def test_notify_wakes_a_waiting_relay(conn, staged, erp_settings):
    relay = Relay(erp_settings, En16931Files(erp_settings.erp_outbound_dir))
    try:
        assert not outbox_relay.wait_for_notify(relay.listener, 0.2)
        outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=erp_settings)
        assert outbox_relay.wait_for_notify(relay.listener, 5)
    finally:
        relay.close()


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(1)
    waits = [[backoff_seconds(a, 2, 60, rng) for _ in range(200)] for a in (1, 2, 3, 8)]
    assert max(waits[0]) <= 2 and max(waits[1]) <= 4 and max(waits[2]) <= 8
    assert max(waits[3]) <= 60 and max(waits[3]) > 30
    assert len({round(w, 6) for w in waits[2]}) > 150  # jitter spreads the retries


def test_breaker_opens_after_consecutive_failures_and_probes_after_the_cooldown():
    now = [0.0]
    breaker = CircuitBreaker(failures=3, cooldown=10, clock=lambda: now[0])
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.allow()
    breaker.record_failure()
    assert not breaker.allow() and breaker.times_opened == 1
    now[0] = 9.9
    assert not breaker.allow()
    now[0] = 10.0
    assert breaker.allow() and breaker.state == "half_open"
    breaker.record_failure()  # the probe failed: open again
    assert not breaker.allow() and breaker.times_opened == 2
    now[0] = 20.0
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"


def test_a_call_timeout_outside_half_the_lease_is_refused():
    with pytest.raises(ValueError, match="at most half"):
        check_timeouts(load_settings(erp_lease_seconds=20, erp_call_timeout_seconds=15))


def test_migration_applies_to_an_empty_schema(database_url, fresh_schema):
    with db.connection(database_url, fresh_schema) as c:
        assert db.current_version(c) >= 30


def test_straight_through_approval_by_the_pipeline(conn, staged, erp_settings):
    assert outbox.approve_straight_through(conn, staged[0], erp_settings)
    unmapped = erp_settings.model_copy(update={"erp_tax_codes": {}})
    assert not outbox.approve_straight_through(conn, staged[1], unmapped)
    rows = conn.execute(
        "SELECT i.document_id, i.status, i.approved_by, e.reason_codes FROM invoices i"
        " LEFT JOIN exception_queue e ON e.document_id = i.document_id AND e.status = 'open'"
        " WHERE i.document_id IN (%s, %s) ORDER BY i.document_id",
        (staged[0], staged[1]),
    ).fetchall()
    assert (rows[0]["status"], rows[0]["approved_by"], rows[0]["reason_codes"]) == (
        "approved",
        "pipeline",
        None,
    )
    assert (rows[1]["status"], rows[1]["reason_codes"]) == ("exception", ["ERP_SYNC_FAILED"])
    assert outbox.outbox_counts(conn)["pending"] == 1


def test_a_call_that_timed_out_is_not_retried_before_its_lease_ends(conn, staged, erp_settings):
    """An ERP that took the request and never answered may still commit it: a retry beside
    it could post a second bill, so the entry waits out the attempt's lease."""
    import socket

    from erp_sync.adapters import ErpTimeout
    from erp_sync.tryton import TrytonAdapter

    with socket.socket() as silent:  # takes connections on loopback and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        settings = erp_settings.model_copy(
            update={
                "erp_adapter": "tryton",
                "erp_url": f"http://127.0.0.1:{silent.getsockname()[1]}",
                "erp_database": "ap",
                "erp_password": "x",
                "erp_call_timeout_seconds": 1,
                "erp_lease_seconds": 6,
                "erp_breaker_failures": 100,
            }
        )
        outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=settings)
        conn.commit()
        adapter = TrytonAdapter.from_settings(settings)
        with pytest.raises(ErpTimeout):
            adapter.probe()
        stats = sync(settings, adapter, max_seconds=3)
    assert stats.retried == 1 and stats.dead == 0
    row = conn.execute(
        "SELECT attempts, status, last_error, extract(epoch FROM next_attempt_at - updated_at)"
        " AS wait FROM erp_outbox"
    ).fetchone()
    assert row["attempts"] == 1 and row["status"] == "pending"
    assert "ErpTimeout" in row["last_error"] and row["wait"] >= 6 - 1 - 0.5


class _RelayKilled(BaseException):
    """Stands for SIGKILL in the middle of a push: nothing the relay could catch and record."""


class _PoisonAdapter:
    """Every push of this entry takes the relay down with it (a payload that crashes it)."""

    name = "poison"

    def __init__(self) -> None:
        self.pushes = 0

    def push(self, entry):
        self.pushes += 1
        raise _RelayKilled

    def find(self, entry):
        return None

    def probe(self):
        return None


def test_attempts_lost_to_a_killed_relay_count_and_the_entry_ends_dead(conn, staged, erp_settings):
    """An entry whose push kills the relay every time: each lost attempt counts toward
    erp_max_attempts (its lease ran out without an outcome), so after the last one the next
    relay makes it dead as ERP_SYNC_FAILED instead of taking it up again for ever."""
    settings = erp_settings.model_copy(
        update={"erp_max_attempts": 3, "erp_lease_seconds": 0.4, "erp_call_timeout_seconds": 0.2}
    )
    outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=settings)
    conn.commit()
    adapter, killed, stats = _PoisonAdapter(), 0, None
    for _ in range(6):  # relays restarted after each crash, as a supervisor would
        relay = Relay(settings, adapter)
        try:
            stats = relay.run(max_seconds=5)
            break
        except _RelayKilled:
            killed += 1
        finally:
            relay.close()
    assert (killed, adapter.pushes) == (3, 3)
    assert stats is not None and stats.dead == 1 and stats.done == 0
    row = conn.execute(
        "SELECT o.status, o.attempts, o.last_error, i.status AS invoice, e.reason_codes,"
        " e.details FROM erp_outbox o JOIN invoices i USING (document_id)"
        " JOIN exception_queue e ON e.document_id = o.document_id AND e.status = 'open'"
    ).fetchone()
    assert (row["status"], row["attempts"], row["invoice"]) == ("dead", 3, "exception")
    assert row["reason_codes"] == ["ERP_SYNC_FAILED"]
    assert "without an outcome on attempt 3 of 3" in row["details"]["erp_sync"]["erp_message"]


def test_void_command_queues_one_credit_note_and_refuses_the_rest(
    conn, staged, erp_settings, monkeypatch, capsys
):
    from cli.main import main

    outbox.approve_invoice(conn, staged[0], "clerk", 1, settings=erp_settings)
    conn.commit()
    assert sync(erp_settings, max_seconds=30).done == 1
    for name, value in {
        "DATABASE_URL": erp_settings.database_url,
        "INVOICES_DB_SCHEMA": erp_settings.db_schema,
        "INVOICES_ERP_VOID_ACTOR": "clerk.cli",
    }.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["void", str(staged[0]), "--reason", "returned goods"]) == 0
    assert "credit note queued" in capsys.readouterr().out
    assert main(["void", str(staged[0]), "--reason", "again"]) == 2
    assert "was voided" in capsys.readouterr().err
    assert main(["void", str(staged[1]), "--reason", "never sent"]) == 2
    assert "not synced" in capsys.readouterr().err
    assert main(["void", "999999", "--reason", "no such"]) == 2
    assert "no staged invoice 999999" in capsys.readouterr().err
    rows = conn.execute(
        "SELECT o.kind, o.status, a.actor, a.detail ->> 'reason' AS reason FROM erp_outbox o"
        " LEFT JOIN audit_log a ON a.document_id = o.document_id AND a.action = 'invoice_voided'"
        " WHERE o.kind = 'reversal'"
    ).fetchall()
    assert [(r["status"], r["actor"], r["reason"]) for r in rows] == [
        ("pending", "clerk.cli", "returned goods")
    ]
    assert sync(erp_settings, max_seconds=30).done == 1
    assert len(list(erp_settings.erp_outbound_dir.glob("*reversal*.xml"))) == 1


def test_drain_relays_what_is_due_and_makes_no_adapter_when_nothing_is(
    conn, staged, erp_settings, monkeypatch
):
    import erp_sync.relay as relay_module

    def no_adapter(settings, name=None):
        raise AssertionError("an adapter was made with nothing due")

    monkeypatch.setattr(relay_module, "adapter_for", no_adapter)
    assert relay_module.drain(erp_settings)["done"] == 0
    monkeypatch.undo()
    for document_id in staged[:2]:
        outbox.approve_invoice(conn, document_id, "clerk", 1, settings=erp_settings)
    conn.commit()
    counts = relay_module.drain(erp_settings)
    assert (counts["done"], counts["dead"]) == (2, 0)
    assert counts["left"] == {"pending": 0, "in_flight": 0, "done": 2, "dead": 0}
