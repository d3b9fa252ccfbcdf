"""Approvals from the review page reach the ERP outbox: the page's decision and bulk approval go
through `staging.outbox.approve_invoice` in the transaction of the item's resolution and audit
entry, keep the page's four-eyes rules, and change nothing for an invoice that cannot be mapped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from erp_sync.relay import sync
from staging import corrections, outbox_relay, store
from staging import review as q
from staging import review_actions as actions
from synthetic import generate_corpus
from tests.erp_support import file_erp_settings, stage_corpus

pytestmark = pytest.mark.slow  # a generated corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("review_outbox_corpus")
    generate_corpus(out, invoices=12, seed=5, scanned_share=0.0, workers=1)
    return out


@pytest.fixture
def erp_settings(database_url, fresh_schema, corpus, tmp_path):
    return file_erp_settings(database_url, fresh_schema, corpus, tmp_path / "outbound",
                             erp_business_rules=False)


@pytest.fixture
def items(conn, corpus) -> list[int]:
    """Five staged invoices, each an open LOW_CONFIDENCE_TOTAL exception; their exception ids."""
    ids = []
    for doc in stage_corpus(conn, corpus, limit=5):
        conn.execute("UPDATE invoices SET status = 'exception' WHERE document_id = %s", (doc,))
        ids.append(store.open_exception(conn, doc, None, ["LOW_CONFIDENCE_TOTAL"], {}))
    conn.commit()
    return ids


def claimed(conn, eid: int, me: str) -> int:
    """Claim the item for `me`; its version."""
    assert q.claim(conn, eid, me, 900)["claimed"]
    version = conn.execute("SELECT version FROM exception_queue WHERE exception_id = %s",
                           (eid,)).fetchone()["version"]
    conn.commit()
    return int(version)


def entries(conn, eid: int) -> list[dict]:
    return conn.execute(
        "SELECT o.entry_id, o.kind, o.status, o.approval_version FROM erp_outbox o"
        " JOIN exception_queue e USING (document_id) WHERE e.exception_id = %s", (eid,),
    ).fetchall()


def state(conn, eid: int) -> dict:
    """What an approval would change: the item, its invoice, the outbox, the log, clerk time."""
    return conn.execute(
        "SELECT e.status, e.version, e.resolution, i.status AS invoice, i.approval_version,"
        " (SELECT count(*) FROM erp_outbox) AS outbox, (SELECT count(*) FROM audit_log) AS log,"
        " (SELECT count(*) FROM clerk_item_time) AS timed FROM exception_queue e"
        " JOIN invoices i USING (document_id) WHERE e.exception_id = %s", (eid,),
    ).fetchone()


def test_a_page_approval_queues_the_invoice_once(conn, items, erp_settings):
    eid = items[0]
    version = claimed(conn, eid, "anna")
    actions.decide(conn, eid, version, "anna", "approve", settings=erp_settings)
    conn.commit()
    queued = entries(conn, eid)
    assert [(e["kind"], e["status"], e["approval_version"]) for e in queued] == [
        ("bill", "pending", 1)]
    log = conn.execute(
        "SELECT action, actor, detail FROM audit_log WHERE action IN ('review_approve',"
        " 'invoice_approved') ORDER BY audit_id").fetchall()
    assert [(r["action"], r["actor"]) for r in log] == [
        ("invoice_approved", "anna"), ("review_approve", "anna")]
    assert log[1]["detail"]["outbox_entry"] == queued[0]["entry_id"]
    row = state(conn, eid)
    assert (row["status"], row["invoice"], row["approval_version"]) == (
        "resolved", "approved", 1)
    with pytest.raises(q.StaleVersion, match="already resolved"):  # the second click
        actions.decide(conn, eid, version, "anna", "approve", settings=erp_settings)
    conn.rollback()
    assert entries(conn, eid) == queued


def test_bulk_approve_queues_each_invoice_and_sync_pushes_them(conn, items, erp_settings):
    approved, refused = actions.bulk_approve(conn, items, "anna", "LOW_CONFIDENCE_TOTAL", None,
                                             settings=erp_settings)
    conn.commit()
    assert approved == items and refused == {}
    assert [len(entries(conn, eid)) for eid in items] == [1] * len(items)
    again, refused = actions.bulk_approve(conn, items, "anna", "LOW_CONFIDENCE_TOTAL", None,
                                          settings=erp_settings)
    assert again == [] and set(refused) == set(items)
    assert [len(entries(conn, eid)) for eid in items] == [1] * len(items)
    conn.commit()
    stats = sync(erp_settings, max_seconds=60)
    assert (stats.done, stats.dead) == (len(items), 0)
    synced = conn.execute("SELECT status, erp_id FROM invoices").fetchall()
    assert {r["status"] for r in synced} == {"synced"} and all(r["erp_id"] for r in synced)
    assert outbox_relay.claim_entry(conn, "late", 30) is None


def test_an_unmappable_invoice_is_refused_with_the_reason_and_nothing_changes(
    conn, items, erp_settings
):
    unmapped = erp_settings.model_copy(update={"erp_gl_accounts": {}})
    eid = items[0]
    version = claimed(conn, eid, "anna")
    before = state(conn, eid)
    with pytest.raises(q.NotApprovable, match="cannot be sent to the ERP.*has no ERP account"):
        actions.decide(conn, eid, version, "anna", "approve", settings=unmapped)
    conn.rollback()
    assert state(conn, eid) == before and not entries(conn, eid)
    approved, refused = actions.bulk_approve(conn, items[:2], "anna", "LOW_CONFIDENCE_TOTAL",
                                             None, settings=unmapped)
    conn.commit()
    assert approved == [] and all("has no ERP account" in why for why in refused.values())
    assert state(conn, eid) == before
    assert state(conn, items[1])["status"] == "open" and not entries(conn, items[1])
    # the same clerk approves once the mapping knows the account
    actions.decide(conn, eid, version, "anna", "approve", settings=erp_settings)
    assert len(entries(conn, eid)) == 1


def test_the_page_rules_still_hold_before_the_outbox(conn, items, erp_settings):
    eid, other = items[0], items[1]
    doc = conn.execute("SELECT document_id FROM exception_queue WHERE exception_id = %s",
                       (eid,)).fetchone()["document_id"]
    staged = conn.execute("SELECT fields -> 'total' AS fv FROM invoices WHERE document_id = %s",
                          (doc,)).fetchone()["fv"]
    corrections.insert_correction(conn, doc, "total", staged, staged["value"], clerk="anna",
                                  changes_money=True)
    version = claimed(conn, eid, "anna")
    with pytest.raises(q.FourEyesViolation, match="second person"):
        actions.decide(conn, eid, version, "anna", "approve", settings=erp_settings)
    approved, refused = actions.bulk_approve(conn, [eid], "bob", "LOW_CONFIDENCE_TOTAL", None,
                                             settings=erp_settings)
    assert approved == [] and "amount was corrected" in refused[eid]
    q.release(conn, eid, "anna")
    version = claimed(conn, eid, "bob")
    actions.decide(conn, eid, version, "bob", "approve", settings=erp_settings)
    assert len(entries(conn, eid)) == 1
    vendor = conn.execute("SELECT vendor_id FROM invoices i JOIN exception_queue e"
                          " USING (document_id) WHERE e.exception_id = %s",
                          (other,)).fetchone()["vendor_id"]
    version = claimed(conn, other, "anna")
    actions.propose_bank_change(conn, other, version, "anna", vendor, "DE89370400440532013000")
    q.release(conn, other, "anna")
    version = claimed(conn, other, "bob")
    with pytest.raises(q.FourEyesViolation, match="bank-detail change"):
        actions.decide(conn, other, version, "bob", "approve", settings=erp_settings)
    assert not entries(conn, other)
