"""The nightly deployment for real: `invoices serve` starts a Prefect server on loopback (its
database on the test Postgres) and serves the nightly cron plus a 20 s interval, and the ERP
relay's deployment on its own 20 s interval; a scheduled run completes on a small generated inbox
with its artifacts and report, the invoices it approved straight through are written (EN 16931
files) by the relay after the batch, each once, `run_deployment` triggers another by hand, and
the relay's own schedule sends an invoice approved after the batch. Every process started here
is stopped by its process group id.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings

from staging import db
from synthetic import generate_corpus
from tests.processes import drain_prefect_services

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "nightly-scheduled/nightly"
RELAY_DEPLOYMENT = "erp-relay/erp-relay"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(process: subprocess.Popen, timeout: float = 30) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module")
def served(database_url, tmp_path_factory):
    """`invoices serve --interval 10` against a fresh schema and Prefect database; the
    pipeline approves straight-through invoices and the relay writes EN 16931 files."""
    from tests.conftest import throwaway_schema
    from tests.erp_support import gl_mapping, tax_mapping

    base = tmp_path_factory.mktemp("served")
    generate_corpus(
        base / "corpus", invoices=3, seed=21, workers=1, scanned_share=0.0, image_share=0.0
    )
    port, prefect_db = _free_port(), f"prefect_t{uuid.uuid4().hex[:10]}"
    with throwaway_schema(database_url) as schema:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "INVOICES_DB_SCHEMA": schema,
            "INVOICES_SCHEDULE_INBOX": str(base / "corpus" / "docs"),
            "INVOICES_SCHEDULE_MASTER_DIR": str(base / "corpus" / "master"),
            "INVOICES_PREFECT_PORT": str(port),
            "INVOICES_PREFECT_DATABASE": prefect_db,
            "INVOICES_DATA_DIR": str(base / "data"),
            "INVOICES_REPORTS_DIR": str(base / "reports"),
            "INVOICES_HEARTBEAT_SECONDS": "30",
            "INVOICES_HEARTBEAT_WINDOW_SECONDS": "120",
            "PREFECT_HOME": str(base / "prefect-home"),
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "5",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "INVOICES_ERP_APPROVE_STRAIGHT_THROUGH": "true",
            "INVOICES_ERP_ADAPTER": "en16931",
            "INVOICES_ERP_OUTBOUND_DIR": str(base / "outbound"),
            "INVOICES_ERP_BUSINESS_RULES": "false",  # the schema still: quicker, rules elsewhere
            "INVOICES_ERP_GL_ACCOUNTS": json.dumps(gl_mapping(base / "corpus")),
            "INVOICES_ERP_TAX_CODES": json.dumps(tax_mapping()),
            "INVOICES_ERP_SYNC_INTERVAL_SECONDS": "20",
        }
        env.pop("PREFECT_API_URL", None)
        log = (base / "serve.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--interval", "20"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        api = f"http://127.0.0.1:{port}/api"
        try:
            _wait_for_deployment(api, process, base / "serve.log")
            with temporary_settings(updates={PREFECT_API_URL: api}):
                # the relay's own runs wait until its test: on a busy machine the runs of the
                # nightly interval already queue up behind each other (one at a time)
                asyncio.run(_set_paused(RELAY_DEPLOYMENT, True))
                try:
                    yield {"api": api, "schema": schema, "url": database_url, "base": base,
                           "env": env}  # fmt: skip
                finally:
                    drain_prefect_services()
        finally:
            _stop_group(process)
            log.close()
            db.drop_database(database_url, prefect_db)


async def _set_paused(name: str, paused: bool) -> None:
    async with get_client() as client:
        deployment = await client.read_deployment_by_name(name)
        await (client.pause_deployment if paused else client.resume_deployment)(deployment.id)


def _wait_for_deployment(api: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            found = [httpx.get(f"{api}/deployments/name/{name}", timeout=2).status_code
                     for name in (DEPLOYMENT, RELAY_DEPLOYMENT)]  # fmt: skip
            if found == [200, 200]:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError("no deployment served in 90 s:\n" + log.read_text(errors="replace"))


async def _flow_runs(state: str | None = None):
    async with get_client() as client:
        runs = await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["nightly"]))
        )
    return [r for r in runs if state is None or r.state_type.value == state]


def _batch_runs(served) -> list[dict]:
    with db.connection(served["url"], served["schema"]) as conn:
        return conn.execute("SELECT * FROM batch_runs ORDER BY started_at").fetchall()


def test_scheduled_run_completes_with_artifacts_and_business_date(served):
    import asyncio

    deadline, done = time.monotonic() + 240, []
    while time.monotonic() < deadline and not done:
        done = [r for r in asyncio.run(_flow_runs("COMPLETED")) if r.auto_scheduled]
        time.sleep(2)
    log = (served["base"] / "serve.log").read_text(errors="replace")
    assert done, "no scheduled run completed:\n" + log[-4000:]

    async def details():
        async with get_client() as client:
            dep = await client.read_deployment_by_name(DEPLOYMENT)
            arts = await client.read_artifacts()
            automations = await client.read_automations_by_name(
                "invoices: crash flow runs without heartbeats"
            )
        return dep, arts, automations

    dep, artifacts, automations = asyncio.run(details())
    crons = [s.schedule for s in dep.schedules if hasattr(s.schedule, "cron")]
    assert crons and crons[0].cron == "0 2 * * *" and crons[0].timezone == "Europe/Berlin"
    keys = {a.key for a in artifacts}
    assert {"nightly-batch-summary", "nightly-batch-stages", "nightly-batch-progress"} <= keys
    progress = [a for a in artifacts if a.key == "nightly-batch-progress"]
    assert any(float(a.data) == 100.0 for a in progress)
    assert automations and automations[0].trigger.within.total_seconds() == 120

    first = next(r for r in _batch_runs(served) if r["status"] == "completed")
    slot = done[-1].expected_start_time
    assert first["scheduled_for"] is not None and first["business_date"] is not None
    assert first["staged"] == 3 and first["report_html"]
    assert Path(first["report_html"]).is_file()
    assert first["metrics"]["pages"]["text_layer"] >= 3
    assert slot is not None


def test_run_deployment_by_hand(served):
    run = run_deployment(DEPLOYMENT, timeout=240, poll_interval=1)
    assert run.state is not None and run.state.is_completed(), run.state
    assert not run.auto_scheduled
    mine = [r for r in _batch_runs(served) if r["status"] == "completed"]
    assert len(mine) >= 2
    assert all(r["business_date"] is not None for r in mine)


async def _relay_reports():
    """The relay's runs and the counts each reported (its table artifact)."""
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowFilter,
        FlowFilterName,
    )

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_filter=FlowFilter(name=FlowFilterName(any_=["erp-relay"]))
        )
        artifacts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["erp-relay-counts"]))
        )
        relay = await client.read_deployment_by_name(RELAY_DEPLOYMENT)
    counts = {a.flow_run_id: json.loads(a.data)[0] for a in artifacts
              if a.key == "erp-relay-counts"}  # fmt: skip
    return [(r, counts.get(r.id)) for r in runs], relay


