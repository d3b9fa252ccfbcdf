"""Crash and outage recovery of the nightly batch, on a real Postgres.

- `invoices run` SIGKILLed at a random moment after its first document is staged (mid-batch:
  while reading the next document or waiting to stage it; the test holds the documents
  table's write lock, so the kill always lands before the last document), then run again:
  every document staged exactly once, nothing lost, the killed run marked crashed.
- The staging connection cut by `pg_terminate_backend` in the middle of a document's staging
  transaction: the staging task retries and the batch completes, nothing staged twice.
Every process started here is stopped by its process group id, bounded in time.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import psycopg.sql
import pytest
from prefect.testing.utilities import prefect_test_harness

import flows.nightly as nightly
from staging import db, store
from synthetic import generate_corpus

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("recovery")
    generate_corpus(out, invoices=6, seed=31, workers=1, scanned_share=0.0, image_share=0.0)
    return out


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


def _rows(settings) -> tuple[list[dict], list[dict]]:
    with db.connection(settings.database_url, settings.db_schema) as conn:
        docs = conn.execute("SELECT sha256, file_name, first_run_id FROM documents").fetchall()
        runs = conn.execute("SELECT * FROM batch_runs ORDER BY started_at").fetchall()
    return docs, runs


def _hold_staging_after_first(settings, process: subprocess.Popen, timeout: float):
    """Wait until a document is staged, then hold the batch's next staging.

    Polls under `LOCK TABLE documents IN EXCLUSIVE MODE` (reads go on, inserts wait), so the
    count seen is the count there will be until the lock is released: on an idle machine the
    six documents stage well inside one polling interval, and a plain poll-then-kill could
    find them all staged. Returns the open connection holding the lock; the caller kills the
    batch (which goes on reading the next document and then waits on the lock) and closes it.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the batch ended before it could be killed"
        conn = psycopg.connect(settings.database_url)
        try:
            conn.execute(
                psycopg.sql.SQL("SET search_path TO {}").format(
                    psycopg.sql.Identifier(settings.db_schema)
                )
            )
            conn.execute("LOCK TABLE documents IN EXCLUSIVE MODE")
            if conn.execute("SELECT count(*) FROM documents").fetchone()[0]:
                return conn
        except psycopg.Error:
            pass  # the schema is being migrated
        conn.close()
        time.sleep(0.1)
    raise AssertionError("no document staged in time")


def _overrides(settings) -> dict:
    return {
        "database_url": settings.database_url,
        "db_schema": settings.db_schema,
        "reports_dir": str(settings.reports_dir),
    }


def test_sigkill_mid_batch_then_rerun_stages_each_document_once(corpus, settings, harness):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url,
        "INVOICES_DB_SCHEMA": settings.db_schema,
        "INVOICES_REPORTS_DIR": str(settings.reports_dir),
        "INVOICES_TASK_WORKERS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run", "--inbox", str(corpus / "docs")]
        + ["--master", str(corpus / "master")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        held = _hold_staging_after_first(settings, process, timeout=240)
        try:
            time.sleep(random.uniform(0.0, 1.0))  # reading the next document, or waiting
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        finally:
            held.close()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    docs_before, runs_before = _rows(settings)
    assert runs_before[0]["status"] == "running"  # nobody could mark it
    assert 1 <= len(docs_before) < 6, "kill the batch mid-way"

    summary = nightly.nightly_batch(inbox=str(corpus / "docs"), overrides=_overrides(settings))
    docs, runs = _rows(settings)
    assert len(docs) == 6 and len({d["sha256"] for d in docs}) == 6  # nothing lost, none twice
    assert summary["staged"] == 6 - len(docs_before)
    assert summary["skipped"] == len(docs_before)
    assert runs[0]["status"] == "crashed" and runs[-1]["status"] == "completed"


def test_staging_connection_cut_mid_transaction_is_retried(corpus, settings, harness, monkeypatch):
    real_stage = store.stage_result
    cuts: list[int] = []

    def stage_then_cut(conn, result, run_id, details=None):
        document_id = real_stage(conn, result, run_id, details)
        if not cuts:  # the first staging transaction loses its server before it commits
            with psycopg.connect(settings.database_url, autocommit=True) as admin:
                pid = conn.info.backend_pid
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            cuts.append(pid)
        return document_id

    monkeypatch.setattr(store, "stage_result", stage_then_cut)
    summary = nightly.nightly_batch(inbox=str(corpus / "docs"), overrides=_overrides(settings))
    docs, runs = _rows(settings)
    assert cuts, "the outage was not simulated"
    assert runs[-1]["status"] == "completed"
    assert summary["staged"] == 6 and summary["failures"] == 0
    assert len(docs) == 6 and len({d["sha256"] for d in docs}) == 6
