"""Process helpers of the crash tests: a process's descendants from /proc, and stopping a tree
by the ids of its processes (never by name)."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from flows.bench_batch import descendants


def command_name(pid: int) -> str:
    """The executable name of a process ('' when it is gone)."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def signal_tree(root: int, signum: int) -> list[int]:
    """Send `signum` to `root` and each of its descendants, by pid; the pids signalled."""
    pids = [root, *descendants(root)]
    for pid in pids:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass
    return pids


def kill_tree(process: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGKILL a process started here and every descendant it has, by pid, then reap it."""
    if process.poll() is None:
        _kill_recorded({pid: command_name(pid) for pid in [process.pid, *descendants(process.pid)]})
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass


def _kill_recorded(recorded: dict[int, str], timeout: float = 10.0) -> None:
    """SIGKILL each pid still running the command it ran when it was recorded."""
    for pid, name in recorded.items():
        if name and command_name(pid) == name:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    for pid, name in recorded.items():
        while time.monotonic() < deadline and name and command_name(pid) == name and _alive(pid):
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().decode(errors="replace").rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_tree(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGTERM a process started here (and its descendants, by pid); SIGKILL what is left of
    them after `timeout` seconds."""
    if process.poll() is not None:
        return
    recorded = {pid: command_name(pid) for pid in [process.pid, *descendants(process.pid)]}
    for pid in recorded:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    _kill_recorded(recorded)
    try:
        process.wait(5)
    except subprocess.TimeoutExpired:
        pass


def drain_prefect_services(timeout: float = 60.0) -> None:
    """Send what this process's Prefect event and log workers still hold, and stop them, while
    the server they were made for is still up. The workers are process-wide singletons that keep
    the API URL they started with: left running after a test's own server stops, a later flow in
    the session queues its events for that dead server, and `prefect_test_harness` waits for
    them at exit (a client timeout per event: the suite hung in the retrain fixture after the
    Redis-broker test). Stopped, they start again for the next server."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for service in (EventsWorker, APILogWorker):
        service.drain_all(timeout=timeout)
