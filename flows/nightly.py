"""The nightly batch: a folder of supplier invoices -> staged rows, exceptions and a report.

Thin wiring: every task is a few lines around one package function. Each document is staged
as soon as it is processed, in its own transaction, so a crash mid-batch loses nothing that was
staged, and a re-run of the same inbox skips what is already staged.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.classification import open_run_cascade
from flows.matching import load_vendor_master, match_against_store
from flows.process import RunContext, failed_intake, fingerprint, process_document
from invoices.records import Document, DocumentResult, ReasonCode, StageError
from invoices.settings import Settings, load_settings
from matchers.embeddings import load_embedder
from matchers.vendor import VendorResolver
from staging import db, learning, master, matching, outbox, runs, store

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


@task(name="fingerprint", cache_policy=NO_CACHE)
def fingerprint_task(
    paths: list[Path], settings: Settings
) -> list[tuple[Document, StageError | None]]:
    """sha256 and media type of every file (a bad file gets a recorded error)."""
    return [fingerprint(p, settings) for p in paths]


@task(name="process-document", cache_policy=NO_CACHE, task_run_name="process {document.path.name}")
def process_task(document: Document, error: StageError | None, ctx: RunContext) -> DocumentResult:
    """Text, extraction, validation and matching of one document."""
    if error is not None:
        return failed_intake(document, error, ctx.settings)
    return process_document(document, ctx)


def _straight_through(result: DocumentResult, settings: Settings) -> bool:
    """Whether the pipeline approves this invoice itself (a setting, off by default)."""
    return (
        settings.erp_approve_straight_through
        and result.invoice is not None
        and not result.is_exception
    )


@task(name="stage-document", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def stage_task(
    result: DocumentResult, run_id: uuid.UUID, ctx: RunContext, position: str
) -> dict[str, Any]:
    """Check one result against what is staged (duplicates, PO ledger) and stage it, in one
    transaction (retried: it is I/O)."""
    settings = ctx.settings
    assert settings.database_url
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
    get_run_logger().info(
        "%s %s: %s%s",
        position,
        result.document.path.name,
        result.status.value,
        f" -> exception {', '.join(result.reasons)}" if result.reasons else "",
    )
    return {
        "document_id": document_id,
        "status": result.status.value,
        "exception": result.is_exception,
        "audit_sample": result.reasons == [ReasonCode.AUDIT_SAMPLE],
        "timings": result.timings,
    }


@task(
    name="stage-identical-file", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30]
)
def stage_identical_task(
    document: Document, run_id: uuid.UUID, settings: Settings
) -> dict[str, Any]:
    """Record a file whose bytes equal a staged document's as a suspected duplicate."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        document_id = store.stage_identical_file(conn, document, run_id)
    get_run_logger().info(
        "%s: same bytes as a staged document -> exception DUPLICATE_SUSPECTED", document.path.name
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


def _summary(
    run_id: uuid.UUID, found: int, skipped: int, staged: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    recorded = [s for s in staged if s["document_id"] is not None]
    new = [s for s in recorded if s["status"] != "skipped"]
    exceptions = sum(1 for s in recorded if s["exception"])
    failures = sum(1 for s in new if s["status"] == "failed")
    per_stage: dict[str, float] = {}
    for s in new:
        for stage, secs in s["timings"].items():
            per_stage[stage] = per_stage.get(stage, 0.0) + secs
    return {
        "run_id": str(run_id),
        "documents": found,
        "staged": len(new),
        "identical_files": len(recorded) - len(new),
        "skipped": skipped + (len(staged) - len(recorded)),
        "exceptions": exceptions,
        "failures": failures,
        "audit_samples": sum(1 for s in new if s.get("audit_sample")),
        "straight_through_rate": (
            sum(1 for s in new if not s["exception"] or s.get("audit_sample")) / len(new)
            if new
            else 0.0
        ),
        "seconds_per_stage": {k: round(v, 3) for k, v in sorted(per_stage.items())},
        "wall_seconds": round(seconds, 2),
    }


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


def _process_inbox(settings: Settings, run_id: uuid.UUID, inbox: str) -> dict[str, Any]:
    started = time.perf_counter()
    logger = get_run_logger()
    assert settings.database_url
    paths = discover_documents(Path(inbox))
    described = fingerprint_task(paths, settings)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        recorded, originals = store.known_files(
            conn, [(d.sha256, str(d.path)) for d, _ in described]
        )
    todo, identical, skipped = plan_documents(described, recorded, originals)
    logger.info(
        "run %s: %d documents in %s, %d new, %d identical to staged ones, %d already recorded",
        run_id,
        len(paths),
        inbox,
        len(todo),
        len(identical),
        skipped,
    )
    ctx = build_context(settings, run_id)
    try:
        futures: list[Any] = []
        for i, (document, error) in enumerate(todo, start=1):
            processed = process_task.submit(document, error, quote(ctx))
            # documents are processed in parallel but staged in inbox order, so that of two
            # copies of one invoice the later file is the one flagged as the duplicate
            futures.append(
                stage_task.submit(
                    processed, run_id, quote(ctx), f"[{i}/{len(todo)}]", wait_for=futures[-1:]
                )
            )
        staged = [f.result() for f in futures]
        staged += [stage_identical_task(document, run_id, settings) for document in identical]
        classification = ctx.cascade.run_metrics() if ctx.cascade else {}
    finally:
        if ctx.cascade is not None:
            ctx.cascade.close()
    summary = _summary(run_id, len(paths), skipped, staged, time.perf_counter() - started)
    summary["classification"] = classification
    summary["model_versions"] = {"calibration": ctx.calibration_version}
    return summary


@flow(name="nightly_batch", task_runner=ThreadPoolTaskRunner(max_workers=2), log_prints=True)
def nightly_batch(inbox: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the whole pipeline over a folder of invoices; returns the run summary.

    The run is recorded in batch_runs from start to end; a run that dies on an infrastructure
    fault is marked failed (what it staged stays staged) and the error propagates.
    """
    settings = _share_cores(load_settings(**(overrides or {})))
    if not settings.database_url:
        raise ValueError("no database: set DATABASE_URL (the `invoices run` command does this)")
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        run_id = runs.start_run(conn, str(inbox))
    try:
        summary = _process_inbox(settings, run_id, inbox)
    except BaseException as exc:
        with db.connection(settings.database_url, settings.db_schema) as conn:
            runs.finish_run(conn, run_id, counts={}, metrics={"error": repr(exc)}, status="failed")
        raise
    with db.connection(settings.database_url, settings.db_schema) as conn:
        runs.finish_run(conn, run_id, counts=summary, metrics=summary)
    create_markdown_artifact(
        markdown=summary_markdown(summary),
        key="nightly-batch-summary",
        description="Run summary",
    )
    get_run_logger().info("run summary: %s", summary)
    return summary


def summary_markdown(summary: dict[str, Any]) -> str:
    """The run summary as Markdown, for the Prefect artifact."""
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in summary["seconds_per_stage"].items())
    return "\n".join(
        [
            f"# Nightly batch {summary['run_id']}",
            "",
            "| documents | staged | identical files | skipped | exceptions | failures |"
            " straight-through |",
            "|---|---|---|---|---|---|---|",
            f"| {summary['documents']} | {summary['staged']} | {summary['identical_files']} |"
            f" {summary['skipped']} |"
            f" {summary['exceptions']} | {summary['failures']} |"
            f" {100 * summary['straight_through_rate']:.1f}% |",
            "",
            f"Seconds per stage: {stages or 'none'}",
        ]
    )


def run_inbox(
    settings: Settings, inbox: Path, master_dir: Path | None = None, workers: int = 0
) -> dict[str, Any]:
    """The nightly batch, now, on a database that is up: load the master-data folder when one
    is given, then run the flow with `workers` documents processed at once."""
    assert settings.database_url
    if master_dir is not None:
        counts = master.load_master_folder(settings.database_url, settings.db_schema, master_dir)
        log.info("master data: %s", counts)
    workers = workers or settings.task_workers
    runner: Any = ThreadPoolTaskRunner(max_workers=workers)  # Prefect types it [Never]
    flow_with_runner = nightly_batch.with_options(task_runner=runner)
    overrides = {"database_url": settings.database_url, "task_workers": workers}
    return flow_with_runner(inbox=str(inbox.resolve()), overrides=overrides)
