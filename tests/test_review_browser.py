"""The review page in a real browser: Playwright for Python driving Debian's chromium
(/usr/bin/chromium, headless; no browser download). Keyboard-only work of a generated batch's
queue with the highlighted box checked against its word on screen, the duplicate and bank
panels, two browsers on one item, axe-core accessibility checks, and screenshots."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pdfplumber
import pytest

from invoices.settings import PROJECT_ROOT
from staging import db
from tests.conftest import throwaway_schema
from tests.review_batch import PASSWORD, live_server, stage_batch

pytestmark = [pytest.mark.db, pytest.mark.slow]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = PROJECT_ROOT / "data" / "reports" / "screenshots"

if not CHROMIUM.exists():  # pragma: no cover - the project's set-up installs it
    pytest.fail("the browser tests need Debian's chromium (make system installs it)")


@pytest.fixture(scope="module")
def site(database_url, tmp_path_factory):
    from invoices.settings import load_settings

    tmp = tmp_path_factory.mktemp("review-browser")
    with throwaway_schema(database_url) as schema:
        s = load_settings(database_url=database_url, db_schema=schema, data_dir=tmp / "data")
        info = stage_batch(s, tmp / "corpus", invoices=6)
        with live_server(info["settings"]) as base:
            yield {"base": base, "settings": s, **info}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox"])
        yield b
        b.close()


def sql(site, text: str, *args):
    s = site["settings"]
    with db.connection(s.database_url, s.db_schema) as conn:
        return conn.execute(text, args).fetchall()


def leave_all(site) -> None:
    """Earlier tests moved on to next items (claiming them): let those leases expire."""
    sql(site, "UPDATE exception_queue SET lease_until = now() WHERE lease_until > now()"
        " RETURNING 1")


def login(browser, site, name: str):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(site["base"] + "/login")
    # the name field has autofocus; on a busy machine it gets it a moment after the load event
    page.wait_for_function("document.activeElement && document.activeElement.id === 'user_name'")
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(site["base"] + "/")
    return page


def word_rect(page, pdf_path: str, text: str) -> dict[str, float]:
    """The on-screen rectangle of a printed word, from the PDF's own word positions and the
    rendered image's rectangle (independent of how the page places its boxes)."""
    with pdfplumber.open(pdf_path) as pdf:
        p0 = pdf.pages[0]
        words = [w for w in p0.extract_words() if w["text"] == text]
        width, height = float(p0.width), float(p0.height)
    assert words, f"{text!r} is not printed on the page"
    w = words[-1]
    img = page.locator(".page-img").first.bounding_box()
    sx, sy = img["width"] / width, img["height"] / height
    return {"x": img["x"] + w["x0"] * sx, "y": img["y"] + w["top"] * sy,
            "width": (w["x1"] - w["x0"]) * sx, "height": (w["bottom"] - w["top"]) * sy}


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_each_role_logs_in(browser, site):
    for role in ("clerk", "approver", "vendor_admin", "auditor", "admin"):
        page = login(browser, site, role)
        assert f"{role} ({role})" in page.locator("header").inner_text()
        page.context.close()


def test_keyboard_only_correct_total_then_second_person_approves(browser, site):
    eid = site["exceptions"][0]
    row = sql(site, "SELECT d.source_path, i.total, i.fields->'total'->'provenance'->>'raw' AS raw"
              " FROM exception_queue e JOIN documents d USING (document_id) JOIN invoices i"
              " USING (document_id) WHERE e.exception_id = %s", eid)[0]
    page = login(browser, site, "clerk")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)
    page.keyboard.press("o")  # the oldest item: the low-confidence total
    page.wait_for_url(f"{site['base']}/items/{eid}")
    seen = [page.evaluate("document.activeElement.id")]
    for _ in range(6):  # Enter on an unchanged field: on to the next field needing review
        if seen[-1] == "f-total":
            break
        page.keyboard.press("Enter")
        seen.append(page.evaluate("document.activeElement.id"))
    assert seen[-1] == "f-total", seen
    assert all(page.locator(f"#{s}").get_attribute("data-needs-review") for s in seen)
    page.wait_for_selector(".box.focus")
    assert page.locator(".box.focus").get_attribute("data-field") == "total"
    box = page.locator(".box.focus").bounding_box()
    printed = row["raw"].split()[-1] if row["raw"] else str(row["total"])
    assert overlaps(box, word_rect(page, row["source_path"], printed)), (box, printed)
    page.screenshot(path=str(SCREENSHOTS / "item.png"), full_page=False)
    # the staged total was misread by 10.00 (tests.review_batch): the clerk types the printed one
    new_total = str(Decimal(row["total"]) - Decimal("10.00"))
    page.keyboard.press("Control+A")
    page.keyboard.type(new_total)
    page.keyboard.press("Enter")  # saves the field; the checks re-run
    page.wait_for_url(f"{site['base']}/items/{eid}?after=total")
    assert page.locator("#f-total").input_value() == new_total
    page.keyboard.press("Escape")
    page.keyboard.press("a")  # the clerk changed an amount: may not approve it
    page.wait_for_selector("#error")
    assert "second person" in page.locator("#error").inner_text()
    page.keyboard.press("n")  # leave the item (the claim is released) and go on
    page.wait_for_url(lambda url: f"/items/{eid}" not in url)
    approver = login(browser, site, "approver")
    approver.goto(site["base"] + "/?tab=waiting")
    approver.keyboard.press("o")
    approver.wait_for_url(f"{site['base']}/items/{eid}")
    approver.keyboard.press("Escape")
    approver.keyboard.press("a")
    approver.wait_for_url(lambda url: f"/items/{eid}" not in url)  # on to the next item
    status = sql(site, "SELECT i.status, i.total FROM invoices i JOIN exception_queue e"
                 " USING (document_id) WHERE e.exception_id = %s", eid)[0]
    assert status["status"] == "approved" and str(status["total"]) == new_total
    entries = sql(site, "SELECT o.status FROM erp_outbox o JOIN exception_queue e"
                  " USING (document_id) WHERE e.exception_id = %s", eid)
    assert [e["status"] for e in entries] == ["pending"]  # queued for the ERP, once
    corrections = sql(site, "SELECT corrected_by, old_value, new_value FROM field_corrections"
                      " WHERE field = 'total'")
    assert [(c["corrected_by"], c["new_value"]) for c in corrections] == [("clerk", new_total)]
    page.context.close()
    approver.context.close()


def test_duplicate_rejected_from_side_by_side(browser, site):
    leave_all(site)
    eid = site["exceptions"][2]
    page = login(browser, site, "clerk")
    page.goto(f"{site['base']}/items/{eid}")
    diff = page.locator("table.diff")
    assert "Earlier document" in diff.inner_text()
    assert diff.locator("tr").count() > 3
    page.click("#reject-duplicate")
    page.wait_for_url(lambda url: f"/items/{eid}" not in url)
    status = sql(site, "SELECT i.status FROM invoices i JOIN exception_queue e"
                 " USING (document_id) WHERE e.exception_id = %s", eid)[0]["status"]
    assert status == "rejected"
    page.context.close()


def test_bank_change_proposer_cannot_confirm_another_can(browser, site):
    leave_all(site)
    eid = site["exceptions"][1]
    vendor = site["vendor_id"]
    old = sql(site, "SELECT iban FROM vendors WHERE vendor_id = %s", vendor)[0]["iban"]
    maker = login(browser, site, "approver")
    maker.goto(f"{site['base']}/items/{eid}")
    maker.click("#propose-bank")
    maker.wait_for_selector("#confirm-bank")
    assert maker.locator("#confirm-bank").is_disabled()
    # a direct POST from the proposer's page, around the disabled button: refused
    status = maker.evaluate(
        """async () => { const f = document.querySelector('#confirm-bank').form;
        const r = await fetch(f.action, {method: 'POST', body: new FormData(f)});
        return [r.status, await r.text()]; }""")
    assert status[0] == 409 and "another person must confirm" in status[1]
    assert sql(site, "SELECT iban FROM vendors WHERE vendor_id = %s", vendor)[0]["iban"] == old
    checker = login(browser, site, "vendor_admin")
    checker.goto(f"{site['base']}/items/{eid}")
    checker.click("#confirm-bank")
    checker.wait_for_load_state()
    new = sql(site, "SELECT iban FROM vendors WHERE vendor_id = %s", vendor)[0]["iban"]
    assert new != old and new == "DE89370400440532013000"
    maker.context.close()
    checker.context.close()


def test_two_browsers_on_one_item_second_is_read_only(browser, site):
    leave_all(site)
    eid = site["exceptions"][3]
    first, second = login(browser, site, "clerk"), login(browser, site, "clerk2")
    first.goto(f"{site['base']}/items/{eid}")
    second.goto(f"{site['base']}/items/{eid}")
    status = second.locator("#lease-status").inner_text()
    assert "Read-only: clerk is working on this item" in status
    assert second.locator("#f-total").get_attribute("readonly") is not None
    assert second.locator("#approve").count() == 0
    assert first.locator("#approve").count() == 1
    first.context.close()
    second.context.close()


