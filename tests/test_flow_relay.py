"""The relay flow's wiring after a batch, pure (the flow itself runs on a real Prefect server in
tests/test_flow_schedule.py)."""

from __future__ import annotations

from flows.relay import counts_row, sync_after_batch
from invoices.settings import load_settings


class FakeRelay:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[dict] = []
        self.fail = fail

    def __call__(self, overrides):
        self.calls.append(overrides)
        if self.fail:
            raise RuntimeError("the ERP relay fell over")
        return {"done": 2, "dead": 0, "left": {"pending": 0}}


def test_the_relay_runs_after_the_batch_with_its_settings():
    relay = FakeRelay()
    counts = sync_after_batch(relay, load_settings(), {"db_schema": "s1"})
    assert counts == {"done": 2, "dead": 0, "left": {"pending": 0}}
    assert relay.calls == [{"db_schema": "s1"}]


def test_switched_off_or_absent_the_relay_does_not_run():
    relay = FakeRelay()
    assert sync_after_batch(relay, load_settings(erp_sync_after_batch=False), {}) is None
    assert sync_after_batch(None, load_settings(), {}) is None
    assert relay.calls == []


def test_a_relay_that_fails_after_the_batch_is_recorded_not_raised():
    counts = sync_after_batch(FakeRelay(fail=True), load_settings(), {})
    assert counts == {"error": "RuntimeError: the ERP relay fell over"}


def test_the_artifact_row_has_the_counts_and_what_is_left():
    row = counts_row({"done": 3, "retried": 1, "left": {"pending": 2, "dead": 1}, "seconds": 0.5})
    assert row == {"done": 3, "adopted": 0, "retried": 1, "dead": 0, "lost_lease": 0,
                   "breaker_opened": 0, "left_pending": 2, "left_dead": 1, "seconds": 0.5}
