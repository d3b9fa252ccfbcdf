"""The nightly batch on a Dask scheduler and two workers started here on loopback gets the same
staged rows as the thread runner (with and without its document workers), and counts the
workers' CPU. The scheduler and workers are stopped by their process group
ids."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

import flows.nightly as nightly
from flows.runners import task_runner
from invoices.settings import load_settings
from staging import db, master
from synthetic import generate_corpus
from tests.conftest import throwaway_schema

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_THREAD_LIMIT": "1"}
    return subprocess.Popen(
        args,
        env=env,
        cwd=ROOT,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    port = _free_port()
    scheduler = _start(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port)]
        + ["--no-dashboard"],
        base / "scheduler.log",
    )
    workers = None
    try:
        time.sleep(3)
        workers = _start(
            [str(BIN / "dask"), "worker", f"tcp://127.0.0.1:{port}", "--nworkers", "2"]
            + ["--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            base / "workers.log",
        )
        from distributed import Client

        with Client(f"tcp://127.0.0.1:{port}", timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        if workers is not None:
            _stop(workers)
        _stop(scheduler)


def _staged(url: str, schema: str) -> list[tuple]:
    with db.connection(url, schema) as conn:
        rows = conn.execute(
            "SELECT d.file_name, d.status, i.total, i.vendor_id, i.invoice_number,"
            " coalesce(e.reason_codes, '{}') AS reasons"
            " FROM documents d LEFT JOIN invoices i USING (document_id)"
            " LEFT JOIN exception_queue e USING (document_id) ORDER BY d.file_name"
        ).fetchall()
    return [tuple(r.values()) for r in rows]


def test_dask_cluster_stages_the_same_rows_as_threads(cluster, database_url, tmp_path):
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, invoices=5, seed=41, workers=1, scanned_share=0.0, image_share=0.0)
    results, usage = {}, {}
    with prefect_test_harness(server_startup_timeout=120):
        runs = (
            ("threads", {"process_pool": False}),
            ("threads and document workers", {}),
            ("dask", {"dask_address": cluster}),
        )
        for name, extra in runs:
            with throwaway_schema(database_url) as schema:
                settings = load_settings(
                    database_url=database_url,
                    db_schema=schema,
                    reports_dir=tmp_path / "reports",
                    documents_per_task=2,
                    **extra,
                )
                with db.connection(database_url, schema) as conn:
                    master.load_master_dir(conn, corpus / "master")
                runner = task_runner(settings, 2)
                summary = nightly.nightly_batch.with_options(task_runner=runner)(
                    inbox=str(corpus / "docs"), overrides=nightly.settings_overrides(settings)
                )
                assert summary["staged"] == 5
                results[name] = _staged(database_url, schema)
                usage[name] = summary["cpu_seconds_by_process"]
    assert type(task_runner(load_settings(dask_address=cluster), 2)).__name__ == "DaskTaskRunner"
    assert len(results["dask"]) == 5
    assert results["dask"] == results["threads"] == results["threads and document workers"]
    # the workers' CPU counts in the run's (the flow process alone saw almost none on Dask)
    assert usage["threads"]["workers"] == 0 and usage["threads"]["worker_processes"] == 0
    assert usage["threads and document workers"]["workers"] > 0
    assert usage["dask"]["workers"] > 0 and usage["dask"]["worker_processes"] == 2


def _kill_a_busy_worker(address: str, settings, stop: threading.Event, killed: list) -> None:
    """Once a document is staged, SIGKILL a Dask worker process (by its pid, a child of the
    `dask worker` started here) that is running a task (most likely a chunk of documents:
    those take seconds, staging milliseconds)."""
    from distributed import Client

    try:
        with Client(address, timeout=60) as client:
            while not stop.is_set():
                with db.connection(settings.database_url, settings.db_schema) as conn:
                    staged = conn.execute("SELECT count(*) AS n FROM documents").fetchone()["n"]
                if staged:
                    pids = client.run(os.getpid)  # worker address -> its process id
                    for worker, keys in client.processing().items():
                        if keys and worker in pids:
                            os.kill(pids[worker], signal.SIGKILL)
                            killed.append((pids[worker], staged))
                            return
                stop.wait(0.2)
    except Exception as exc:  # noqa: BLE001 - reported by the test
        killed.append(("watcher failed", repr(exc)))


def test_a_dask_worker_killed_mid_batch_the_run_completes(cluster, database_url, tmp_path):
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, invoices=8, seed=43, workers=1, scanned_share=0.0, image_share=0.0)
    with prefect_test_harness(server_startup_timeout=120), throwaway_schema(database_url) as schema:
        settings = load_settings(
            database_url=database_url,
            db_schema=schema,
            reports_dir=tmp_path / "reports",
            documents_per_task=2,
            dask_address=cluster,
        )
        with db.connection(database_url, schema) as conn:
            master.load_master_dir(conn, corpus / "master")
        stop, killed = threading.Event(), []
        watcher = threading.Thread(
            target=_kill_a_busy_worker, args=(cluster, settings, stop, killed), daemon=True
        )
        watcher.start()
        try:
            summary = nightly.nightly_batch.with_options(task_runner=task_runner(settings, 2))(
                inbox=str(corpus / "docs"), overrides=nightly.settings_overrides(settings)
            )
        finally:
            stop.set()
            watcher.join(30)
        assert killed and isinstance(killed[0][0], int), f"no worker killed mid-batch: {killed}"
        with db.connection(database_url, schema) as conn:
            docs = conn.execute("SELECT sha256 FROM documents").fetchall()
            runs = conn.execute("SELECT status FROM batch_runs").fetchall()
    assert killed[0][1] < 8, killed
    assert summary["staged"] == 8 and summary["failures"] == 0
    assert len(docs) == 8 and len({d["sha256"] for d in docs}) == 8  # nothing staged twice
    assert [r["status"] for r in runs] == ["completed"]
