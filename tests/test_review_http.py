"""The review page over real HTTP against a live server: roles, CSRF and origin, four eyes,
claims and versions, bad input. A generated batch is staged once for the module."""

from __future__ import annotations

import re

import httpx
import pytest

from staging import db
from tests.conftest import throwaway_schema
from tests.review_batch import PASSWORD, live_server, stage_batch

pytestmark = [pytest.mark.db, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    from invoices.settings import load_settings

    tmp = tmp_path_factory.mktemp("review")
    with throwaway_schema(database_url) as schema:
        s = load_settings(database_url=database_url, db_schema=schema, data_dir=tmp / "data")
        info = stage_batch(s, tmp / "corpus", invoices=10)
        with live_server(info["settings"]) as base:
            yield {"base": base, "settings": s, **info}


def login(site, name: str) -> httpx.Client:
    c = httpx.Client(base_url=site["base"], headers={"Origin": site["base"]}, timeout=30)
    r = c.post("/login", data={"user_name": name, "password": PASSWORD})
    assert r.status_code == 303, r.text
    return c


def page_state(c: httpx.Client, eid: int) -> tuple[str, int, str]:
    r = c.get(f"/items/{eid}")
    assert r.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    version = int(re.search(r'name="version" value="(\d+)"', r.text).group(1)) if (
        'name="version"' in r.text) else 0
    return csrf, version, r.text


def db_row(site, sql: str, *args):
    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        return conn.execute(sql, args).fetchall()


@pytest.mark.parametrize("role", ["clerk", "approver", "vendor_admin", "auditor", "admin"])
def test_each_role_logs_in_and_sees_the_queue(site, role):
    c = login(site, role)
    r = c.get("/")
    assert r.status_code == 200 and f"{role} ({role})" in r.text
    assert "LOW_CONFIDENCE_TOTAL" in r.text


def test_wrong_password_and_forged_cookie_refused(site):
    c = httpx.Client(base_url=site["base"], headers={"Origin": site["base"]})
    assert c.post("/login", data={"user_name": "clerk", "password": "nope"}).status_code == 401
    forged = httpx.Client(base_url=site["base"], cookies={"ap_review_session": "admin"})
    assert forged.get("/").status_code == 303  # back to the login page
    assert forged.post("/items/1/comment", data={"body": "x"}).status_code == 401


def test_login_is_throttled(site):
    c = httpx.Client(base_url=site["base"], headers={"Origin": site["base"]})
    codes = [c.post("/login", data={"user_name": "throttled", "password": "bad"}).status_code
             for _ in range(6)]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    # the right password is refused too while throttled
    r = c.post("/login", data={"user_name": "throttled", "password": PASSWORD})
    assert r.status_code == 429


def test_auditor_post_to_every_state_changing_route_refused(site):
    from review import routes
    from review.app import create_app

    app = create_app(site["settings"])
    every = [*app.routes, *routes.router.routes]
    state_changing = sorted({r.path.replace("{exception_id}", "{id}") for r in every
                             if "POST" in getattr(r, "methods", ()) and r.path != "/login"})
    assert len(state_changing) >= 9  # claim, release, field, decision, comment, ... logout
    c = login(site, "auditor")
    csrf, _, _ = page_state(c, site["exceptions"][3])
    before = db_row(site, "SELECT count(*) AS n FROM audit_log")[0]["n"]
    for route in state_changing:
        if route == "/logout":
            continue  # an auditor may end their own session
        r = c.post(route.replace("{id}", str(site["exceptions"][3])),
                   data={"csrf_token": csrf, "version": "1", "decision": "approve", "body": "x",
                         "field": "total", "value": "1", "iban": "x", "proposal_id": "1"})
        assert r.status_code == 403, route
    assert db_row(site, "SELECT count(*) AS n FROM audit_log")[0]["n"] == before


def test_post_without_csrf_or_from_another_origin_refused(site):
    c = login(site, "clerk")
    eid = site["exceptions"][3]
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/comment", data={"body": "no token"})
    assert r.status_code == 403
    r = c.post(f"/items/{eid}/comment", data={"body": "evil", "csrf_token": csrf},
               headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = c.post(f"/items/{eid}/comment", data={"body": "evil", "csrf_token": csrf},
               headers={"Origin": "", "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 403
    assert not db_row(site, "SELECT 1 FROM review_comments WHERE body IN ('evil', 'no token')")


def test_bad_input_gets_a_message_and_stores_nothing(site):
    c = login(site, "clerk")
    eid = site["exceptions"][3]
    assert c.get("/items/999999").status_code == 404
    csrf, version, _ = page_state(c, eid)
    for field, value, message in [
        ("total", "12x.50", "letters"), ("invoice_date", "31.02.2025", "not a calendar date"),
        ("iban", "DE89370400440532013001", "not a valid IBAN"),
    ]:
        r = c.post(f"/items/{eid}/field", data={"csrf_token": csrf, "version": version,
                                                  "field": field, "value": value})
        assert r.status_code == 422 and message in r.text, (field, r.text[:500])
    assert not db_row(site, "SELECT 1 FROM field_corrections WHERE document_id ="
                      " (SELECT document_id FROM exception_queue WHERE exception_id = %s)", eid)
    big = c.post(f"/items/{eid}/comment", data={"csrf_token": csrf, "body": "x" * 1_000_000})
    assert big.status_code == 413
    r = c.post(f"/items/{eid}/comment",
               data={"csrf_token": csrf, "body": "<script>alert(1)</script>"})
    assert r.status_code == 303
    text = c.get(f"/items/{eid}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text


def test_second_user_reads_only_and_stale_save_refused(site):
    eid = site["exceptions"][4]
    a, b = login(site, "clerk"), login(site, "clerk2")
    csrf_a, version, _ = page_state(a, eid)
    csrf_b, _, text_b = page_state(b, eid)
    assert "Read-only: clerk is working on this item" in text_b
    r = b.post(f"/items/{eid}/field", data={"csrf_token": csrf_b, "version": version,
                                             "field": "invoice_number", "value": "B-1"})
    assert r.status_code == 409 and "clerk is working on this item" in r.text
    r = a.post(f"/items/{eid}/field", data={"csrf_token": csrf_a, "version": version,
                                             "field": "invoice_number", "value": "A-1"})
    assert r.status_code == 303
    # the same (now stale) version again: refused with what changed
    r = a.post(f"/items/{eid}/field", data={"csrf_token": csrf_a, "version": version,
                                             "field": "invoice_number", "value": "A-2"})
    assert r.status_code == 409 and "changed since you opened it" in r.text and "A-1" in r.text
    rows = db_row(site, "SELECT i.invoice_number FROM invoices i JOIN exception_queue e"
                  " USING (document_id) WHERE e.exception_id = %s", eid)
    assert rows[0]["invoice_number"] == "A-1"


def leave(site, eid: int) -> None:
    """The item's holder leaves it: the lease expires."""
    db_row(site, "UPDATE exception_queue SET lease_until = now() WHERE exception_id = %s"
           " RETURNING 1", eid)


def outbox_entries(site, eid: int) -> list[dict]:
    return db_row(site, "SELECT o.kind, o.status, o.approval_version, o.idempotency_key"
                  " FROM erp_outbox o JOIN exception_queue e USING (document_id)"
                  " WHERE e.exception_id = %s", eid)


def test_amount_changer_cannot_approve_and_a_second_person_can(site):
    eid = site["exceptions"][5]
    clerk, approver = login(site, "clerk"), login(site, "approver")
    csrf, version, _ = page_state(clerk, eid)
    right = str(db_row(site, "SELECT i.total FROM invoices i JOIN exception_queue e"
                       " USING (document_id) WHERE e.exception_id = %s", eid)[0]["total"])
    r = clerk.post(f"/items/{eid}/field", data={"csrf_token": csrf, "version": version,
                                                 "field": "total", "value": "1.23"})
    assert r.status_code == 303
    csrf, version, text = page_state(clerk, eid)
    reasons = text.split("Reasons:")[1].split("</p>")[0]
    # the checks re-ran on the new total: it no longer adds up with subtotal + tax
    assert "LOW_CONFIDENCE_TOTAL" not in reasons and "ARITHMETIC_SUBTOTAL_TAX_TOTAL" in reasons
    r = clerk.post(f"/items/{eid}/decision", data={"csrf_token": csrf, "version": version,
                                                    "decision": "approve"})
    assert r.status_code == 409 and "second person" in r.text
    clerk.post(f"/items/{eid}/claim", headers={"X-CSRF-Token": csrf})
    leave(site, eid)
    # a total that does not add up cannot become an ERP bill: refused, and nothing changes
    csrf2, version2, _ = page_state(approver, eid)
    audit_before = db_row(site, "SELECT count(*) AS n FROM audit_log")[0]["n"]
    r = approver.post(f"/items/{eid}/decision", data={"csrf_token": csrf2, "version": version2,
                                                       "decision": "approve"})
    assert r.status_code == 422 and "cannot be sent to the ERP" in r.text
    assert "is not the total" in r.text
    item = db_row(site, "SELECT e.status, e.version, i.status AS invoice FROM exception_queue e"
                  " JOIN invoices i USING (document_id) WHERE e.exception_id = %s", eid)[0]
    assert (item["status"], item["version"], item["invoice"]) == ("open", version2, "exception")
    assert not outbox_entries(site, eid)
    assert db_row(site, "SELECT count(*) AS n FROM audit_log")[0]["n"] == audit_before
    leave(site, eid)
    csrf, version, _ = page_state(clerk, eid)  # the clerk puts the printed total back
    r = clerk.post(f"/items/{eid}/field", data={"csrf_token": csrf, "version": version,
                                                 "field": "total", "value": right})
    assert r.status_code == 303
    leave(site, eid)
    csrf2, version2, _ = page_state(approver, eid)
    r = approver.post(f"/items/{eid}/decision", data={"csrf_token": csrf2, "version": version2,
                                                       "decision": "approve"})
    assert r.status_code == 303
    status = db_row(site, "SELECT i.status FROM invoices i JOIN exception_queue e"
                    " USING (document_id) WHERE e.exception_id = %s", eid)[0]["status"]
    assert status == "approved"
    audit = db_row(site, "SELECT actor FROM audit_log WHERE action = 'review_approve'"
                   " AND (detail->>'exception_id')::int = %s", eid)
    assert [a["actor"] for a in audit] == ["approver"]
    assert [(e["kind"], e["status"]) for e in outbox_entries(site, eid)] == [("bill", "pending")]


def test_a_page_correction_reaches_analytics_export_and_retrain(site, tmp_path):
    import json

    from review.service import export_corrections
    from staging import analytics, learning

    eid = site["exceptions"][5]  # the clerk corrected its total on the page (test above)
    s = site["settings"]
    doc = db_row(site, "SELECT document_id FROM exception_queue WHERE exception_id = %s",
                 eid)[0]["document_id"]
    reader = analytics.connect_analytics(s.database_url, s.db_schema)
    try:
        fixes = analytics.load(reader, "corrections", document_id=doc, field="total")
        fixes = fixes.sort_values("correction_id").reset_index(drop=True)
        values = analytics.load(reader, "field_values", document_id=doc, field="total")
    finally:
        reader.close()
    assert fixes["corrected_by"].tolist() == ["clerk", "clerk"]
    assert fixes["new_value"].tolist()[0] == "1.23" and fixes["changes_money"].all()
    first = fixes.iloc[0]
    assert first["method"] == "text_layer" and first["old_confidence"] > 0 and first["page"] == 1
    # the value as extracted (not the clerk's manual one), corrected, to the clerk's last value
    value = values.iloc[0]
    assert value["method"] == "text_layer" and value["value"] == first["old_value"]
    assert value["corrected"] and value["corrected_value"] == fixes.iloc[1]["new_value"]
    export_corrections(s, tmp_path / "labels")
    mine = [json.loads(p.read_text()) for p in (tmp_path / "labels").glob("*.json")]
    label = next(lb for lb in mine if any(c["new"] == "1.23" for c in lb["corrections"]))
    assert label["fields"]["total"] == fixes.iloc[1]["new_value"]
    assert {c["user"] for c in label["corrections"]} == {"clerk"}
    with db.connection(s.database_url, s.db_schema) as conn:
        samples = dict(((d, smp.field), smp) for d, smp in learning.reviewed_samples(conn))
    assert not samples[(doc, "total")].right  # the retrain learns the extractor was wrong


def sync_to_files(site, tmp_path, monkeypatch) -> int:
    """`invoices sync` over the site's schema to EN 16931 files under `tmp_path/outbound`."""
    from cli.main import main

    s = site["settings"]
    for name, value in {"DATABASE_URL": s.database_url, "INVOICES_DB_SCHEMA": s.db_schema,
                        "INVOICES_ERP_ADAPTER": "en16931",
                        "INVOICES_ERP_OUTBOUND_DIR": str(tmp_path / "outbound"),
                        "INVOICES_ERP_BUSINESS_RULES": "false"}.items():
        monkeypatch.setenv(name, value)
    return main(["sync"])


def test_page_approval_enters_the_outbox_once_and_sync_pushes_it(site, tmp_path, monkeypatch,
                                                                    capsys):
    import json

    eid = site["exceptions"][6]
    c = login(site, "approver")
    csrf, version, _ = page_state(c, eid)
    form = {"csrf_token": csrf, "version": version, "decision": "approve"}
    assert c.post(f"/items/{eid}/decision", data=form).status_code == 303
    entries = outbox_entries(site, eid)
    assert [(e["kind"], e["status"], e["approval_version"]) for e in entries] == [
        ("bill", "pending", 1)]
    again = c.post(f"/items/{eid}/decision", data=form)  # a second click: already resolved
    assert again.status_code == 409 and "already resolved" in again.text
    assert outbox_entries(site, eid) == entries
    approval = db_row(site, "SELECT detail FROM audit_log WHERE action = 'review_approve'"
                      " AND (detail->>'exception_id')::int = %s", eid)
    assert len(approval) == 1 and approval[0]["detail"]["outbox_entry"]
    capsys.readouterr()
    assert sync_to_files(site, tmp_path, monkeypatch) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["dead"] == 0
    row = db_row(site, "SELECT i.document_id, i.status, i.erp_id FROM invoices i"
                 " JOIN exception_queue e USING (document_id) WHERE e.exception_id = %s", eid)[0]
    assert row["status"] == "synced" and row["erp_id"]
    assert [e["status"] for e in outbox_entries(site, eid)] == ["done"]
    assert (tmp_path / "outbound" / f"document_{row['document_id']}_bill_v1.xml").is_file()


def test_run_report_shows_each_invoice_erp_status_and_bill_id(site, tmp_path, monkeypatch,
                                                               capsys):
    from cli.main import main
    from staging import runs

    eid = site["exceptions"][7]  # approved now, after the sync: queued, not yet sent
    c = login(site, "approver")
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/decision", data={"csrf_token": csrf, "version": version,
                                                "decision": "approve"})
    assert r.status_code == 303
    s = site["settings"]
    summary = {"documents": 10, "staged": 10, "identical_files": 0, "skipped": 0,
               "exceptions": 10, "failures": 0, "straight_through_rate": 0.0,
               "seconds_per_stage": {}}
    with db.connection(s.database_url, s.db_schema) as conn:
        run_id = conn.execute("SELECT run_id FROM batch_runs").fetchone()["run_id"]
        runs.finish_run(conn, run_id, counts=summary, metrics=summary)
    status = {r["document_id"]: r for r in db_row(
        site, "SELECT document_id, status, erp_id FROM invoices")}
    assert {r["status"] for r in status.values()} >= {"synced", "approved", "exception"}
    for name, value in {"DATABASE_URL": s.database_url, "INVOICES_DB_SCHEMA": s.db_schema,
                        "INVOICES_REPORTS_DIR": str(tmp_path / "reports")}.items():
        monkeypatch.setenv(name, value)
    assert main(["report", "not-a-run"]) == 2
    assert "'not-a-run' is not a run id" in capsys.readouterr().err
    assert main(["report", str(run_id)]) == 0
    html = (tmp_path / "reports" / str(run_id) / "exceptions.html").read_text()
    section = html.split('id="erp"')[1]
    shown = {int(doc): state for state, doc in
             re.findall(r'<tr class="erp-([a-z-]+)">\s*<td>(\d+)</td>', section)}
    assert set(shown) == set(status)
    expected = {"synced": "sent", "approved": "queued", "exception": "not-queued"}
    assert shown == {d: expected[r["status"]] for d, r in status.items()}
    for r in status.values():
        if r["status"] == "synced":
            assert f"<code>{r['erp_id']}</code>" in section


def test_bank_change_needs_a_second_person(site):
    eid = site["exceptions"][1]
    clerk = login(site, "clerk")
    csrf, version, text = page_state(clerk, eid)
    assert "Bank details changed" in text
    vendor = site["vendor_id"]
    old = db_row(site, "SELECT iban FROM vendors WHERE vendor_id = %s", vendor)[0]["iban"]
    r = clerk.post(f"/items/{eid}/bank/propose", data={"csrf_token": csrf, "version": version,
                                                        "iban": "DE89370400440532013000"})
    assert r.status_code == 303
    pid = db_row(site, "SELECT proposal_id FROM bank_change_proposals")[0]["proposal_id"]
    # the proposer is a clerk: the role may not confirm at all
    r = clerk.post(f"/items/{eid}/bank/confirm", data={"csrf_token": csrf, "proposal_id": pid})
    assert r.status_code == 403
    # a vendor_admin who proposes cannot confirm their own proposal: the database refuses
    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        conn.execute("UPDATE bank_change_proposals SET proposed_by = 'vendor_admin'")
    va = login(site, "vendor_admin")
    csrf_va, _, text_va = page_state(va, eid)
    assert 'id="confirm-bank" disabled' in text_va
    r = va.post(f"/items/{eid}/bank/confirm", data={"csrf_token": csrf_va, "proposal_id": pid})
    assert r.status_code == 409 and "another person must confirm" in r.text
    assert db_row(site, "SELECT iban FROM vendors WHERE vendor_id = %s", vendor)[0]["iban"] == old
    admin = login(site, "admin")
    csrf_ad, _, _ = page_state(admin, eid)
    r = admin.post(f"/items/{eid}/bank/confirm", data={"csrf_token": csrf_ad, "proposal_id": pid})
    assert r.status_code == 303
    new = db_row(site, "SELECT iban FROM vendors WHERE vendor_id = %s", vendor)[0]["iban"]
    assert new == "DE89370400440532013000"


def test_database_refuses_maker_as_checker_directly(site):
    import psycopg

    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        conn.execute("INSERT INTO bank_change_proposals (vendor_id, new_iban, proposed_by)"
                     " VALUES (%s, 'GB82WEST12345698765432', 'mallory')", (site["vendor_id"],))
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("UPDATE bank_change_proposals SET confirmed_by = 'mallory'"
                         " WHERE proposed_by = 'mallory'")


def test_clerk_time_metrics_corrections_export_and_report_links(site, tmp_path):
    import json

    from review.report import exception_rows, write_csv, write_html
    from review.service import export_corrections
    from staging import corrections, runs

    times = db_row(site, "SELECT clerk, action, extract(epoch FROM finished_at - started_at)"
                   " AS seconds, reason_codes FROM clerk_item_time")
    assert ("approver", "approve") in {(t["clerk"], t["action"]) for t in times}
    assert all(t["seconds"] >= 0 for t in times)
    page = login(site, "auditor").get("/metrics")
    approved = next(t for t in times if t["action"] == "approve")
    assert page.status_code == 200
    assert all(f"<td>{r}</td>" in page.text for r in approved["reason_codes"])
    n = export_corrections(site["settings"], tmp_path / "labels")
    assert n >= 2
    labels = [json.loads(p.read_text()) for p in (tmp_path / "labels").glob("*.json")]
    assert all(lb["schema"] == "eval-label/v1" for lb in labels)
    totals = [c for lb in labels for c in lb["corrections"] if c["field"] == "total"]
    assert totals and totals[0]["user"] == "clerk" and totals[0]["new"] == "1.23"
    assert totals[0]["extractor"] and totals[0]["bbox"]
    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        run_id = conn.execute("SELECT run_id FROM batch_runs").fetchone()["run_id"]
        rows = exception_rows(runs.run_exceptions(conn, run_id), s.confidence_thresholds,
                              site["base"])
        clerk_time = corrections.clerk_time_by_reason(conn)
    html = write_html({}, {"seconds_per_stage": {}, "straight_through_rate": 0}, rows,
                      tmp_path / "r.html", clerk_time).read_text()
    assert f'href="{site["base"]}/items/{site["exceptions"][0]}"' in html
    assert "Clerk time per reason code" in html
    csv_text = write_csv(rows, tmp_path / "r.csv").read_text()
    assert f"{site['base']}/items/{site['exceptions'][0]}" in csv_text


def test_users_add_command_reads_the_password_from_stdin(site, monkeypatch, capsys):
    import io

    from cli.main import main

    s = site["settings"]
    monkeypatch.setenv("DATABASE_URL", s.database_url)
    monkeypatch.setenv("INVOICES_DB_SCHEMA", s.db_schema)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert main(["users", "add", "Newbie", "--role", "auditor"]) == 0
    assert "user newbie (auditor) saved" in capsys.readouterr().out
    c = httpx.Client(base_url=site["base"], headers={"Origin": site["base"]})
    r = c.post("/login", data={"user_name": "newbie", "password": "a long password"})
    assert r.status_code == 303
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["users", "add", "x", "--role", "clerk"]) == 2


def test_hold_and_reassign_move_items_between_tabs(site):
    eid = site["exceptions"][3]
    db_row(site, "UPDATE exception_queue SET lease_until = now() WHERE lease_until > now()"
           " RETURNING 1")
    c = login(site, "clerk")
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/decision", data={"csrf_token": csrf, "version": version,
                                                "decision": "hold", "note": ""})
    assert r.status_code == 422 and "needs a reason" in r.text
    r = c.post(f"/items/{eid}/decision", data={"csrf_token": csrf, "version": version,
                                                "decision": "hold", "note": "asked vendor"})
    assert r.status_code == 303
    hold = c.get("/?tab=hold").text
    assert f'href="/items/{eid}"' in hold and "on hold" in hold
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/decision", data={"csrf_token": csrf, "version": version,
                                                "decision": "reassign", "note": "clerk2"})
    assert r.status_code == 303
    mine = login(site, "clerk2").get("/?tab=mine").text
    assert f'href="/items/{eid}"' in mine
    history = c.get(f"/items/{eid}").text
    assert "review_hold" in history and "review_reassign" in history and "asked vendor" in history


@pytest.mark.parametrize("sort", ["age", "due", "total"])
def test_keyset_pages_cover_the_queue_once(site, sort):
    from staging import review as q

    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        whole, _ = q.queue_page(conn, "x", "open", sort=sort, limit=1000)
        seen, after = [], None
        while True:
            rows, after = q.queue_page(conn, "x", "open", sort=sort, after=after, limit=1)
            seen += [r["exception_id"] for r in rows]
            if after is None:
                break
    assert seen == [r["exception_id"] for r in whole] and len(set(seen)) == len(seen) >= 2
    assert "OFFSET" not in open(q.__file__).read().upper()  # keyset, never OFFSET


def test_queue_filters_refuse_bad_values_and_filter(site):
    c = login(site, "auditor")
    assert c.get("/?min_total=abc").status_code == 422
    assert c.get("/?due_before=31.02.2025").status_code == 422
    assert c.get("/?tab=nonsense").status_code == 422
    page = c.get("/?tab=resolved&reason=DUPLICATE_SUSPECTED").text
    assert "Nothing here." in page or "DUPLICATE_SUSPECTED" in page
    page = c.get("/?tab=open&max_total=0.01").text
    assert "Nothing here." in page


def test_script_in_a_value_is_stored_as_text_and_shown_escaped(site):
    eid = site["exceptions"][4]
    db_row(site, "UPDATE exception_queue SET lease_until = now() WHERE lease_until > now()"
           " RETURNING 1")
    c = login(site, "clerk")
    csrf, version, _ = page_state(c, eid)
    evil = '"><script>alert(1)</script>'
    r = c.post(f"/items/{eid}/field", data={"csrf_token": csrf, "version": version,
                                             "field": "vendor_name", "value": evil})
    assert r.status_code == 303
    text = c.get(f"/items/{eid}").text
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "script-src 'self'" in c.get(f"/items/{eid}").headers["content-security-policy"]


