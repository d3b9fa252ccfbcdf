"""The ERP outbox relay as a Prefect flow: after each batch, and as a deployment of its own.

`relay_flow(drain)` builds the flow around the relay that the command line passes in (flows may
not import erp_sync: `cli.relay` composes them, as `cli.scheduled` composes the nightly flow
with the exception report). One run drains the entries due now (it does not wait for retries
due later, nor for new approvals) and publishes what it did (done, adopted, retried, dead, and
what is left in the outbox) as a table artifact. The nightly batch runs it as a subflow after
staging (`sync_after_batch`, switched off by `erp_sync_after_batch`); `invoices serve` serves
it as its own deployment every `erp_sync_interval_seconds` (`flows.schedule.relay_deployment`),
so an approval a clerk makes during the day reaches the ERP without waiting for the next batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from invoices.errors import DatabaseUnavailable
from invoices.settings import Settings, load_settings

log = logging.getLogger(__name__)

# the relay: drains the due entries of the settings' outbox once; what it did, as counts
Drain = Callable[[Settings], dict[str, Any]]
COUNTS_ARTIFACT = "erp-relay-counts"
COUNT_COLUMNS = ("done", "adopted", "retried", "dead", "lost_lease", "breaker_opened")


def relay_flow(drain: Drain) -> Any:
    """The relay flow around `drain`: one run relays what is due now and reports the counts."""

    @task(
        name="drain-outbox",
        cache_policy=NO_CACHE,
        retries=2,
        retry_delay_seconds=[5, 30],
        retry_condition_fn=_database_down,
    )
    def drain_outbox(settings: Settings) -> dict[str, Any]:
        """Relay the due entries (retried when the database was down: an entry done stays
        done; the ERP's own faults are the relay's to retry, per entry)."""
        return drain(settings)

    @flow(name="erp-relay", log_prints=True)
    def erp_relay(overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Relay the outbox entries due now to the ERP of the settings; their counts."""
        settings = load_settings(**(overrides or {}))
        if not settings.database_url:
            raise ValueError("no database: set DATABASE_URL for the relay")
        counts = drain_outbox(settings)
        create_table_artifact(
            table=[counts_row(counts)], key=COUNTS_ARTIFACT, description="ERP outbox relay"
        )
        log.info("ERP relay: %s", counts)
        return counts

    return erp_relay


def _database_down(task: Any, task_run: Any, state: Any) -> bool:
    """Retry the drain only for an infrastructure fault of our own (settings that name no ERP,
    say, fail the same way every time)."""
    try:
        state.result()
    except DatabaseUnavailable:
        return True
    except Exception:  # noqa: BLE001 - any other failure: no retry
        return False
    return False


def counts_row(counts: dict[str, Any]) -> dict[str, Any]:
    """The artifact's row: what the run did and what is left in the outbox."""
    row = {k: counts.get(k, 0) for k in COUNT_COLUMNS}
    row.update({f"left_{k}": v for k, v in (counts.get("left") or {}).items()})
    row["seconds"] = counts.get("seconds", 0)
    return row


def sync_after_batch(
    relay: Any | None, settings: Settings, overrides: dict[str, Any]
) -> dict[str, Any] | None:
    """Run the relay flow after a batch (a subflow when called inside one) with the batch's
    setting `overrides`, unless `erp_sync_after_batch` is off. The batch is staged by then: a
    relay that fails is logged and recorded in the summary, and the batch's report is still
    written; the relay's own schedule picks the entries up later."""
    if relay is None or not settings.erp_sync_after_batch:
        return None
    try:
        return dict(relay(overrides=overrides))
    except Exception as exc:  # noqa: BLE001 - the batch is staged; its report must still come
        log.exception("the ERP relay after the batch failed: the scheduled relay retries")
        return {"error": f"{type(exc).__name__}: {exc}"}
