"""`invoices bench-review` at a small size: timings printed, two clerks, nothing lost."""

from __future__ import annotations

import pytest

from review.bench import bench_review

pytestmark = [pytest.mark.db, pytest.mark.slow]


def test_two_clerks_race_loses_nothing(settings):
    report, ok = bench_review(settings, n_exceptions=300, race_items=20)
    assert ok, report
    assert "items approved once: 20, twice or more: 0, never: 0, lost updates: 0" in report
    assert "ERP outbox: 20 entries, items not queued exactly once per approval: 0" in report
    assert "queue page (server): p50" in report and "item page (server, image cached)" in report
