"""The Prefect server on the Redis event broker (prefect-redis): a redis-server and a real
`prefect server start` on loopback ports, with `prefect_redis_url` set; a small flow of tasks
runs against it and every task run is recorded by the server (task runs reach its database
only through the broker), and the broker's streams are in that Redis. Every process started
here is stopped by its own id."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
import uuid

import pytest
import redis
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_LOGGING_TO_API_ENABLED,
    temporary_settings,
)

from classifiers.local_server import free_port
from flows.server import broker_environment, start_server
from invoices.settings import load_settings
from staging import db
from tests.processes import drain_prefect_services

pytestmark = [pytest.mark.db, pytest.mark.slow]

TASKS = 200


@task
def billed(n: int) -> int:
    return n * 2


@flow
def small_batch(n: int) -> int:
    return sum(f.result() for f in [billed.submit(i) for i in range(n)])


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server on a free loopback port, without persistence; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (the Makefile installs it)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        + ["--dir", str(tmp_path)],
        stdout=(tmp_path / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, "no redis-server"
                time.sleep(0.2)
        yield f"redis://127.0.0.1:{port}/0", client
    finally:
        client.close()
        process.terminate()
        process.wait(10)


async def _task_runs(flow_run_id: uuid.UUID) -> list:
    """Every task run the server has recorded for a flow run (pages of 200, its limit)."""
    runs: list = []
    async with get_client() as client:
        while True:
            page = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=200,
                offset=len(runs),
            )
            runs += page
            if len(page) < 200:
                return runs


def test_the_server_on_the_redis_broker_records_every_task_run(
    redis_server, database_url, tmp_path, monkeypatch
):
    url, client = redis_server
    prefect_db = f"prefect_r{uuid.uuid4().hex[:10]}"
    settings = load_settings(
        database_url=database_url,
        prefect_port=free_port(),
        prefect_database=prefect_db,
        prefect_redis_url=url,
        data_dir=tmp_path / "data",
    )
    assert broker_environment(settings)["PREFECT_MESSAGING_BROKER"] == "prefect_redis.messaging"
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    server = start_server(settings, timeout=120)
    try:
        api = {PREFECT_API_URL: server.api_url, PREFECT_LOGGING_TO_API_ENABLED: False}
        with temporary_settings(updates=api):
            try:
                state = small_batch(TASKS, return_state=True)
                assert state.is_completed() and state.result() == TASKS * (TASKS - 1)
                deadline, runs = time.monotonic() + 180, []
                while time.monotonic() < deadline:
                    runs = asyncio.run(_task_runs(state.state_details.flow_run_id))
                    done = all(r.state_type.value == "COMPLETED" for r in runs)
                    if len(runs) == TASKS and done:
                        break
                    time.sleep(2)
            finally:
                drain_prefect_services()
        assert len(runs) == TASKS, f"{len(runs)} of {TASKS} task runs recorded"
        assert all(r.state_type.value == "COMPLETED" for r in runs)
        # the events went through this Redis: the broker's streams live there
        streams = [k for k in client.keys("*") if client.type(k) == b"stream"]
        assert streams, client.keys("*")
    finally:
        server.stop()
        db.drop_database(database_url, prefect_db)
