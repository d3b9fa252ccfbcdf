"""SIGKILL of `invoices run` at two chosen points, then a re-run: every document staged exactly
once, nothing lost, the killed run marked crashed.

- **During OCR**: killed while a tesseract process of the batch is reading a scanned page.
- **Inside a staging transaction**: the test watches the run's own Postgres sessions (named by
  PGAPPNAME) for one holding the staging lock with rows written and not committed; it freezes
  the batch (SIGSTOP), checks in Postgres that the transaction is still open, and SIGKILLs it.
  After the kill Postgres shows that transaction's rows were never committed (the count of
  documents is what it was). If the transaction committed before the freeze landed, the batch
  is resumed (SIGCONT) and the next document's transaction is caught instead.

The batch runs against the Prefect server of the test harness, so no throwaway server is
started per run. Every process started here is stopped by its pid (and its descendants'),
bounded in time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from prefect.settings import PREFECT_API_URL
from prefect.testing.utilities import prefect_test_harness
from psycopg import sql

import flows.nightly as nightly
from staging import db
from synthetic import generate_corpus
from tests.processes import command_name, descendants, kill_tree, signal_tree

pytestmark = [pytest.mark.db, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


def _start_batch(settings, inbox: Path, api_url: str, app_name: str, log: Path):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": settings.database_url,
        "INVOICES_DB_SCHEMA": settings.db_schema,
        "INVOICES_REPORTS_DIR": str(settings.reports_dir),
        "INVOICES_TASK_WORKERS": "1",
        "PREFECT_API_URL": api_url,
        "PGAPPNAME": app_name,  # the run's Postgres sessions carry this name
    }
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", "run", "--inbox", str(inbox)],
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _rows(settings) -> tuple[list[dict], list[dict]]:
    with db.connection(settings.database_url, settings.db_schema) as conn:
        docs = conn.execute("SELECT sha256, file_name, first_run_id FROM documents").fetchall()
        runs = conn.execute("SELECT * FROM batch_runs ORDER BY started_at").fetchall()
    return docs, runs


def _overrides(settings) -> dict:
    return {
        "database_url": settings.database_url,
        "db_schema": settings.db_schema,
        "reports_dir": str(settings.reports_dir),
    }


def _rerun_and_check(settings, inbox: Path, total: int, killed: int) -> None:
    """Run the batch again in this process: each document staged once, the killed runs
    marked crashed."""
    docs_before, _ = _rows(settings)
    summary = nightly.nightly_batch(inbox=str(inbox), overrides=_overrides(settings))
    docs, runs = _rows(settings)
    assert len(docs) == total and len({d["sha256"] for d in docs}) == total
    assert summary["staged"] == total - len(docs_before) and summary["failures"] == 0
    assert summary["skipped"] == len(docs_before)
    assert [r["status"] for r in runs] == ["crashed"] * killed + ["completed"]


def test_sigkill_during_ocr_then_rerun(settings, harness, tmp_path):
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, invoices=4, seed=32, workers=1, scanned_share=0.5, image_share=0.0)
    inbox = corpus / "docs"
    process = _start_batch(settings, inbox, harness, "crash-ocr", tmp_path / "run.log")
    try:
        deadline, reading = time.monotonic() + 300, []
        while time.monotonic() < deadline and not reading:
            assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            reading = [p for p in descendants(process.pid) if command_name(p) == "tesseract"]
            time.sleep(0.05)
        assert reading, "no page was OCR'd in time"
        signal_tree(process.pid, signal.SIGSTOP)  # frozen while tesseract reads the page
        assert any(command_name(p) == "tesseract" for p in descendants(process.pid))
        kill_tree(process)
    finally:
        kill_tree(process)
    docs, runs = _rows(settings)
    assert len(docs) < 4, "the batch was killed before its end"
    assert [r["status"] for r in runs] == ["running"]  # nobody could mark it
    _rerun_and_check(settings, inbox, total=4, killed=1)


OPEN_STAGING = """
SELECT a.pid, a.backend_xid::text AS xid, a.state,
       (SELECT count(*) FROM {schema}.documents) AS committed
FROM pg_stat_activity a
JOIN pg_locks l ON l.pid = a.pid AND l.locktype = 'advisory' AND l.granted
WHERE a.application_name = %s AND a.backend_xid IS NOT NULL
"""


def _open_staging(admin, schema: str, app_name: str) -> dict | None:
    """The run's session inside a staging transaction that has written rows, if any."""
    query = OPEN_STAGING.format(schema=sql.Identifier(schema).as_string(admin))
    row = admin.execute(query, (app_name,)).fetchone()
    return dict(zip(("pid", "xid", "state", "committed"), row, strict=True)) if row else None


def _session_gone(admin, pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (
            admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            is None
        ):
            return
        time.sleep(0.1)
    raise AssertionError(f"Postgres session {pid} outlived its client")


def _kill_inside_staging(process, admin, settings, app_name: str, log: Path) -> dict:
    """Poll until the batch holds an open staging transaction, freeze it, confirm the
    transaction is still open, and SIGKILL it; the transaction as seen before the kill."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        seen = _open_staging(admin, settings.db_schema, app_name)
        if seen is None:
            time.sleep(0.003)
            continue
        signal_tree(process.pid, signal.SIGSTOP)
        time.sleep(0.2)  # a statement the server was running finishes; the client sends nothing
        still = _open_staging(admin, settings.db_schema, app_name)
        if still is not None and still["xid"] == seen["xid"]:
            kill_tree(process)
            return still
        signal_tree(process.pid, signal.SIGCONT)  # it committed in between: catch the next one
    raise AssertionError("no staging transaction caught in time")


def test_sigkill_inside_staging_transaction_then_rerun(settings, harness, tmp_path):
    corpus = tmp_path / "corpus"
    generate_corpus(
        corpus, invoices=8, seed=33, workers=1, scanned_share=0.0, image_share=0.0,
        multipage_share=0.3,
    )  # fmt: skip
    inbox = corpus / "docs"
    app_name = f"crash-staging-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "run.log"
    process = _start_batch(settings, inbox, harness, app_name, log)
    with psycopg.connect(settings.database_url, autocommit=True) as admin:
        try:
            caught = _kill_inside_staging(process, admin, settings, app_name, log)
        finally:
            kill_tree(process)
        _session_gone(admin, caught["pid"])
        # the 32-bit xid of pg_stat_activity with the current epoch, as pg_xact_status wants
        status = admin.execute(
            "SELECT pg_xact_status((((pg_current_xact_id()::text::bigint >> 32) << 32)"
            " | %s::bigint)::text::xid8)",
            (int(caught["xid"]),),
        ).fetchone()
    docs, runs = _rows(settings)
    # the rows the killed transaction wrote were rolled back: none of them is visible
    assert len(docs) == caught["committed"], (caught, len(docs))
    assert status[0] == "aborted", (caught, status)
    assert len(docs) < 8 and [r["status"] for r in runs] == ["running"]
    _rerun_and_check(settings, inbox, total=8, killed=1)
