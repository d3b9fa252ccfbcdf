"""The nightly batch: a folder of supplier invoices -> staged rows, exceptions and a report.

Thin wiring: every task is a few lines around one package function. Each document is staged
as soon as it is processed, in its own transaction, so a crash mid-batch loses nothing that was
staged, and a re-run of the same inbox skips what is already staged.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from flows import logs
from flows.matching import ALIASES_KIND, match_against_store
from flows.prepare import Prepared, Stages, prepare_document, prepare_to_wire
from flows.process import RunContext, failed_intake, fingerprint, finish_document
from flows.relay import sync_after_batch
from flows.run_summary import Progress, build_summary, cpu_seconds, publish
from flows.runners import (
    chunk_size,
    dask_delta,
    dask_usage,
    document_workers,
    release_context,
    run_workers,
    task_runner,
    thread_pool_size,
    worker_context,
)
from flows.server import api_or_throwaway
from flows.workers import DocumentWorkers, WorkerDied
from invoices.records import Document, DocumentResult, ReasonCode, StageError
from invoices.run_metrics import document_record
from invoices.settings import Settings, load_settings
from staging import corrections, db, learning, master, matching, models, outbox, runs, store

log = logging.getLogger(__name__)


def discover_documents(inbox: Path) -> list[Path]:
    """Every file below the inbox (hidden files and folders skipped), in a stable order."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise NotADirectoryError(f"inbox {inbox} is not a folder")
    return sorted(
        p
        for p in inbox.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    )


@task(name="fingerprint", cache_policy=NO_CACHE)
def fingerprint_task(
    paths: list[Path], settings: Settings
) -> list[tuple[Document, StageError | None]]:
    """sha256 and media type of every file (a bad file gets a recorded error)."""
    return [fingerprint(p, settings) for p in paths]


@task(name="process-documents", cache_policy=NO_CACHE, task_run_name="process {label}")
def process_chunk_task(
    items: list[tuple[Document, StageError | None]],
    settings: Settings,
    run_id: uuid.UUID,
    label: str,
) -> list[DocumentResult]:
    """Text, extraction, validation and matching of a chunk of documents (one with threads,
    several on Dask), with this process's stage objects for the run; with threads the pure
    stages run in the run's document workers when it has them."""
    ctx = worker_context(settings, run_id)
    workers = run_workers(run_id)
    results = []
    with logs.run_scope(run_id):
        for document, error in items:
            with logs.document_scope(document.sha256, document.path.name):
                if error is not None:
                    results.append(failed_intake(document, error, settings))
                else:
                    prepared = _prepare(document, ctx, workers)
                    results.append(finish_document(prepared, ctx))
    return results


def _prepare(document: Document, ctx: RunContext, workers: DocumentWorkers | None) -> Prepared:
    """The pure stages of one document, in a worker process when there are workers; a worker
    that dies on the document (a signal, a crash in a parser, out of memory) fails it alone."""
    if workers is None:
        return prepare_document(document, ctx.settings, ctx.recalibration)
    started = time.perf_counter()
    try:
        wire = workers.run(prepare_to_wire, document, ctx.settings, ctx.recalibration)
        return Prepared.from_wire(wire)
    except WorkerDied as exc:
        stage = exc.stage or "text"
        logs.run_logger(log).error("%s: %s; recorded as failed", document.path.name, exc)
        error = StageError(
            stage=stage,
            category=ReasonCode.PROCESSING_ERROR.value,
            message=f"the worker process reading the document {exc.how} during the {stage}"
            " stage (a crash in a parser or out of memory); the batch went on",
        )
        failed = failed_intake(document, error, ctx.settings)
        timings = {stage: round(time.perf_counter() - started, 4)}
        return Prepared(document, Stages(), failed=failed.model_copy(update={"timings": timings}))


def _straight_through(result: DocumentResult, settings: Settings) -> bool:
    """Whether the pipeline approves this invoice itself (a setting, off by default)."""
    return (
        settings.erp_approve_straight_through
        and result.invoice is not None
        and not result.is_exception
    )


