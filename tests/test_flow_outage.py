"""The Prefect server down: a scheduled run is late, not lost, and `invoices run` still works.

A Prefect server (its database on the test Postgres) is started here, and `invoices serve`
serves the nightly deployment against it with a 90 s interval beside the cron. While no run is
going, the server is stopped before a slot; past the slot `invoices serve` is still there, and
a manual `invoices run` whose settings name the stopped server completes on a throwaway server
of its own. The server is started again: the run of the missed slot happens, late, and stands
for its slot (batch_runs.scheduled_for). Every process started here is stopped by its pid.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.server import start_server
from invoices.settings import load_settings
from staging import db
from synthetic import generate_corpus
from tests.conftest import throwaway_schema
from tests.processes import stop_tree

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DEPLOYMENT = "nightly-scheduled/nightly"
INTERVAL = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _runs() -> list:
    async with get_client() as client:
        return await client.read_flow_runs(
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=["nightly"]))
        )


def _wait(what: str, check, timeout: float, log: Path, step: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (httpx.HTTPError, OSError):
            found = None
        if found:
            return found
        time.sleep(step)
    raise AssertionError(
        f"{what} not in {timeout:.0f} s:\n" + log.read_text(errors="replace")[-4000:]
    )


def _next_quiet_slot(log: Path):
    """A scheduled run due in 10 s or more, while no run is going."""

    def check():
        runs = asyncio.run(_runs())
        if any(r.state_type.value in ("RUNNING", "PENDING") for r in runs):
            return None
        soon = datetime.now(UTC) + timedelta(seconds=10)
        due = [
            r for r in runs
            if r.state_type.value == "SCHEDULED" and r.expected_start_time > soon
        ]  # fmt: skip
        return min(due, key=lambda r: r.expected_start_time) if due else None

    return _wait("a quiet slot", check, 300, log)


def test_server_down_scheduled_run_late_not_lost_and_manual_run_works(database_url, tmp_path):
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, invoices=3, seed=22, workers=1, scanned_share=0.0, image_share=0.0)
    port, prefect_db = _free_port(), f"prefect_o{uuid.uuid4().hex[:10]}"
    api = f"http://127.0.0.1:{port}/api"
    server_settings = load_settings(
        database_url=database_url,
        prefect_port=port,
        prefect_database=prefect_db,
        data_dir=tmp_path / "data",
    )
    log = tmp_path / "serve.log"
    with throwaway_schema(database_url) as schema, throwaway_schema(database_url) as manual:
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": database_url,
            "INVOICES_DB_SCHEMA": schema,
            "INVOICES_SCHEDULE_INBOX": str(corpus / "docs"),
            "INVOICES_SCHEDULE_MASTER_DIR": str(corpus / "master"),
            "INVOICES_PREFECT_API_URL": api,
            "INVOICES_DATA_DIR": str(tmp_path / "data"),
            "INVOICES_REPORTS_DIR": str(tmp_path / "reports"),
            "INVOICES_HEARTBEAT_SECONDS": "30",
            "INVOICES_HEARTBEAT_WINDOW_SECONDS": "120",
            "PREFECT_HOME": str(tmp_path / "prefect-home"),
            "PREFECT_RUNNER_POLL_FREQUENCY": "2",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
        env.pop("PREFECT_API_URL", None)
        server = start_server(server_settings, timeout=120)
        serve = None
        try:
            serve = subprocess.Popen(
                [sys.executable, "-m", "cli.main", "serve", "--interval", str(INTERVAL)],
                cwd=ROOT,
                env=env,
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            with temporary_settings(updates={PREFECT_API_URL: api}):
                _wait(
                    "the deployment",
                    lambda: httpx.get(f"{api}/deployments/name/{DEPLOYMENT}", timeout=2).is_success,
                    120,
                    log,
                )
                missed = _next_quiet_slot(log)
                server.stop()  # the outage: before the slot, with nothing running
                slot = missed.expected_start_time
                while datetime.now(UTC) < slot + timedelta(seconds=15):
                    time.sleep(1)
                assert serve.poll() is None, log.read_text(errors="replace")[-4000:]

                # a run by hand while the server is down; its settings name that server
                manual_env = {**env, "INVOICES_DB_SCHEMA": manual, "PREFECT_API_URL": api}
                done = subprocess.run(
                    [sys.executable, "-m", "cli.main", "run", "--inbox", str(corpus / "docs")]
                    + ["--master", str(corpus / "master")],
                    cwd=ROOT,
                    env=manual_env,
                    capture_output=True,
                    timeout=400,
                    start_new_session=True,
                )
                assert done.returncode == 0, done.stderr.decode(errors="replace")[-4000:]
                assert b"does not answer" in done.stderr
                with db.connection(database_url, manual) as conn:
                    staged = conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"]
                assert staged == 3

                # the served runner gives up once its client's retries run out; how long that
                # takes depends on the load, so the outage lasts until it has
                _wait(
                    "serve to notice the outage",
                    lambda: (
                        "serving again once it is back" in log.read_text(errors="replace") or None
                    ),
                    300,
                    log,
                    step=2,
                )
                server = start_server(server_settings, timeout=120)  # the server is back

                def missed_run_completed():
                    runs = {r.id: r for r in asyncio.run(_runs())}
                    run = runs.get(missed.id)
                    return run if run is not None and run.state_type.value == "COMPLETED" else None

                late = _wait("the missed slot's run", missed_run_completed, 300, log, step=2)
            assert late.start_time is not None and late.start_time > slot + timedelta(seconds=15)
            assert "serving again once it is back" in log.read_text(errors="replace")
            with db.connection(database_url, schema) as conn:
                rows = conn.execute(
                    "SELECT status, started_at FROM batch_runs WHERE scheduled_for = %s",
                    (slot,),
                ).fetchall()
            assert [r["status"] for r in rows] == ["completed"]  # it stands for its slot
            assert rows[0]["started_at"] > slot + timedelta(seconds=15)
        finally:
            if serve is not None:
                stop_tree(serve)
            server.stop()
            db.drop_database(database_url, prefect_db)
