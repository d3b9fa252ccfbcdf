"""The nightly batch on the thread runner with its document workers, one of them SIGKILLed while
it OCRs a scanned document: that document is staged as failed with the reason, every other
document is staged as usual, the run completes, and no worker outlives it."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
from prefect.testing.utilities import prefect_test_harness

import flows.nightly as nightly
from flows.bench_batch import descendants
from flows.workers import worker_pids
from staging import db, master
from synthetic import generate_corpus
from tests.processes import command_name

pytestmark = [pytest.mark.db, pytest.mark.slow]


def _kill_a_worker_in_ocr(stop: threading.Event, killed: list) -> None:
    """SIGKILL the first document worker seen running tesseract (by its pid)."""
    while not stop.is_set():
        for pid in worker_pids():
            if any(command_name(child) == "tesseract" for child in descendants(pid)):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        stop.wait(0.1)


def test_a_worker_killed_during_ocr_fails_that_document_and_the_run_completes(settings, tmp_path):
    corpus = tmp_path / "corpus"
    generate_corpus(corpus, invoices=4, seed=32, workers=1, scanned_share=0.5, image_share=0.0)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        master.load_master_dir(conn, corpus / "master")
    overrides = {**nightly.settings_overrides(settings), "task_workers": 2}
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=_kill_a_worker_in_ocr, args=(stop, killed), daemon=True)
    with prefect_test_harness(server_startup_timeout=120):
        watcher.start()
        try:
            summary = nightly.nightly_batch(inbox=str(corpus / "docs"), overrides=overrides)
        finally:
            stop.set()
            watcher.join(10)
    assert killed, "no worker was seen running tesseract"
    assert summary["staged"] == 4 and summary["failures"] == 1
    assert summary["cpu_seconds_by_process"]["worker_deaths"] == 1
    assert summary["cpu_seconds_by_process"]["workers"] > 0
    with db.connection(settings.database_url, settings.db_schema) as conn:
        rows = conn.execute(
            "SELECT d.file_name, d.status, d.errors, e.reason_codes FROM documents d"
            " LEFT JOIN exception_queue e USING (document_id)"
        ).fetchall()
        run = conn.execute("SELECT status FROM batch_runs").fetchone()
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(rows) == 4 and len(failed) == 1
    (error,) = failed[0]["errors"]
    assert error["stage"] == "text" and "killed by signal 9 (SIGKILL)" in error["message"]
    assert failed[0]["reason_codes"] == ["PROCESSING_ERROR"]
    assert run["status"] == "completed"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in worker_pids()):
        time.sleep(0.1)
    assert not any(_running(p) for p in worker_pids())  # closed with the run


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode(errors="replace").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")