def _outbox(served) -> list[dict]:
    with db.connection(served["url"], served["schema"]) as conn:
        return conn.execute(
            "SELECT o.entry_id, o.document_id, o.status, o.attempts, i.status AS invoice,"
            " i.erp_id, i.approved_by, o.done_at FROM erp_outbox o JOIN invoices i"
            " USING (document_id) ORDER BY o.entry_id"
        ).fetchall()


def test_the_batch_relays_what_it_approved_to_the_erp_each_once(served):
    """The straight-through invoices of the first scheduled run were approved by the pipeline
    and written by the relay that runs after the batch (a subflow of the nightly run), one file
    each; the later runs added nothing."""
    entries = _outbox(served)
    assert entries, "the batch approved no invoice straight through"
    assert {(e["status"], e["attempts"], e["invoice"], e["approved_by"]) for e in entries} == {
        ("done", 1, "synced", "pipeline")
    }
    files = sorted(p.name for p in (served["base"] / "outbound").glob("*.xml"))
    assert files == sorted(e["erp_id"] for e in entries)  # one file per bill, no other
    reports, relay = asyncio.run(_relay_reports())
    after_batch = [c for r, c in reports if r.parent_task_run_id is not None and c]
    assert sum(c["done"] for c in after_batch) == len(entries)
    assert all(c["dead"] == 0 for c in after_batch)
    own = [c for r, c in reports if r.deployment_id == relay.id and c]
    assert sum(c["done"] for c in own) == 0  # nothing was left for the relay's own schedule
    assert relay.schedules and relay.schedules[0].schedule.interval.total_seconds() == 20


def test_the_served_relay_sends_an_approval_made_after_the_batch(served):
    """With the nightly deployment paused (its queued runs dropped), an invoice a clerk
    approves now reaches the ERP through the relay deployment's own interval schedule."""
    from staging import outbox, runs, store
    from synthetic.staged import billable_labels, result_from_label
    from tests.erp_support import file_erp_settings

    async def drop_queued_nightly_runs():
        async with get_client() as client:
            for run in await _flow_runs("SCHEDULED"):
                await client.delete_flow_run(run.id)

    asyncio.run(_set_paused(DEPLOYMENT, True))
    asyncio.run(drop_queued_nightly_runs())
    deadline = time.monotonic() + 120  # a nightly run already going would relay it too
    while time.monotonic() < deadline and any(
        r.state_type.value in ("PENDING", "RUNNING") for r in asyncio.run(_flow_runs())
    ):
        time.sleep(1)
    asyncio.run(_set_paused(RELAY_DEPLOYMENT, False))
    corpus = served["base"] / "corpus"
    settings = file_erp_settings(
        served["url"], served["schema"], corpus, served["base"] / "outbound"
    )
    with db.connection(served["url"], served["schema"]) as conn:
        run_id = runs.start_run(conn, "by hand")
        label = billable_labels(corpus)[0]
        document_id = store.stage_result(conn, result_from_label(corpus, label, "LATE-"), run_id)
        assert document_id is not None
        outbox.approve_invoice(conn, document_id, "clerk.anna", 1, settings=settings)
    approved_at = time.monotonic()
    deadline, entry = approved_at + 120, None
    while time.monotonic() < deadline:
        entry = next(e for e in _outbox(served) if e["document_id"] == document_id)
        if entry["status"] == "done":
            break
        time.sleep(1)
    waited = time.monotonic() - approved_at
    log = (served["base"] / "serve.log").read_text(errors="replace")
    assert entry is not None and entry["status"] == "done", log[-4000:]
    assert entry["invoice"] == "synced" and entry["attempts"] == 1
    assert (served["base"] / "outbound" / entry["erp_id"]).is_file()
    sent: list = []
    while time.monotonic() < deadline + 30 and not sent:  # its counts come as the run ends
        reports, relay = asyncio.run(_relay_reports())
        sent = [r for r, c in reports if r.deployment_id == relay.id and c and c["done"] == 1]
        time.sleep(1)
    assert len(sent) == 1 and sent[0].auto_scheduled  # the schedule's run, no batch's
    print(f"approved -> sent by the relay's own schedule in {waited:.1f} s")
