"""`invoices bench-review`: the review page at scale, and two clerks racing over one queue.

In a schema of its own (dropped at the end): 10,000 open exceptions, the queue page and the
item page timed on the server (the Server-Timing header of each response), then two scripted
clerks work the same 200 items at once (open, correct the invoice number, approve). Every
item must end with exactly one approval in the audit log, one ERP outbox entry, and the
invoice number of the clerk who approved it: a lost update would show as another clerk's number.
"""

from __future__ import annotations

import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fpdf import FPDF

from invoices.settings import Settings
from review.app import create_app
from review.auth import hash_password
from staging import db, review_bench, users

PASSWORD = "bench password"
_VERSION = re.compile(r'name="version" value="(\d+)"')
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _pdf(folder: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.text(400, 500, "Total 1.50 EUR")
    path = folder / "bench.pdf"
    pdf.output(str(path))
    return path


def _fields() -> dict[str, Any]:
    prov = {"method": "text_layer", "extractor": "bench", "version": "1", "page": 1}
    return {
        "total": {"value": "1.50", "confidence": 0.4, "provenance": {**prov,
                  "bbox": [400, 490, 450, 502]}},
        "invoice_number": {"value": "INV", "confidence": 0.99, "provenance": {**prov,
                           "bbox": [50, 50, 100, 60]}},
    }


def _server_ms(response: httpx.Response) -> float:
    timing = response.headers.get("server-timing", "app;dur=0")
    return float(timing.split("dur=")[1])


def _percentiles(values: list[float]) -> str:
    qs = statistics.quantiles(values, n=100)
    return f"p50 {statistics.median(values):.1f} ms, p95 {qs[94]:.1f} ms (n={len(values)})"


def _login(base: str, name: str) -> httpx.Client:
    c = httpx.Client(base_url=base, headers={"Origin": base}, timeout=60)
    r = c.post("/login", data={"user_name": name, "password": PASSWORD})
    if r.status_code != 303:
        raise RuntimeError(f"bench login of {name} failed: {r.status_code}")
    return c


def _time_pages(base: str, n_items: int) -> tuple[list[float], list[float]]:
    c = _login(base, "bench_timer")
    queue, items = [], []
    url = "/?tab=open&sort=due"
    for i in range(100):
        r = c.get(url if i % 10 else "/?tab=open&sort=age")
        queue.append(_server_ms(r))
        nxt = re.search(r'href="(/\?[^"]*after_id=\d+)" rel="next"', r.text)
        url = nxt.group(1).replace("&amp;", "&") if nxt else "/?tab=open&sort=due"
    c.get(f"/items/{n_items}/page/1.png")  # the page image, cached once
    for i in range(100):
        items.append(_server_ms(c.get(f"/items/{n_items - 1 - i}")))
    return queue, items


def _clerk(base: str, name: str, ids: list[int], outcome: dict[str, int]) -> None:
    c = _login(base, name)
    for eid in ids:
        page = c.get(f"/items/{eid}").text
        if 'id="approve-form"' not in page:
            outcome["read_only"] += 1
            continue
        csrf_m, version_m = _CSRF.search(page), _VERSION.search(page)
        assert csrf_m and version_m
        csrf, version = csrf_m.group(1), version_m.group(1)
        r = c.post(f"/items/{eid}/field", data={
            "csrf_token": csrf, "version": version, "field": "invoice_number",
            "value": f"{name}-{eid}"})
        if r.status_code != 303:
            outcome["refused"] += 1
            continue
        version = str(int(version) + 1)
        r = c.post(f"/items/{eid}/decision", data={"csrf_token": csrf, "version": version,
                                                    "decision": "approve"})
        outcome["approved" if r.status_code == 303 else "refused"] += 1


def _race(base: str, n: int) -> dict[str, dict[str, int]]:
    ids = list(range(1, n + 1))
    outcomes = {name: {"approved": 0, "read_only": 0, "refused": 0} for name in ("ann", "bob")}
    threads = [threading.Thread(target=_clerk, args=(base, "ann", ids, outcomes["ann"])),
               threading.Thread(target=_clerk, args=(base, "bob", ids[::-1], outcomes["bob"]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def bench_review(
    settings: Settings, n_exceptions: int = 10_000, race_items: int = 200
) -> tuple[str, bool]:
    """Run the bench; returns the printed report and whether the race lost nothing."""
    url = settings.database_url
    assert url
    schema = f"{settings.db_schema}_review_bench"[:63]
    with tempfile.TemporaryDirectory() as tmp:
        s = settings.model_copy(update={
            "db_schema": schema, "data_dir": Path(tmp),
            "erp_gl_accounts": {review_bench.BENCH_GL: "E" + review_bench.BENCH_GL},
            "erp_tax_codes": {"19": "Input VAT 19%"},
        })  # the seeded invoices map to ERP bills: each approval queues one
        with db.connection(url, schema) as conn:
            review_bench.drop_schema(conn, schema)
        try:
            return _run(s, Path(tmp), n_exceptions, race_items)
        finally:
            with db.connection(url, schema) as conn:
                review_bench.drop_schema(conn, schema)


def _run(s: Settings, tmp: Path, n: int, race_items: int) -> tuple[str, bool]:
    assert s.database_url
    started = time.perf_counter()
    with db.connection(s.database_url, s.db_schema) as conn:
        db.upgrade(conn)
        review_bench.seed_open_exceptions(conn, n, str(_pdf(tmp)), _fields())
        digest = hash_password(PASSWORD)
        for name in ("bench_timer", "ann", "bob"):
            users.add_user(conn, name, "clerk", digest)
    seeded = time.perf_counter() - started
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(s.model_copy(update={"review_base_url": base}))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        queue, items = _time_pages(base, n)
        race_started = time.perf_counter()
        outcomes = _race(base, race_items)
        race_seconds = time.perf_counter() - race_started
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return _verdict(s, n, seeded, queue, items, outcomes, race_items, race_seconds)


def _verdict(s: Settings, n: int, seeded: float, queue: list[float], items: list[float],
             outcomes: dict[str, dict[str, int]], race_items: int,
             race_seconds: float) -> tuple[str, bool]:
    assert s.database_url
    with db.connection(s.database_url, s.db_schema) as conn:
        decisions = review_bench.decisions_per_item(conn, "review_approve")
        numbers = review_bench.item_numbers(conn, list(range(1, race_items + 1)))
        queued = review_bench.outbox_entries_per_item(conn, list(range(1, race_items + 1)))
    raced = {d["exception_id"]: d for d in decisions if d["exception_id"] <= race_items}
    twice = [e for e, d in raced.items() if d["n"] != 1]
    lost = [e for e, d in raced.items() if numbers.get(e) != f"{d['actors'][0]}-{e}"]
    missing = race_items - len(raced)
    not_once = [e for e in range(1, race_items + 1) if queued.get(e) != (1 if e in raced else 0)]
    ok = not twice and not lost and missing == 0 and not not_once
    lines = [
        f"seeded {n} open exceptions in {seeded:.1f} s",
        f"queue page (server): {_percentiles(queue)}  goal p95 < 150 ms",
        f"item page (server, image cached): {_percentiles(items)}  goal p95 < 300 ms",
        f"two clerks over {race_items} items in {race_seconds:.1f} s: "
        + ", ".join(f"{k} {v}" for k, v in outcomes.items()),
        f"items approved once: {len(raced) - len(twice)}, twice or more: {len(twice)},"
        f" never: {missing}, lost updates: {len(lost)}",
        f"ERP outbox: {sum(queued.values())} entries, items not queued exactly once per"
        f" approval: {len(not_once)}",
        "OK" if ok else "FAILED",
    ]
    return "\n".join(lines), ok


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
