"""The document workers of the thread runner (`flows.workers`): jobs run in worker processes,
their log lines keep the run and document, their CPU and memory are counted, a worker killed by
a signal fails its one document while the next documents go on, and workers end with the flow.
No OCR and no database: the jobs are small functions of this module and born-digital PDFs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import flows.nightly as nightly
from flows import logs
from flows.prepare import prepare_document
from flows.process import RunContext, fingerprint, finish_document
from flows.run_summary import build_summary
from flows.runners import dask_delta, document_workers, run_workers
from flows.workers import DocumentWorkers, WorkerDied
from invoices.records import ReasonCode, Status
from invoices.settings import load_settings
from synthetic import generate_corpus
from tests.processes import command_name
from tests.worker_jobs import _burn, _die_on_poison, _fail, _pid_and_log

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pool():
    workers = DocumentWorkers(2)
    yield workers
    workers.close()


def test_a_job_runs_in_a_worker_and_its_log_lines_keep_the_run_and_document(pool, caplog):
    caplog.set_level(logging.INFO)
    with logs.run_scope("run-7"), logs.document_scope("ab" * 32, "invoice-7.pdf"):
        pid = pool.run(_pid_and_log, "hello")
    assert pid != os.getpid()
    (record,) = [r for r in caplog.records if r.name == "tests.worker_jobs"]
    assert record.getMessage() == "from the worker: hello"
    assert record.process == pid  # made in the worker, handled here
    assert (record.run_id, record.document_id, record.file_name) == (
        "run-7",
        "ab" * 6,
        "invoice-7.pdf",
    )


def test_a_jobs_exception_is_raised_here_and_the_worker_serves_on(pool):
    with pytest.raises(ValueError, match="a bug inside the job"):
        pool.run(_fail)
    assert pool.run(_pid_and_log, "again") != os.getpid()
    assert pool.deaths == 0


def test_the_workers_cpu_and_memory_are_counted(pool):
    before = os.times()
    burnt = pool.run(_burn, 0.6)
    here = (os.times().user - before.user) + (os.times().system - before.system)
    usage = pool.usage()
    assert burnt >= 0.6 and here < 0.3  # the CPU was spent in the worker, not here
    assert usage["processes"] == 1 and usage["cpu_seconds"] >= 0.6
    assert usage["peak_mb"] > 10


def test_the_run_summary_counts_the_workers_cpu_and_memory():
    summary = build_summary(
        uuid.uuid4(), 0, 0, [], 10.0, 2.0, load_settings(),
        workers={"processes": 2, "cpu_seconds": 3.5, "peak_mb": 300.0, "peak_sum_mb": 550.0,
                 "peak_child_mb": 120.0},
    )  # fmt: skip
    assert summary["cost"]["cpu_seconds"] == pytest.approx(5.5)
    assert summary["cpu_seconds_by_process"]["workers"] == 3.5
    assert summary["peak_memory"]["workers"] == 300.0
    assert summary["peak_memory"]["largest_child"] >= 120.0
    assert summary["peak_memory_mb"] >= 550.0 + summary["peak_memory"]["flow_process"] - 0.1


def test_dask_workers_cpu_is_what_they_spent_during_the_run():
    before = {"w1": {"cpu_seconds": 10.0, "peak_mb": 300.0, "peak_child_mb": 90.0}}
    after = {
        "w1": {"cpu_seconds": 25.0, "peak_mb": 400.0, "peak_child_mb": 100.0},
        "w2": {"cpu_seconds": 4.0, "peak_mb": 350.0, "peak_child_mb": 80.0},  # restarted
    }
    usage = dask_delta(before, after)
    assert usage["cpu_seconds"] == 19.0 and usage["processes"] == 2
    assert usage["peak_mb"] == 400.0 and usage["peak_sum_mb"] == 750.0
    assert dask_delta(before, {}) == {}


def test_the_run_has_workers_only_on_threads_with_the_pool_on():
    run_id = uuid.uuid4()
    with document_workers(load_settings(process_pool=False), run_id) as off:
        assert off is None and run_workers(run_id) is None
    with document_workers(load_settings(task_runner="dask"), run_id) as dask:
        assert dask is None
    with document_workers(load_settings(task_workers=2), run_id) as on:
        assert on is not None and run_workers(run_id) is on
        pid = on.run(_pid_and_log, "x")
    assert run_workers(run_id) is None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.1)
    assert not _running(pid)  # ended with the run


def test_a_worker_killed_by_a_signal_fails_its_document_and_the_next_ones_go_on(
    tmp_path, monkeypatch
):
    generate_corpus(tmp_path, invoices=3, seed=5, workers=1, scanned_share=0.0)
    paths = sorted((tmp_path / "docs").iterdir())
    paths[1] = paths[1].rename(paths[1].with_name("poison-" + paths[1].name))
    settings = load_settings()
    ctx = RunContext(settings=settings)
    monkeypatch.setattr(nightly, "prepare_to_wire", _die_on_poison)
    workers = DocumentWorkers(1)
    try:
        results = []
        for path in paths:
            document, error = fingerprint(path, settings)
            assert error is None
            results.append(finish_document(nightly._prepare(document, ctx, workers), ctx))
        assert workers.deaths == 1 and workers.usage()["processes"] == 2  # a new worker
    finally:
        workers.close()
    good, poisoned, after = results
    assert poisoned.status == Status.FAILED and poisoned.reasons == [ReasonCode.PROCESSING_ERROR]
    (error,) = poisoned.errors
    assert error.stage == "extraction"
    assert "killed by signal 9 (SIGKILL)" in error.message and "the batch went on" in error.message
    assert poisoned.document.sha256  # it is recorded as the document it was
    for result in (good, after):
        assert result.status in (Status.SUCCESS, Status.PARTIAL) and result.invoice is not None
    inline = finish_document(
        prepare_document(fingerprint(paths[2], settings)[0], settings, {}), ctx
    )
    assert after.invoice == inline.invoice  # the same reading as in the flow's own process


def test_workers_and_their_children_end_when_the_flow_process_is_killed(tmp_path):
    script = tmp_path / "flow.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading, time
            from flows.workers import DocumentWorkers, worker_pids
            from tests.worker_jobs import _sleep_with_child

            if __name__ == "__main__":
                pool = DocumentWorkers(1)
                threading.Thread(target=pool.run, args=(_sleep_with_child,), daemon=True).start()
                while not worker_pids():
                    time.sleep(0.05)
                print(*worker_pids(), flush=True)
                time.sleep(120)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    flow = subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        worker = int(flow.stdout.readline())
        deadline = time.monotonic() + 60
        sleeper = None
        while time.monotonic() < deadline and sleeper is None:
            sleeper = next((p for p in _children(worker) if command_name(p) == "sleep"), None)
            time.sleep(0.1)
        assert sleeper is not None
        flow.kill()  # SIGKILL: the flow gets no chance to close its workers
        flow.wait(10)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (_running(worker) or _running(sleeper)):
            time.sleep(0.1)
        assert not _running(worker) and not _running(sleeper)
    finally:
        if flow.poll() is None:
            flow.kill()
            flow.wait(10)


def _running(pid: int) -> bool:
    """Alive and not a zombie (a killed process nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode(errors="replace").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def _children(parent: int) -> list[int]:
    from flows.bench_batch import descendants

    return descendants(parent)


def test_a_worker_death_is_described_by_its_signal():
    assert WorkerDied(1, -9, "text").how == "was killed by signal 9 (SIGKILL)"
    assert WorkerDied(1, 3, None).how == "exited with status 3"
