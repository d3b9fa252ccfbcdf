"""Worker processes for the pure stages of each document, beside the thread runner's threads.

With the thread runner all of a document's Python work (text layer, OCR orchestration,
extraction) shared the flow process's interpreter lock with the other documents, so two
documents at once used about 1.2 cores (README, bench-batch). `DocumentWorkers` keeps up to
`processes` worker processes for one run; the thread of a document hands a worker a job (the
function `flows.prepare.prepare_document` and its arguments) and waits for its answer, then does
matching, classification and staging itself with the models, which stay in the flow's process.

- Workers fork from multiprocessing's forkserver (a clean single-threaded process, safe beside
  Prefect's threads) and start on first use; `close` ends them at the end of the run.
- A worker serves one document at a time, owned by the thread that handed it over, so a worker
  that dies (a signal, a segfault in a parser, the kernel's OOM killer) fails that one document
  (`WorkerDied`), not its neighbours; the next document gets a new worker.
- The worker's log records come back on the same pipe and are handled in the waiting thread, so
  they carry its run and document (`flows.logs`) and reach the flow's handlers.
- After each job a worker reports its CPU-seconds and peak memory, its own and its finished
  children's (tesseract); `usage` sums them for the run summary, which the flow's own rusage
  cannot see (the workers are the forkserver's children, not the flow's).
- A worker whose flow process went away (the run killed) kills its children and exits: it
  watches a pipe only the flow holds open.
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import multiprocessing
import multiprocessing.connection
import os
import queue
import resource
import signal
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from flows import logs

log = logging.getLogger(__name__)

# every worker process started by this process, for the bench's memory roles
_WORKER_PIDS: set[int] = set()
# the pools not closed yet: closed at exit, before multiprocessing waits for its children
_OPEN: weakref.WeakSet[DocumentWorkers] = weakref.WeakSet()


@atexit.register
def _close_open_pools() -> None:
    for pool in list(_OPEN):
        pool.close()


def worker_pids() -> set[int]:
    """The pids of every document worker this process started."""
    return set(_WORKER_PIDS)


def process_usage() -> dict[str, float]:
    """CPU-seconds and peak resident memory (MB) of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "cpu_seconds": own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime,
        "peak_mb": own.ru_maxrss / 1024,
        "peak_child_mb": kids.ru_maxrss / 1024,
    }


class WorkerDied(Exception):
    """The worker process running a job ended without answering."""

    def __init__(self, pid: int, exitcode: int | None, stage: str | None) -> None:
        self.pid, self.exitcode, self.stage = pid, exitcode, stage
        super().__init__(
            f"worker process {pid} {self.how}" + (f" in stage {stage}" if stage else "")
        )

    @property
    def how(self) -> str:
        """How it ended: the signal that killed it, or its exit status."""
        if self.exitcode is None:
            return "stopped answering"
        if self.exitcode < 0:
            try:
                name = signal.Signals(-self.exitcode).name
            except ValueError:
                name = "unknown"
            return f"was killed by signal {-self.exitcode} ({name})"
        return f"exited with status {self.exitcode}"


