"""Where the per-document work runs: threads in the flow's process (with the pure stages in
worker processes, `flows.workers`), or a Dask cluster.

A remote Prefect task costs about 0.1 s of overhead, so on Dask a task is a chunk of documents
(`documents_per_task`, several seconds of work); with threads a task is one document. The stage
objects (embedding model, vendor resolver, classification cascade) are built once per worker
process and run, and kept in this module, so a Dask worker loads the models once, not per task.
Documents travel as paths: the inbox must be a folder every worker can read.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from flows.classification import open_run_cascade
from flows.matching import load_vendor_master
from flows.process import RunContext
from flows.workers import DocumentWorkers, process_usage
from invoices.settings import Settings
from matchers.embeddings import load_embedder
from matchers.vendor import VendorResolver
from staging import db, learning, matching

log = logging.getLogger(__name__)

_CONTEXTS: dict[uuid.UUID, RunContext] = {}
_WORKERS: dict[uuid.UUID, DocumentWorkers] = {}
_LOCK = threading.Lock()


def uses_dask(settings: Settings) -> bool:
    """True when the per-document work goes to Dask (a scheduler address, or asked for)."""
    return bool(settings.dask_address) or settings.task_runner == "dask"


def task_runner(settings: Settings, workers: int) -> Any:
    """The task runner of a run: an existing Dask scheduler when `dask_address` is set, a
    local Dask cluster of `dask_workers` processes when `task_runner` is "dask" and more than
    one worker is asked for, else threads."""
    if uses_dask(settings):
        from prefect_dask import DaskTaskRunner

        if settings.dask_address:
            return DaskTaskRunner(address=settings.dask_address)
        if settings.dask_workers > 1:
            return DaskTaskRunner(
                cluster_kwargs={
                    "n_workers": settings.dask_workers,
                    "threads_per_worker": 1,
                    "processes": True,
                    "dashboard_address": None,
                }
            )
    return ThreadPoolTaskRunner(max_workers=thread_pool_size(workers))


def thread_pool_size(workers: int) -> int:
    """Threads for `workers` documents processed at once: twice as many, because each
    document's staging task is submitted with it and holds a thread while it waits for its
    turn (documents are staged in inbox order). With only `workers` threads the waiting
    staging tasks took every other thread and the documents ran one at a time."""
    return 2 * max(1, workers)


def chunk_size(settings: Settings) -> int:
    """Documents per task: a chunk on Dask, one document with threads."""
    return max(1, settings.documents_per_task) if uses_dask(settings) else 1


def build_context(settings: Settings, run_id: uuid.UUID) -> RunContext:
    """Stage objects built once per run: the vendor resolver over the current master (and the
    vendors of its purchase orders) and the classification cascade (history model from
    Postgres, the LLM client when one is set). Both use the one shared embedding model.

    Vendor name embeddings come from the cache in Postgres; only new or changed vendors are
    embedded.
    """
    assert settings.database_url
    embedder = load_embedder(settings)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        vendor_master = load_vendor_master(conn, embedder)
        po_vendors = matching.po_vendor_keys(conn)
        calibration_version, recalibration = learning.promoted_calibration(conn)
    resolver = VendorResolver(vendor_master, embedder, settings, po_vendors=po_vendors)
    cascade = open_run_cascade(settings, run_id)
    return RunContext(
        settings=settings,
        vendor_resolver=resolver,
        cascade=cascade,
        calibration_version=calibration_version,
        recalibration=recalibration,
    )


def worker_context(settings: Settings, run_id: uuid.UUID) -> RunContext:
    """This process's stage objects for the run, built on first use; those of an earlier run
    are released."""
    with _LOCK:
        ctx = _CONTEXTS.get(run_id)
        if ctx is None:
            for old in list(_CONTEXTS):
                _close(_CONTEXTS.pop(old))
            log.info("loading the stage objects in process %d", os.getpid())
            ctx = _CONTEXTS[run_id] = build_context(settings, run_id)
        return ctx


def release_context(run_id: uuid.UUID) -> None:
    """Release this process's stage objects of a run (the flow's process, at the end)."""
    with _LOCK:
        ctx = _CONTEXTS.pop(run_id, None)
    if ctx is not None:
        _close(ctx)


def _close(ctx: RunContext) -> None:
    if ctx.cascade is not None:
        ctx.cascade.close()


@contextmanager
def document_workers(settings: Settings, run_id: uuid.UUID) -> Iterator[DocumentWorkers | None]:
    """The run's worker processes for the pure stages (`task_workers` of them), closed with
    the run; None on Dask (its workers are processes already) or with `process_pool` off."""
    if uses_dask(settings) or not settings.process_pool:
        yield None
        return
    workers = DocumentWorkers(settings.task_workers)
    with _LOCK:
        _WORKERS[run_id] = workers
    try:
        yield workers
    finally:
        with _LOCK:
            _WORKERS.pop(run_id, None)
        workers.close()


def run_workers(run_id: uuid.UUID) -> DocumentWorkers | None:
    """The run's document workers when this is the flow's process and it has them."""
    with _LOCK:
        return _WORKERS.get(run_id)


def dask_usage() -> dict[str, dict[str, float]]:
    """`process_usage()` of every worker of the flow's Dask cluster, by worker address ({}
    when the flow does not run on Dask)."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    runner = context.task_runner if context else None
    if runner is None or type(runner).__name__ != "DaskTaskRunner":
        return {}
    try:
        return dict(runner.client.run(process_usage))
    except Exception as exc:  # noqa: BLE001 - the figures are lost, not the run
        log.warning("could not read the Dask workers' CPU: %s", exc)
        return {}


def dask_delta(
    before: dict[str, dict[str, float]], after: dict[str, dict[str, float]]
) -> dict[str, float]:
    """What the Dask workers spent between two `dask_usage()` readings: CPU-seconds summed
    (a worker that appeared meanwhile counts whole), peak memory the largest."""
    if not after:
        return {}
    cpu = sum(
        u["cpu_seconds"] - before.get(addr, {}).get("cpu_seconds", 0.0) for addr, u in after.items()
    )
    return {
        "processes": len(after),
        "cpu_seconds": round(max(0.0, cpu), 2),
        "peak_mb": round(max(u["peak_mb"] for u in after.values()), 1),
        "peak_sum_mb": round(sum(u["peak_mb"] for u in after.values()), 1),
        "peak_child_mb": round(max(u["peak_child_mb"] for u in after.values()), 1),
    }
