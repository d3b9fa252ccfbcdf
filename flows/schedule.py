"""The nightly batch on a schedule: a deployment with a cron in an explicit timezone, served
against a Prefect server, and the heartbeat automation that marks a run whose host died.

`scheduled_flow(report, relay)` builds the deployment's flow; the command line composes it with
the exception report (flows may not import review) and the ERP relay flow (`flows.relay`; nor
erp_sync) as module-level objects, `cli.scheduled`, so the served deployments' entry points are
those module paths. The relay runs after the batch and before the report, so the report shows
the receipts; it is also served as a deployment of its own, on its own interval. The flow reads
its settings from the environment of the serving process (inbox, master folder, database), and
the business date of the run is its scheduled slot, not the hour it happened to start.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from prefect import flow, serve
from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.runtime import flow_run
from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.types.entrypoint import EntrypointType

from flows.nightly import nightly_batch, settings_overrides
from flows.relay import sync_after_batch
from flows.runners import task_runner
from flows.server import PrefectServer, start_server, wait_healthy
from invoices.settings import Settings, load_settings
from staging import master

log = logging.getLogger(__name__)

HEARTBEAT_AUTOMATION = "invoices: crash flow runs without heartbeats"
FINAL_EVENTS = {
    "prefect.flow-run.heartbeat",
    "prefect.flow-run.Completed",
    "prefect.flow-run.Failed",
    "prefect.flow-run.Cancelled",
    "prefect.flow-run.Crashed",
}

Report = Callable[[Settings, dict[str, Any]], dict[str, str]]


def scheduled_flow(report: Report, relay: Any | None = None) -> Any:
    """The flow a deployment runs: load the master folder when one is set, run the nightly
    batch on `schedule_inbox` for this run's scheduled slot, relay what it approved to the ERP
    (the `relay` flow, unless `erp_sync_after_batch` is off), then write its report."""

    @flow(name="nightly-scheduled", log_prints=True)
    def nightly_scheduled() -> dict[str, Any]:
        """The nightly batch of the scheduled slot, with its exception report."""
        settings = load_settings()
        if settings.schedule_inbox is None or not settings.database_url:
            raise ValueError("set INVOICES_SCHEDULE_INBOX and DATABASE_URL for scheduled runs")
        if settings.schedule_master_dir is not None:
            counts = master.load_master_folder(
                settings.database_url, settings.db_schema, settings.schedule_master_dir
            )
            log.info("master data: %s", counts)
        slot = flow_run.scheduled_start_time or datetime.now(UTC)
        runner = task_runner(settings, settings.task_workers)
        summary = nightly_batch.with_options(task_runner=runner)(
            inbox=str(settings.schedule_inbox.resolve()),
            overrides=settings_overrides(settings),
            scheduled_for=slot.isoformat(),
        )
        synced = sync_after_batch(relay, settings, settings_overrides(settings))
        if synced is not None:
            summary["erp_sync"] = synced
        summary.update(report(settings, summary))
        return summary

    return nightly_scheduled


def nightly_deployment(
    scheduled: Any, entrypoint: str, settings: Settings, interval_seconds: float | None = None
) -> Any:
    """The deployment of the scheduled flow: the cron in its timezone (a cron without one runs
    in UTC), plus a short interval when asked (tests, a demo)."""
    schedules: list[Any] = [
        CronSchedule(cron=settings.schedule_cron, timezone=settings.schedule_timezone)
    ]
    if interval_seconds:
        schedules.append(IntervalSchedule(interval=timedelta(seconds=interval_seconds)))
    return _module_deployment(
        scheduled, settings.deployment_name, schedules, entrypoint,
        "The nightly accounts-payable batch",
    )  # fmt: skip


def relay_deployment(relay: Any, entrypoint: str, settings: Settings) -> Any:
    """The ERP relay's own deployment (`flows.relay`): every `erp_sync_interval_seconds`
    (no schedule when 0)."""
    schedules: list[Any] = []
    if settings.erp_sync_interval_seconds > 0:
        interval = timedelta(seconds=settings.erp_sync_interval_seconds)
        schedules.append(IntervalSchedule(interval=interval))
    return _module_deployment(
        relay, settings.erp_sync_deployment_name, schedules, entrypoint,
        "The ERP outbox relay: approved invoices to the ERP",
    )  # fmt: skip


def _module_deployment(
    flow_: Any, name: str, schedules: list[Any], entrypoint: str, description: str
) -> Any:
    """A deployment whose runs load the flow from a module path (the composed flow objects of
    `cli`), not from the file that defines it."""
    deployment = flow_.to_deployment(
        name=name,
        schedules=schedules,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description=description,
    )
    deployment.entrypoint = entrypoint
    return deployment


def ensure_heartbeat_automation(settings: Settings) -> Any:
    """The automation that marks a flow run Crashed when no heartbeat came for
    `heartbeat_window_seconds` (created once; the window must be well above the heartbeat
    interval, or healthy runs are marked crashed)."""
    if settings.heartbeat_window_seconds < 2 * settings.heartbeat_seconds:
        raise ValueError("heartbeat_window_seconds must be at least twice heartbeat_seconds")
    try:
        return Automation.read(name=HEARTBEAT_AUTOMATION)
    except ValueError:
        pass
    automation = Automation(
        name=HEARTBEAT_AUTOMATION,
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect=FINAL_EVENTS,
            match={"prefect.resource.id": ["prefect.flow-run.*"]},
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=timedelta(seconds=settings.heartbeat_window_seconds),
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED, message="no heartbeat: the host of this run died"
            )
        ],
    )
    return automation.create()


def serve_nightly(*deployments: Any) -> None:
    """Serve the deployments until interrupted (SIGINT or SIGTERM). Their schedules are not
    paused on the way out, so a run due while nothing serves it is late, not lost. One run at a
    time: a slot due while a run is still going waits for it (so the relay's own runs never
    overlap a batch, which relays what it approved itself)."""
    serve(*deployments, pause_on_shutdown=False, print_starting_message=False, limit=1)


def serve_on_this_machine(
    settings: Settings,
    scheduled: Any,
    entrypoint: str,
    interval_seconds: float | None = None,
    relay: tuple[Any, str] | None = None,
) -> None:
    """Everything one machine needs: a Prefect server on 127.0.0.1 (unless `prefect_api_url`
    names one), the heartbeat automation, and the served deployments (the nightly one, and the
    relay's, `relay` being its flow and entry point, every `erp_sync_interval_seconds`), until
    interrupted; the server started here is stopped on the way out."""
    assert settings.database_url
    server = None if settings.prefect_api_url else start_server(settings)
    api_url = settings.prefect_api_url or (server.api_url if server else "")
    # the flow runs are child processes: they find the server and the database here
    os.environ.update(
        {
            "PREFECT_API_URL": api_url,
            "DATABASE_URL": settings.database_url,
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": str(settings.heartbeat_seconds),
        }
    )
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C, so the server is stopped too
    try:
        with temporary_settings(updates={PREFECT_API_URL: api_url}):
            ensure_heartbeat_automation(settings)
            deployments = [nightly_deployment(scheduled, entrypoint, settings, interval_seconds)]
            if relay is not None:
                deployments.append(relay_deployment(*relay, settings))
            log.info(
                "serving %s/%s: cron %r in %s on %s",
                scheduled.name,
                settings.deployment_name,
                settings.schedule_cron,
                settings.schedule_timezone,
                api_url,
            )
            server = serve_through_outages(deployments, settings, api_url, server)
    except KeyboardInterrupt:
        log.info("stopping: the schedule stays active; the next slot is late, not lost")
    finally:
        if server is not None:
            server.stop()


def serve_through_outages(
    deployments: list[Any], settings: Settings, api_url: str, server: PrefectServer | None
) -> PrefectServer | None:
    """Serve the deployments until interrupted, through outages of the Prefect server.

    Prefect's runner gives up after three failed polls in a row ("Service exceeded error
    threshold") and `serve` returns with that error: the process would live on, serving
    nothing, and every slot after the server came back would be missed. Here a lost API is
    waited for (a server this process started and that died is started again) and the
    deployment served again; the runs whose slot passed meanwhile are still Scheduled (Late)
    on the server, and are run then. Returns the server this process now runs, if any.
    """
    while True:
        try:
            serve_nightly(*deployments)
            return server  # interrupted (Ctrl-C): Prefect's serve returns
        except Exception as exc:  # noqa: BLE001 - the API went away; SystemExit passes
            log.warning(
                "lost the Prefect API at %s (%s): serving again once it is back", api_url, exc
            )
        signal.signal(signal.SIGTERM, _interrupt)  # Prefect's runner had put in its own
        server = wait_for_api(settings, api_url, server)


def wait_for_api(
    settings: Settings, api_url: str, server: PrefectServer | None, poll: float = 5.0
) -> PrefectServer | None:
    """Block until the Prefect API answers again; a server this process started that has
    exited is started again. Returns the server this process runs, if any."""
    while True:
        if server is not None and server.process.poll() is not None:
            log.warning(
                "the Prefect server exited (%s): starting it again", server.process.returncode
            )
            try:
                return start_server(settings)
            except (RuntimeError, TimeoutError) as exc:
                log.warning("the Prefect server did not start (%s): trying again", exc)
                time.sleep(poll)
                continue
        try:
            wait_healthy(api_url, 60.0, server.process if server is not None else None)
            log.info("the Prefect API at %s is back", api_url)
            return server
        except (RuntimeError, TimeoutError):
            log.info("the Prefect API at %s is still down", api_url)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt
