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

from flows.process import RunContext, failed_intake, fingerprint, process_document
from invoices.records import Document, DocumentResult, StageError
from invoices.settings import Settings, load_settings
from review import report
from staging import db, store

log = logging.getLogger(__name__)


def discover_documents(inbox: Path) -> list[Path]:
    """Every file below the inbox (hidden files and folders skipped), in a stable order."""
    inbox = Path(inbox)
    if not inbox.is_dir():
        raise NotADirectoryError(f"inbox {inbox} is not a folder")
    return sorted(
        p for p in inbox.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(inbox).parts)
    )


def build_context(settings: Settings) -> RunContext:
    """Stage objects built once per run: the vendor resolver over the current master.

    Vendor name embeddings come from the cache in Postgres; only new or changed vendors are
    embedded.
    """
    from matchers.embeddings import load_embedder
    from matchers.vendor import VendorResolver
    from staging.matching import load_vendor_master

    assert settings.database_url
    embedder = load_embedder(settings)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        vendor_master = load_vendor_master(conn, embedder)
    resolver = VendorResolver(vendor_master, embedder, settings)
    return RunContext(settings=settings, vendor_resolver=resolver)


@task(name="fingerprint", cache_policy=NO_CACHE)
def fingerprint_task(paths: list[Path], settings: Settings) -> list[tuple[Document, StageError | None]]:
    """sha256 and media type of every file (a bad file gets a recorded error)."""
    return [fingerprint(p, settings) for p in paths]


@task(name="process-document", cache_policy=NO_CACHE, task_run_name="process {document.path.name}")
def process_task(document: Document, error: StageError | None, ctx: RunContext) -> DocumentResult:
    """Text, extraction, validation and matching of one document."""
    if error is not None:
        return failed_intake(document, error, ctx.settings)
    return process_document(document, ctx)


@task(name="stage-document", cache_policy=NO_CACHE, retries=3, retry_delay_seconds=[2, 10, 30])
def stage_task(result: DocumentResult, run_id: uuid.UUID, settings: Settings, position: str) -> dict[str, Any]:
    """Write one result to the staging store (retried: it is I/O)."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        document_id = store.stage_result(conn, result, run_id)
    logger = get_run_logger()
    logger.info(
        "%s %s: %s%s", position, result.document.path.name, result.status.value,
        f" -> exception {', '.join(result.reasons)}" if result.reasons else "",
    )
    return {
        "document_id": document_id,
        "status": result.status.value,
        "exception": result.is_exception,
        "timings": result.timings,
    }


def _share_cores(settings: Settings) -> Settings:
    """Split the cores between documents processed at once and each document's OCR pool,
    so that tesseract never runs more processes than there are cores."""
    if settings.ocr_workers:
        return settings
    per_document = max(1, (os.cpu_count() or 1) // max(1, settings.task_workers))
    return settings.model_copy(update={"ocr_workers": per_document})


def _summary(run_id: uuid.UUID, found: int, skipped: int, staged: list[dict[str, Any]],
             seconds: float) -> dict[str, Any]:
    new = [s for s in staged if s["document_id"] is not None]
    exceptions = sum(1 for s in new if s["exception"])
    failures = sum(1 for s in new if s["status"] == "failed")
    per_stage: dict[str, float] = {}
    for s in new:
        for stage, secs in s["timings"].items():
            per_stage[stage] = per_stage.get(stage, 0.0) + secs
    return {
        "run_id": str(run_id),
        "documents": found,
        "staged": len(new),
        "skipped": skipped + (len(staged) - len(new)),
        "exceptions": exceptions,
        "failures": failures,
        "straight_through_rate": (len(new) - exceptions) / len(new) if new else 0.0,
        "seconds_per_stage": {k: round(v, 3) for k, v in sorted(per_stage.items())},
        "wall_seconds": round(seconds, 2),
    }


@flow(name="nightly_batch", task_runner=ThreadPoolTaskRunner(max_workers=2), log_prints=True)
def nightly_batch(inbox: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the whole pipeline over a folder of invoices; returns the run summary."""
    started = time.perf_counter()
    logger = get_run_logger()
    settings = _share_cores(load_settings(**(overrides or {})))
    if not settings.database_url:
        raise ValueError("no database: set DATABASE_URL (the `invoices run` command does this)")
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        run_id = store.start_run(conn, str(inbox))
    paths = discover_documents(Path(inbox))
    described = fingerprint_task(paths, settings)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        known = store.known_hashes(conn, [d.sha256 for d, _ in described])
    todo, seen = [], set(known)
    for document, error in described:
        if document.sha256 and document.sha256 in seen:
            continue  # already staged, or the same bytes twice in this inbox
        seen.add(document.sha256)
        todo.append((document, error))
    skipped = len(described) - len(todo)
    logger.info("run %s: %d documents in %s, %d new, %d already staged",
                run_id, len(paths), inbox, len(todo), skipped)
    ctx = build_context(settings)
    futures = []
    for i, (document, error) in enumerate(todo, start=1):
        processed = process_task.submit(document, error, quote(ctx))
        futures.append(stage_task.submit(processed, run_id, settings, f"[{i}/{len(todo)}]"))
    staged = [f.result() for f in futures]
    summary = _summary(run_id, len(paths), skipped, staged, time.perf_counter() - started)
    html, csv_path = _write_report(settings, run_id, summary)
    summary.update(report_html=str(html), report_csv=str(csv_path))
    with db.connection(settings.database_url, settings.db_schema) as conn:
        store.finish_run(conn, run_id, counts=summary, metrics=summary,
                         report_html=str(html), report_csv=str(csv_path))
    markdown = report.summary_markdown(summary)
    create_markdown_artifact(markdown=markdown, key="nightly-batch-summary", description="Run summary")
    logger.info("run summary: %s", summary)
    return summary


def _write_report(settings: Settings, run_id: uuid.UUID, summary: dict[str, Any]) -> tuple[Path, Path]:
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        exceptions = store.run_exceptions(conn, run_id)
        run = store.run_row(conn, run_id) or {}
    rows = report.exception_rows(exceptions, settings.confidence_thresholds)
    out = Path(settings.reports_dir) / str(run_id)
    html = report.write_html(run, summary, rows, out / "exceptions.html")
    csv_path = report.write_csv(rows, out / "exceptions.csv")
    return html, csv_path
