"""The nightly deployment for real: `invoices serve` starts a Prefect server on loopback (its
database on the test Postgres) and serves the nightly cron plus a 10 s interval; a scheduled run
completes on a small generated inbox with its artifacts and report, and `run_deployment`
triggers another by hand. Every process started here is stopped by its process group id.
"""

from __future__ import annotations

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

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "nightly-scheduled/nightly"


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
    """`invoices serve --interval 10` against a fresh schema and Prefect database."""
    from tests.conftest import throwaway_schema

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
        }
        env.pop("PREFECT_API_URL", None)
        log = (base / "serve.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "cli.main", "serve", "--interval", "10"],
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
                yield {"api": api, "schema": schema, "url": database_url, "base": base}
        finally:
            _stop_group(process)
            log.close()
            db.drop_database(database_url, prefect_db)


def _wait_for_deployment(api: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        try:
            r = httpx.get(f"{api}/deployments/name/{DEPLOYMENT}", timeout=2)
            if r.status_code == 200:
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