@task(name="stage-documents", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def stage_chunk_task(
    results: list[DocumentResult], settings: Settings, run_id: uuid.UUID, first: int, total: int
) -> list[dict[str, Any]]:
    """Stage each result of a chunk in its own transaction (retried: it is I/O; a document
    an earlier attempt of this run committed is reported staged, never staged twice)."""
    ctx = worker_context(settings, run_id)
    staged = []
    with logs.run_scope(run_id):
        for i, result in enumerate(results, start=first):
            doc = result.document
            with logs.document_scope(doc.sha256, doc.path.name):
                staged.append(_stage_one(result, ctx, run_id, f"[{i}/{total}]"))
    return staged


def _stage_one(
    result: DocumentResult, ctx: RunContext, run_id: uuid.UUID, position: str
) -> dict[str, Any]:
    """Check one result against what is staged (duplicates, PO ledger) and stage it, in one
    transaction."""
    settings = ctx.settings
    assert settings.database_url
    doc = result.document
    with db.connection(settings.database_url, settings.db_schema) as conn:
        with conn.transaction():
            store.lock_staging(conn)
            result, billed = match_against_store(conn, result, ctx)
            details = {"duplicates": result.duplicates} if result.duplicates else {}
            document_id = store.stage_result(conn, result, run_id, details)
            if document_id is not None and billed:
                matching.record_billing(conn, document_id, billed)
            if document_id is not None and _straight_through(result, settings):
                outbox.approve_straight_through(conn, document_id, settings)
        if document_id is None:
            document_id = runs.staged_by_run(conn, doc.sha256, str(doc.path), run_id)
    logs.run_logger(log).info(
        "%s %s (document %s): %s%s",
        position,
        doc.path.name,
        document_id,
        result.status.value,
        f" -> exception {', '.join(result.reasons)}" if result.reasons else "",
    )
    return {
        "document_id": document_id,
        "status": result.status.value,
        "exception": result.is_exception,
        "audit_sample": result.reasons == [ReasonCode.AUDIT_SAMPLE],
        "timings": result.timings,
        "record": document_record(result, settings, result.page_methods),
    }


@task(
    name="stage-identical-file", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30]
)
def stage_identical_task(
    document: Document, run_id: uuid.UUID, settings: Settings
) -> dict[str, Any]:
    """Record a file whose bytes equal a staged document's as a suspected duplicate."""
    assert settings.database_url
    with logs.run_scope(run_id), logs.document_scope(document.sha256, document.path.name):
        with db.connection(settings.database_url, settings.db_schema) as conn:
            document_id = store.stage_identical_file(conn, document, run_id)
        logs.run_logger(log).info(
            "%s: same bytes as a staged document -> exception DUPLICATE_SUSPECTED",
            document.path.name,
        )
    return {
        "document_id": document_id,
        "status": "skipped",
        "exception": document_id is not None,
        "timings": {},
    }


