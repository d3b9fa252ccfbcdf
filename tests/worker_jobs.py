"""Jobs for the document workers' tests, in a module of their own so that a worker process
imports only this (and what it imports), not a test module with the whole flow."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time

from flows.prepare import prepare_to_wire

log = logging.getLogger(__name__)


def _pid_and_log(message: str, on_stage=None) -> int:
    on_stage("text")
    log.warning("from the worker: %s", message)
    return os.getpid()


def _burn(seconds: float, on_stage=None) -> float:
    started = time.process_time()
    while time.process_time() - started < seconds:
        sum(i * i for i in range(10_000))
    return time.process_time() - started


def _fail(on_stage=None) -> None:
    raise ValueError("a bug inside the job")


def _die_on_poison(document, settings, recalibration, on_stage=None):
    """prepare_to_wire, except that a file named poison* kills its worker mid-extraction."""
    if document.path.name.startswith("poison"):
        on_stage("extraction")
        os.kill(os.getpid(), signal.SIGKILL)
    return prepare_to_wire(document, settings, recalibration, on_stage)


def _sleep_with_child(on_stage=None) -> None:
    subprocess.run(["sleep", "60"], check=False)