def test_no_serious_accessibility_violations(browser, site):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context()
    page = context.new_page()
    pages = {"login": site["base"] + "/login"}
    page.goto(pages["login"])
    found = {"login": axe.run(page).response["violations"]}
    page.close()
    page = login(browser, site, "clerk")
    found["queue"] = axe.run(page).response["violations"]
    page.goto(f"{site['base']}/items/{site['exceptions'][4]}")  # with the PO panel and grid
    page.wait_for_selector(".page-wrap.has-words")
    found["item"] = axe.run(page).response["violations"]
    page.screenshot(path=str(SCREENSHOTS / "item-po.png"), full_page=True)
    bad = {name: [(v["id"], v["impact"]) for v in vs if v["impact"] in ("serious", "critical")]
           for name, vs in found.items()}
    assert bad == {"login": [], "queue": [], "item": []}
    context.close()
    page.context.close()


def test_clicking_words_fills_the_focused_field_and_the_correction_keeps_the_box(browser, site):
    leave_all(site)
    eid = site["exceptions"][5]
    row = sql(site, "SELECT d.source_path, e.document_id FROM exception_queue e JOIN documents d"
              " USING (document_id) WHERE e.exception_id = %s", eid)[0]
    with pdfplumber.open(row["source_path"]) as pdf:
        p0 = pdf.pages[0]
        words = [w for w in p0.extract_words(x_tolerance=1.5, y_tolerance=2.5)
                 if len(w["text"]) > 3 and w["text"].isalpha()]
        width = float(p0.width)
    first, second = words[0], words[1]
    page = login(browser, site, "clerk")
    page.goto(f"{site['base']}/items/{eid}")
    page.wait_for_selector(".page-wrap.has-words .word")
    page.locator("#f-vendor_name").focus()
    for w, modifiers in ((first, []), (second, ["Shift"])):
        img = page.locator(".page-img").first.bounding_box()
        scale = img["width"] / width  # this very word's centre on screen
        page.mouse.move(img["x"] + scale * (w["x0"] + w["x1"]) / 2,
                        img["y"] + scale * (w["top"] + w["bottom"]) / 2)
        for m in modifiers:
            page.keyboard.down(m)
        page.mouse.down()
        page.mouse.up()
        for m in modifiers:
            page.keyboard.up(m)
    want = f"{first['text']} {second['text']}"
    assert page.evaluate("document.activeElement.id") == "f-vendor_name"
    assert page.locator("#f-vendor_name").input_value() == want
    page.keyboard.press("Enter")  # saves the field with the box of the words picked
    page.wait_for_url(f"{site['base']}/items/{eid}?after=vendor_name")
    got = sql(site, "SELECT new_value, page, bbox FROM field_corrections WHERE document_id = %s"
              " AND field = 'vendor_name' ORDER BY correction_id DESC LIMIT 1",
              row["document_id"])[0]
    union = [min(first["x0"], second["x0"]), min(first["top"], second["top"]),
             max(first["x1"], second["x1"]), max(first["bottom"], second["bottom"])]
    assert got["new_value"] == want and got["page"] == 1
    assert got["bbox"] == pytest.approx(union, abs=0.05)
    # the field's box on the page is now the box picked
    box = page.locator('.box[data-field="vendor_name"]').get_attribute("data-bbox")
    assert [float(x) for x in box.split(",")] == pytest.approx(union, abs=0.05)
    page.context.close()


def test_lease_is_renewed_while_the_page_is_open_and_freed_when_it_is_not(browser, site):
    import time

    leave_all(site)
    eid = site["exceptions"][5]
    short = site["settings"].model_copy(update={"review_lease_seconds": 3})
    with live_server(short) as base:
        fast = {**site, "base": base}
        holder, other = login(browser, fast, "clerk"), login(browser, fast, "clerk2")
        holder.goto(f"{base}/items/{eid}")
        opened = time.monotonic()
        time.sleep(4.5)  # past the first lease of 3 s: the open page renewed it (every 1 s)
        lease = sql(site, "SELECT claimed_by, lease_until > now() AS live, now() - claimed_at"
                    " AS held FROM exception_queue WHERE exception_id = %s", eid)[0]
        assert lease["claimed_by"] == "clerk" and lease["live"], lease
        assert lease["held"].total_seconds() > 3 and time.monotonic() - opened > 3
        other.goto(f"{base}/items/{eid}")
        status = other.locator("#lease-status").inner_text()
        assert "Read-only: clerk is working on this item" in status
        assert "You hold this item until" in holder.locator("#lease-status").inner_text()
        holder.close()  # the page is gone: nothing renews the lease
        deadline = time.monotonic() + 8
        while sql(site, "SELECT lease_until > now() AS live FROM exception_queue"
                  " WHERE exception_id = %s", eid)[0]["live"]:
            assert time.monotonic() < deadline, "the lease was still renewed after the page closed"
            time.sleep(0.25)
        other.reload()
        assert other.locator("#approve").count() == 1  # the expired lease freed the item
        assert "You hold this item" in other.locator("#lease-status").inner_text()
        holder.context.close()
        other.context.close()