def test_bulk_approve_skips_money_changes_and_other_reasons(site):
    db_row(site, "UPDATE exception_queue SET lease_until = now() WHERE lease_until > now()"
           " RETURNING 1")
    c = login(site, "clerk")
    first = site["exceptions"][0]
    csrf, version, _ = page_state(c, first)
    r = c.post(f"/items/{first}/field", data={"csrf_token": csrf, "version": version,
                                               "field": "total", "value": "99.99"})
    assert r.status_code == 303
    page = c.get("/?tab=open&reason=LOW_CONFIDENCE_TOTAL").text
    assert 'id="bulk-approve"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    open_ids = [r["exception_id"] for r in db_row(
        site, "SELECT exception_id FROM exception_queue WHERE status = 'open'")]
    money = {r["exception_id"] for r in db_row(
        site, "SELECT e.exception_id FROM exception_queue e JOIN field_corrections c"
        " USING (document_id) WHERE c.changes_money")}
    r = c.post("/bulk-approve", data={"csrf_token": csrf, "reason": "LOW_CONFIDENCE_TOTAL",
                                      "item": [str(i) for i in open_ids]})
    assert r.status_code == 200 and "on hold" in r.text
    assert first in money
    approved = set(map(int, re.findall(r"#(\d+)", r.text.split("Not approved")[0])))
    rows = db_row(site, "SELECT e.exception_id, e.status, e.reason_codes, i.total,"
                  " e.hold_comment FROM exception_queue e JOIN invoices i USING (document_id)"
                  " WHERE exception_id = ANY(%s)", open_ids)
    limit = site["settings"].review_approval_limit
    for row in rows:
        eligible = ("LOW_CONFIDENCE_TOTAL" in row["reason_codes"] and row["total"] <= limit
                    and row["exception_id"] not in money and row["hold_comment"] is None)
        assert (row["exception_id"] in approved) == eligible, row
        assert (row["status"] == "resolved") == eligible or row["exception_id"] not in approved
    # the corrected total no longer adds up: its new reason, but an amount was changed
    r = c.post("/bulk-approve", data={"csrf_token": csrf, "reason": "ARITHMETIC_SUBTOTAL_TAX_TOTAL",
                                      "item": [str(first)]})
    assert "an amount was corrected" in r.text
    assert db_row(site, "SELECT status FROM exception_queue WHERE exception_id = %s",
                  first)[0]["status"] == "open"
    # every approved item queued its invoice for the ERP once; refused ones queued nothing
    entries = {eid: outbox_entries(site, eid) for eid in open_ids}
    assert approved and all(len(entries[e]) == 1 for e in approved)
    assert all(not entries[e] for e in open_ids if e not in approved)
    auditor = login(site, "auditor")
    r = auditor.post("/bulk-approve", data={"csrf_token": csrf, "reason": "X", "item": ["1"]})
    assert r.status_code == 403