class DocumentWorkers:
    """Up to `processes` worker processes for one run; `run` is called from many threads."""

    def __init__(self, processes: int) -> None:
        self.processes = max(1, processes)
        self.deaths = 0
        self._context = multiprocessing.get_context("forkserver")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._usage: dict[int, dict[str, float]] = {}  # the last report of each worker
        self._closed = False
        _OPEN.add(self)

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args, on_stage=...)` in a worker process (`fn` importable by name); its
        exception is raised here; WorkerDied when the worker ends without answering."""
        worker = self._checkout()
        try:
            kind, value, usage = worker.run(fn, args, logs.current_scope())
        except WorkerDied:
            self._retire(worker, died=True)
            raise
        except BaseException:  # interrupted while the worker is mid-job: it cannot be reused
            self._retire(worker, died=False)
            raise
        with self._lock:
            self._usage[worker.pid] = usage
        self._idle.put(worker)
        if kind == "raised":
            raise value
        return value

    def usage(self) -> dict[str, float]:
        """The workers' CPU-seconds (summed) and peak memory (largest, and the sum of their
        peaks), as last reported."""
        with self._lock:
            reports = list(self._usage.values())
            started = len(self._usage)
        return {
            "processes": started,
            "deaths": self.deaths,
            "cpu_seconds": round(sum(r["cpu_seconds"] for r in reports), 2),
            "peak_mb": round(max((r["peak_mb"] for r in reports), default=0.0), 1),
            "peak_sum_mb": round(sum(r["peak_mb"] for r in reports), 1),
            "peak_child_mb": round(max((r["peak_child_mb"] for r in reports), default=0.0), 1),
        }

    def close(self) -> None:
        """End every worker (asked first, killed after a few seconds)."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
        _OPEN.discard(self)
        for worker in workers:
            worker.stop()

    def _checkout(self) -> _Worker:
        while True:
            try:
                worker = self._idle.get(timeout=0.0 if self._may_start() else 0.5)
            except queue.Empty:
                started = self._start()
                if started is not None:
                    return started
                continue
            if worker.process.is_alive():
                return worker
            self._retire(worker, died=True)  # died while idle (the OOM killer): not this job's

    def _may_start(self) -> bool:
        with self._lock:
            return len(self._workers) < self.processes

    def _start(self) -> _Worker | None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the run's document workers are closed")
            if len(self._workers) >= self.processes:
                return None
            worker = _Worker(self._context, logging.getLogger().getEffectiveLevel())
            self._workers.append(worker)
            _WORKER_PIDS.add(worker.pid)
        return worker

    def _retire(self, worker: _Worker, died: bool) -> None:
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            self.deaths += died
        worker.stop()


class _Worker:
    """One worker process and the two pipes to it: jobs and answers, and the flow's life."""

    def __init__(self, context: Any, level: int) -> None:
        self.jobs, child_jobs = context.Pipe()
        alive_reader, self.alive = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(child_jobs, alive_reader, level), name="document-worker"
        )
        self.process.start()
        child_jobs.close()
        alive_reader.close()
        self.pid: int = self.process.pid

    def run(
        self, fn: Callable[..., Any], args: tuple[Any, ...], scope: Any
    ) -> tuple[str, Any, dict[str, float]]:
        stage = None
        try:
            self.jobs.send((fn, args, scope))
        except OSError as exc:
            raise WorkerDied(self.pid, self.process.exitcode, None) from exc
        while True:
            ready = multiprocessing.connection.wait([self.jobs, self.process.sentinel])
            if self.jobs not in ready:
                self.process.join(5)
                raise WorkerDied(self.pid, self.process.exitcode, stage)
            try:
                message = self.jobs.recv()
            except (EOFError, OSError):
                self.process.join(5)
                raise WorkerDied(self.pid, self.process.exitcode, stage) from None
            if message[0] == "log":
                _handle(message[1])
            elif message[0] == "stage":
                stage = message[1]
            else:
                return message

    def stop(self) -> None:
        try:
            self.jobs.send(None)
        except OSError:
            pass
        self.alive.close()  # a worker mid-job sees the pipe close and exits
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.jobs.close()


def _handle(record: logging.LogRecord) -> None:
    logger = logging.getLogger(record.name)
    if logger.isEnabledFor(record.levelno):
        logger.handle(record)


class _Sender:
    """What `QueueHandler` puts records into: the worker's pipe to the flow."""

    def __init__(self, send: Callable[[Any], None]) -> None:
        self.send = send

    def put_nowait(self, record: logging.LogRecord) -> None:
        self.send(("log", record))


def _serve(jobs: Any, alive: Any, level: int) -> None:
    """The worker's loop: one job at a time until told to stop or the flow goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the flow's: it ends the workers
    lock = threading.Lock()

    def send(message: Any) -> None:
        with lock:
            jobs.send(message)

    handler = logging.handlers.QueueHandler(_Sender(send))  # type: ignore[arg-type]
    handler.addFilter(logs.RunContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    threading.Thread(target=_exit_with_flow, args=(alive,), daemon=True).start()
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args, scope = job
        with logs.carried_scope(scope):
            try:
                reply: tuple[str, Any] = (
                    "done",
                    fn(*args, on_stage=lambda name: send(("stage", name))),
                )
            except BaseException as exc:  # noqa: BLE001 - raised again in the flow
                reply = ("raised", exc)
        try:
            send((*reply, process_usage()))
        except Exception as exc:  # noqa: BLE001 - an answer that does not pickle
            send(("raised", RuntimeError(f"{reply[0]}: cannot send it back: {exc!r}"), {}))


def _exit_with_flow(alive: Any) -> None:
    """Block until the flow closes its end of `alive` (or dies), then end this worker and the
    tesseract processes it started."""
    try:
        alive.recv()
    except (EOFError, OSError):
        pass
    me = os.getpid()
    for pid in descendants(me):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    time.sleep(0.05)
    os._exit(1)


def descendants(root: int) -> list[int]:
    """Every living descendant of `root`, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out
