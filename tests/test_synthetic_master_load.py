"""The generated master data loads with the project's own loader, and reloading changes nothing."""

from __future__ import annotations

import csv

import pytest

from staging.master import load_master_dir
from synthetic import master
from synthetic.plan import Options, plan_corpus

pytestmark = pytest.mark.db


def _rows(path) -> int:
    with path.open(encoding="utf-8") as fh:
        return sum(1 for _ in csv.DictReader(fh))


def test_generated_master_loads_and_reloads(conn, tmp_path):
    plan = plan_corpus(Options(invoices=120, seed=3))
    folder = tmp_path / "master"
    master.write_master(folder, plan.vendors, plan.orders, plan.receipts, plan.history)
    counts = load_master_dir(conn, folder)
    assert counts["vendors"] == _rows(folder / "vendors.csv") == len(plan.vendors)
    assert counts["coded_history"] == _rows(folder / "coded_history.csv") == 1200
    assert counts["purchase_orders"] == len(plan.orders) > 0
    assert counts["purchase_order_lines"] == sum(len(o.lines) for o in plan.orders)
    assert counts["goods_receipts"] == len(plan.receipts)
    before = conn.execute("SELECT count(*), max(vendor_id) FROM vendors").fetchone()
    load_master_dir(conn, folder)
    assert conn.execute("SELECT count(*), max(vendor_id) FROM vendors").fetchone() == before
    aliases = conn.execute("SELECT aliases FROM vendors WHERE vendor_id = 'V00001'").fetchone()
    assert list(aliases["aliases"]) == list(plan.vendors[0].aliases)