def _cells(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of a table (tags stripped, spaces collapsed)."""
    table = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    body = table.split("<tbody>", 1)[1]
    return [[re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c)).strip()
             for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def test_po_panel_shows_lines_receipts_variance_and_tolerance(site):
    from decimal import Decimal

    from review.corrections import plain

    eid = site["exceptions"][4]
    row = db_row(site, "SELECT i.po_number, i.po_match, e.reason_codes FROM exception_queue e"
                 " JOIN invoices i USING (document_id) WHERE e.exception_id = %s", eid)[0]
    assert "PRICE_VARIANCE" in row["reason_codes"]
    po_line = db_row(site, "SELECT line_no, description, quantity, unit_price FROM"
                     " purchase_order_lines WHERE po_number = %s ORDER BY line_no",
                     row["po_number"])[0]
    receipts = db_row(site, "SELECT receipt_id, quantity FROM goods_receipts WHERE po_number = %s"
                      " AND line_no = %s", row["po_number"], po_line["line_no"])
    match = row["po_match"]["lines"][0]
    c = login(site, "auditor")  # reads without claiming
    text = c.get(f"/items/{eid}").text
    assert f"Purchase order {row['po_number']}" in text
    assert "<pre>" not in text.split('aria-labelledby="po-heading"')[1].split("</section>")[0]
    cells = _cells(text, "po-lines")[0]
    invoiced = Decimal(match["unit_price"])
    variance = invoiced - po_line["unit_price"]
    allowed = max(po_line["unit_price"] * Decimal("0.02"), Decimal("0.05"))
    assert po_line["description"] in cells[4]
    assert all(r["receipt_id"] in cells[7] for r in receipts) and receipts
    assert f"unit price {variance:+.2f}" in cells[8] and f"allowed +{allowed:.2f}" in cells[8]
    assert "PRICE_VARIANCE" in cells[8] and "QTY_EXCEEDS_RECEIVED" in cells[8]
    received = sum(r["quantity"] for r in receipts)
    assert f"of {plain(received)} received" in cells[8]
    tolerance = re.sub(r"<[^>]+>", "", text.split('id="po-tolerance">')[1].split("</p>")[0])
    assert "2 % or 0.05" in tolerance and "current settings" not in tolerance




def test_line_grid_edit_add_delete_rechecks_versions_and_stores_corrections(site):
    from decimal import Decimal

    from review.corrections import money, plain

    eid = site["exceptions"][2]
    db_row(site, "UPDATE exception_queue SET lease_until = now() WHERE lease_until > now()"
           " RETURNING 1")
    doc = db_row(site, "SELECT document_id FROM exception_queue WHERE exception_id = %s",
                 eid)[0]["document_id"]
    lines = db_row(site, "SELECT * FROM invoice_lines WHERE document_id = %s ORDER BY line_no",
                   doc)
    first = lines[0]
    c = login(site, "clerk")
    csrf, version, text = page_state(c, eid)
    assert 'id="line-grid"' in text and f'id="line-{first["line_no"]}"' in text
    row = {"csrf_token": csrf, "version": version, "op": "edit", "line_no": first["line_no"],
           "description": first["description"], "quantity": "3",
           "unit_price": str(first["unit_price"]), "line_total": str(first["line_total"])}
    # letters in an amount: a clear message, nothing stored
    r = c.post(f"/items/{eid}/lines", data={**row, "line_total": "12x.50"})
    assert r.status_code == 422 and "amount" in r.text and "letters" in r.text
    assert not db_row(site, "SELECT 1 FROM field_corrections WHERE document_id = %s"
                      " AND line_no IS NOT NULL", doc)
    # a quantity that no longer gives the amount: saved, and the row check says so at once
    r = c.post(f"/items/{eid}/lines", data=row)
    assert r.status_code == 303, r.text[:400]
    text = c.get(f"/items/{eid}").text
    product = (Decimal(3) * first["unit_price"]).quantize(Decimal("0.01"))
    grid = text.split('id="line-grid"')[1].split("</table>")[0]
    assert "3 × " in grid and f"= {product}" in grid and "does not add up" in grid
    assert "the lines add up to it" in grid
    # the same version again: refused as stale, nothing more stored
    r = c.post(f"/items/{eid}/lines", data={**row, "quantity": "4"})
    assert r.status_code == 409 and "changed since you opened it" in r.text
    # the amount follows the quantity: the row adds up, the lines no longer give the subtotal
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/lines", data={**row, "version": version,
                                             "line_total": str(product)})
    assert r.status_code == 303
    text = c.get(f"/items/{eid}").text
    grid = text.split('id="line-grid"')[1].split("</table>")[0]
    assert "does not add up" not in grid and "the lines do not add up to it" in grid
    assert "ARITHMETIC_LINES_SUBTOTAL" in text.split("Reasons:")[1].split("</p>")[0]
    # back to the printed line, then add a line and delete it
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/lines", data={**row, "version": version,
                                             "quantity": str(first["quantity"])})
    assert r.status_code == 303
    csrf, version, text = page_state(c, eid)
    assert "ARITHMETIC_LINES_SUBTOTAL" not in text.split("Reasons:")[1].split("</p>")[0]
    r = c.post(f"/items/{eid}/lines", data={"csrf_token": csrf, "version": version, "op": "add",
                                             "description": "Freight", "quantity": "1",
                                             "unit_price": "10.00", "line_total": "10.00"})
    assert r.status_code == 303
    added = db_row(site, "SELECT line_no, line_total, fields FROM invoice_lines WHERE"
                   " document_id = %s AND description = 'Freight'", doc)[0]
    assert added["line_no"] == len(lines) + 1 and added["line_total"] == Decimal("10.00")
    assert added["fields"]["line_total"]["provenance"]["method"] == "manual"
    csrf, version, _ = page_state(c, eid)
    r = c.post(f"/items/{eid}/lines", data={"csrf_token": csrf, "version": version,
                                             "op": "delete", "line_no": added["line_no"]})
    assert r.status_code == 303
    assert not db_row(site, "SELECT 1 FROM invoice_lines WHERE document_id = %s"
                      " AND description = 'Freight'", doc)
    got = db_row(site, "SELECT 'line_items[' || line_no || '].' || field AS field, old_value,"
                 " new_value, corrected_by AS actor, changes_money FROM field_corrections"
                 " WHERE document_id = %s AND line_no IS NOT NULL ORDER BY correction_id", doc)
    n, new_no = first["line_no"], added["line_no"]
    printed = plain(first["quantity"])
    assert [(g["field"], g["old_value"], g["new_value"]) for g in got] == [
        (f"line_items[{n}].quantity", printed, "3"),
        (f"line_items[{n}].line_total", money(first["line_total"]), money(product)),
        (f"line_items[{n}].quantity", "3", printed),
        (f"line_items[{n}].line_total", money(product), money(first["line_total"])),
        (f"line_items[{new_no}].description", None, "Freight"),
        (f"line_items[{new_no}].quantity", None, "1"),
        (f"line_items[{new_no}].unit_price", None, "10.00"),
        (f"line_items[{new_no}].line_total", None, "10.00"),
        (f"line_items[{new_no}].description", "Freight", None),
        (f"line_items[{new_no}].quantity", "1", None),
        (f"line_items[{new_no}].unit_price", "10.00", None),
        (f"line_items[{new_no}].line_total", "10.00", None),
    ]
    assert all(g["actor"] == "clerk" for g in got)
    assert [g["changes_money"] for g in got][:2] == [True, True]
    audit = db_row(site, "SELECT action FROM audit_log WHERE document_id = %s AND action LIKE"
                   " 'line_%%' ORDER BY audit_id", doc)
    assert [a["action"] for a in audit] == ["line_edit"] * 3 + ["line_add", "line_delete"]
    # a money change on a line: the item waits for a second person, who must approve it
    from staging import review_actions

    assert db_row(site, "SELECT waiting_second FROM exception_queue WHERE exception_id = %s",
                  eid)[0]["waiting_second"]
    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        assert review_actions.money_changed_by(conn, doc, "clerk")


def test_audit_samples_have_their_own_tab_with_a_count(site, tmp_path):
    import hashlib
    import shutil

    from extractors.text.intake import describe
    from invoices.records import DocumentResult, ReasonCode
    from staging import runs, store

    s = site["settings"]
    source = db_row(site, "SELECT source_path FROM documents ORDER BY document_id")[0]
    copies = []
    for n in range(2):  # two straight-through invoices the nightly sampled for audit
        path = tmp_path / f"sampled-{n}.pdf"
        shutil.copy(source["source_path"], path)
        with path.open("ab") as f:
            f.write(f"\n% sample {n}\n".encode())
        copies.append(path)
    with db.connection(s.database_url, s.db_schema) as conn:
        run_id = runs.start_run(conn, str(tmp_path))
        for path in copies:
            doc = describe(path, s)
            assert hashlib.sha256(path.read_bytes()).hexdigest() == doc.sha256
            store.stage_result(conn, DocumentResult(document=doc, reasons=[
                ReasonCode.AUDIT_SAMPLE]), run_id)
    sampled = {r["exception_id"] for r in db_row(
        site, "SELECT exception_id FROM exception_queue WHERE status = 'open'"
        " AND reason_codes = '{AUDIT_SAMPLE}'")}
    assert len(sampled) == 2
    c = login(site, "clerk")
    page = c.get("/?tab=audit").text
    tab = re.search(r'href="/\?tab=audit"[^>]*>Audit samples <span class="count">(\d+)</span>',
                    page)
    assert tab and int(tab.group(1)) == 2
    listed = {int(i) for i in re.findall(r'href="/items/(\d+)" class="item-link"', page)}
    assert listed == sampled
    # they are not among the open exceptions, and "next" keeps to their kind
    open_page = c.get("/?tab=open").text
    assert not sampled & {int(i) for i in re.findall(r'href="/items/(\d+)"', open_page)}
    first, second = sorted(sampled)
    r = c.get(f"/items/{first}/next")
    assert r.status_code == 303 and r.headers["location"] == f"/items/{second}"


def test_item_page_shows_model_versions_and_the_erp_receipt_once_synced(site):
    from psycopg.types.json import Jsonb

    from staging import outbox_relay

    eid = site["exceptions"][1]
    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        doc = conn.execute("SELECT document_id FROM exception_queue WHERE exception_id = %s",
                           (eid,)).fetchone()["document_id"]
        conn.execute("UPDATE batch_runs SET metrics = metrics || %s WHERE run_id ="
                     " (SELECT run_id FROM invoices WHERE document_id = %s)",
                     (Jsonb({"model_versions": {"calibration": "calibration-20261201-ab12"}}),
                      doc))
        conn.execute("UPDATE invoices SET classification = %s WHERE document_id = %s", (Jsonb({
            "model_versions": {"document_type": "doctype-3", "history": "history-20261130"},
            "document_type": {"value": "invoice", "backend": "rule"},
            "lines": [{"line_no": 1, "gl_account": {"code": "6300", "backend": "history",
                                                     "model_version": "history-20261130"}}],
        }), doc))
    c = login(site, "auditor")
    text = c.get(f"/items/{eid}").text
    table = text.split('id="model-versions"')[1].split("</table>")[0]
    total = db_row(site, "SELECT fields -> 'total' -> 'provenance' AS p FROM invoices"
                   " WHERE document_id = %s", doc)[0]["p"]
    row = table.split('data-field="total"')[1].split("</tr>")[0]
    assert total["extractor"] in row and total["version"] in row
    assert "calibration-20261201-ab12" in row
    versions = text.split('id="classifier-versions"')[1].split("</p>")[0]
    assert "doctype-3" in versions and "history-20261130" in versions
    assert 'id="erp-receipt"' not in text  # not approved: no ERP section yet
    with db.connection(s.database_url, s.db_schema) as conn:  # approved and posted by the relay
        conn.execute("UPDATE invoices SET status = 'approved', approval_version = 1,"
                     " approved_by = 'approver', approved_at = now() WHERE document_id = %s",
                     (doc,))
        entry = conn.execute(
            "INSERT INTO erp_outbox (document_id, kind, approval_version, idempotency_key,"
            " payload, status, attempts) VALUES (%s, 'bill', 1, %s, '{}', 'in_flight', 1)"
            " RETURNING entry_id", (doc, f"document:{doc}:bill:v1")).fetchone()["entry_id"]
        assert outbox_relay.complete_entry(conn, outbox_relay.ClaimedEntry(
            entry, doc, "bill", f"document:{doc}:bill:v1", None, None, None, 1),  # type: ignore[arg-type]
            {"erp_id": "account.invoice:4711", "adapter": "tryton", "erp_number": "SUP/0042"})
    text = c.get(f"/items/{eid}").text
    erp = text.split('id="erp-receipt"')[1].split("</section>")[0]
    assert "synced" in erp and "account.invoice:4711" in erp and "SUP/0042" in erp
    assert "approved by approver" in erp


def test_void_a_synced_invoice_from_its_page(site, tmp_path, monkeypatch, capsys):
    """The Void button: approver or admin only (a clerk and an auditor are refused), with the
    CSRF token, a reason and the confirmation; the credit note is queued once through the
    outbox and audited; an invoice that is not synced, or was voided before, is refused."""

    eid, unsynced = site["exceptions"][8], site["exceptions"][9]
    approver, clerk, auditor = login(site, "approver"), login(site, "clerk"), login(site, "auditor")
    csrf, _, _ = page_state(approver, unsynced)
    void = {"csrf_token": csrf, "reason": "billed twice", "confirm": "yes"}
    r = approver.post(f"/items/{unsynced}/void", data=void)
    assert r.status_code == 422 and "not synced" in r.text
    if db_row(site, "SELECT status FROM exception_queue WHERE exception_id = %s",
              eid)[0]["status"] == "open":  # fmt: skip
        csrf, version, _ = page_state(approver, eid)
        r = approver.post(f"/items/{eid}/decision",
                          data={"csrf_token": csrf, "version": version, "decision": "approve"})
        assert r.status_code == 303
    assert sync_to_files(site, tmp_path, monkeypatch) == 0
    assert [e["status"] for e in outbox_entries(site, eid)] == ["done"]
    _, _, page = page_state(clerk, eid)
    assert 'id="void-form"' not in page  # a clerk is not offered the button
    csrf, _, page = page_state(approver, eid)
    assert 'id="void-form"' in page and 'name="confirm"' in page
    void = {"csrf_token": csrf, "reason": "billed twice", "confirm": "yes"}
    for who in (clerk, auditor):
        token, _, _ = page_state(who, eid)
        assert who.post(f"/items/{eid}/void", data={**void, "csrf_token": token}
                        ).status_code == 403  # fmt: skip
    assert approver.post(f"/items/{eid}/void", data={**void, "csrf_token": "stale"}
                         ).status_code == 403  # fmt: skip
    r = approver.post(f"/items/{eid}/void", data={**void, "confirm": ""})
    assert r.status_code == 422 and "confirmation" in r.text
    assert [e["kind"] for e in outbox_entries(site, eid)] == ["bill"]
    r = approver.post(f"/items/{eid}/void", data=void)
    assert r.status_code == 303
    entries = outbox_entries(site, eid)
    assert [(e["kind"], e["status"]) for e in entries] == [("bill", "done"),
                                                           ("reversal", "pending")]
    audit = db_row(site, "SELECT a.actor, a.detail FROM audit_log a JOIN exception_queue e"
                   " USING (document_id) WHERE a.action = 'invoice_voided'"
                   " AND e.exception_id = %s", eid)  # fmt: skip
    assert [(a["actor"], a["detail"]["reason"]) for a in audit] == [("approver", "billed twice")]
    _, _, page = page_state(approver, eid)
    assert 'id="void-form"' not in page and "Voided" in page
    again = approver.post(f"/items/{eid}/void", data=void)
    assert again.status_code == 409 and "was voided" in again.text
    assert outbox_entries(site, eid) == entries