def _share_cores(settings: Settings) -> Settings:
    """Split the cores between documents processed at once and each document's OCR pool,
    so that tesseract never runs more processes than there are cores."""
    if settings.ocr_workers:
        return settings
    per_document = max(1, (os.cpu_count() or 1) // max(1, settings.task_workers))
    return settings.model_copy(update={"ocr_workers": per_document})


def plan_documents(
    described: list[tuple[Document, StageError | None]],
    recorded: set[tuple[str, str]],
    originals: dict[str, Any],
) -> tuple[list[tuple[Document, StageError | None]], list[Document], int]:
    """Split a fingerprinted inbox into new documents, files identical to a staged document
    (same bytes, other name), and the count of files an earlier run already recorded."""
    todo, identical, seen = [], [], set(originals)
    for document, error in described:
        if document.sha256 and (document.sha256, str(document.path)) in recorded:
            continue  # this very file was recorded by an earlier run
        if document.sha256 in seen:
            identical.append(document)
            continue
        if document.sha256:
            seen.add(document.sha256)
        todo.append((document, error))
    return todo, identical, len(described) - len(todo) - len(identical)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _process_inbox(settings: Settings, run_id: uuid.UUID, inbox: str) -> dict[str, Any]:
    started, cpu_started = time.perf_counter(), cpu_seconds()
    assert settings.database_url
    paths = discover_documents(Path(inbox))
    described = fingerprint_task(paths, settings)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        recorded, originals = store.known_files(
            conn, [(d.sha256, str(d.path)) for d, _ in described]
        )
    todo, identical, skipped = plan_documents(described, recorded, originals)
    logs.run_logger(log).info(
        "%d documents in %s, %d new, %d identical to staged ones, %d already recorded",
        len(paths),
        inbox,
        len(todo),
        len(identical),
        skipped,
    )
    progress = Progress(settings, run_id, len(todo) + len(identical))
    dask_before = dask_usage()
    try:
        with document_workers(settings, run_id) as workers:
            staged = _run_documents(settings, run_id, todo, progress)
            usage = (
                workers.usage() if workers is not None else dask_delta(dask_before, dask_usage())
            )
        for document in identical:
            staged.append(stage_identical_task(document, run_id, settings))
            progress.advance(1)
    finally:
        release_context(run_id)
    summary = build_summary(
        run_id,
        len(paths),
        skipped,
        staged,
        time.perf_counter() - started,
        cpu_seconds() - cpu_started,
        settings,
        workers=usage,
    )
    _add_versions_and_drift(summary, settings)
    return summary


def _run_documents(
    settings: Settings,
    run_id: uuid.UUID,
    todo: list[tuple[Document, StageError | None]],
    progress: Progress,
) -> list[dict[str, Any]]:
    """Submit every chunk's processing and staging; the staged figures, in inbox order."""
    futures: list[Any] = []
    first = 1
    for chunk in _chunks(todo, chunk_size(settings)):
        label = chunk[0][0].path.name + (f" +{len(chunk) - 1}" if len(chunk) > 1 else "")
        processed = process_chunk_task.submit(chunk, settings, run_id, label)
        # documents are processed in parallel but staged in inbox order, so that of two
        # copies of one invoice the later file is the one flagged as the duplicate
        futures.append(
            stage_chunk_task.submit(
                processed, settings, run_id, first, len(todo), wait_for=futures[-1:]
            )
        )
        first += len(chunk)
    staged: list[dict[str, Any]] = []
    for future in futures:
        staged += future.result()
        progress.advance(len(staged) - progress.done)
    return staged


def _add_versions_and_drift(summary: dict[str, Any], settings: Settings) -> None:
    """The promoted model versions and the vendors whose values clerks keep correcting."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        calibration_version, _ = learning.promoted_calibration(conn)
        aliases_version, _ = models.promoted_json(conn, ALIASES_KIND)
        summary["vendor_drift"] = corrections.vendor_drift(
            conn, runs=settings.drift_runs, share=settings.drift_corrected_share,
            min_values=settings.drift_min_values,
        )  # fmt: skip
    for row in summary["vendor_drift"]:
        logs.run_logger(log).warning(
            "drift: clerks corrected %d of %d auto-accepted values of vendor %s in the last %d"
            " runs (%s)", row["corrected"], row["auto_accepted"], row["vendor_id"],
            settings.drift_runs, ", ".join(row["fields"] or []),
        )  # fmt: skip
    summary["model_versions"] = {
        "calibration": calibration_version,
        "vendor_aliases": aliases_version,
    }


def _business_slot(settings: Settings, scheduled_for: str | None) -> tuple[datetime, date]:
    """The slot this run stands for (the scheduled start of its flow run, or now for a run
    started by hand) and its business date in the schedule's timezone."""
    slot = datetime.fromisoformat(scheduled_for) if scheduled_for else None
    if slot is None:
        slot = flow_run.scheduled_start_time or datetime.now(UTC)
    slot = slot if slot.tzinfo else slot.replace(tzinfo=UTC)
    return slot, slot.astimezone(ZoneInfo(settings.schedule_timezone)).date()


def _start_run(settings: Settings, inbox: str, scheduled_for: str | None) -> uuid.UUID:
    """Mark this host's runs whose process died as crashed, then record this run."""
    assert settings.database_url
    slot, business_date = _business_slot(settings, scheduled_for)
    host = socket.gethostname()
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        for crashed in runs.mark_crashed_runs(conn, host, _process_alive):
            log.warning("run %s died without finishing: marked crashed", crashed)
        return runs.start_run(
            conn,
            str(inbox),
            scheduled_for=slot,
            business_date=business_date,
            prefect_flow_run_id=flow_run.id,
            host=host,
            pid=os.getpid(),
        )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@flow(
    name="nightly_batch",
    task_runner=ThreadPoolTaskRunner(max_workers=thread_pool_size(2)),
    log_prints=True,
)
def nightly_batch(
    inbox: str, overrides: dict[str, Any] | None = None, scheduled_for: str | None = None
) -> dict[str, Any]:
    """Run the whole pipeline over a folder of invoices; returns the run summary.

    The run is recorded in batch_runs from start to end, with the slot it was scheduled for
    (`scheduled_for`, ISO time; default: this flow run's scheduled start) and that slot's
    business date. A run that dies on an infrastructure fault is marked failed (what it staged
    stays staged) and the error propagates; one whose process was killed is marked crashed by
    the next run on the same host.
    """
    settings = _share_cores(load_settings(**(overrides or {})))
    logs.configure(settings.log_json)
    if not settings.database_url:
        raise ValueError("no database: set DATABASE_URL (the `invoices run` command does this)")
    run_id = _start_run(settings, inbox, scheduled_for)
    with logs.run_scope(run_id):
        try:
            summary = _process_inbox(settings, run_id, inbox)
        except BaseException as exc:
            with db.connection(settings.database_url, settings.db_schema) as conn:
                runs.finish_run(
                    conn, run_id, counts={}, metrics={"error": repr(exc)}, status="failed"
                )
            raise
        with db.connection(settings.database_url, settings.db_schema) as conn:
            runs.finish_run(conn, run_id, counts=summary, metrics=summary)
        publish(summary)
        logs.run_logger(log).info("run summary: %s", summary)
    return summary


def run_inbox(
    settings: Settings,
    inbox: Path,
    master_dir: Path | None = None,
    workers: int = 0,
    relay: Any | None = None,
) -> dict[str, Any]:
    """The nightly batch, now, on a database that is up: load the master-data folder when one
    is given, then run the flow with `workers` documents processed at once, then the ERP relay
    flow when one is given (`flows.relay`; its counts under `erp_sync` in the summary)."""
    assert settings.database_url
    if master_dir is not None:
        counts = master.load_master_folder(settings.database_url, settings.db_schema, master_dir)
        log.info("master data: %s", counts)
    workers = workers or settings.task_workers
    flow_with_runner = nightly_batch.with_options(task_runner=task_runner(settings, workers))
    overrides = {**settings_overrides(settings), "task_workers": workers}
    with api_or_throwaway():
        summary = flow_with_runner(inbox=str(inbox.resolve()), overrides=overrides)
        synced = sync_after_batch(relay, settings, settings_overrides(settings))
    if synced is not None:
        summary["erp_sync"] = synced
    return summary


def settings_overrides(settings: Settings) -> dict[str, Any]:
    """The settings a flow run must see that may not be in its environment (JSON-ready)."""
    keep = (
        "database_url",
        "db_schema",
        "reports_dir",
        "task_runner",
        "dask_address",
        "dask_workers",
        "documents_per_task",
        "process_pool",
    )
    return settings.model_dump(mode="json", include=set(keep), exclude_none=True)
