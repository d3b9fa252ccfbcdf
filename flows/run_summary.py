"""What a run reports about itself: the summary, its Prefect artifacts, progress and resources.

The figures come from `invoices.run_metrics` (pure); this module adds what only the running
process knows (CPU-seconds, peak memory, the OCR version) and publishes them: batch_runs, a
Prefect table and markdown artifact, and a progress artifact updated as documents are staged.
"""

from __future__ import annotations

import logging
import resource
import uuid
from collections.abc import Callable
from typing import Any

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)

from invoices.run_metrics import summarise
from invoices.settings import Settings
from staging import db, runs

log = logging.getLogger(__name__)

# Callables told (done, total) as documents are staged: the command line's progress bar.
PROGRESS_LISTENERS: list[Callable[[int, int], None]] = []


def cpu_seconds() -> float:
    """User + system CPU-seconds of this process and its finished children (tesseract)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_memory_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest child, in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"flow_process": round(own, 1), "largest_child": round(kids, 1)}


def ocr_version() -> str:
    """The tesseract version the OCR stage calls ("none" when it is not installed)."""
    try:
        import pytesseract

        return str(pytesseract.get_tesseract_version())
    except Exception:  # noqa: BLE001 - a missing binary is reported, not raised
        return "none"


def build_summary(
    run_id: uuid.UUID,
    found: int,
    skipped: int,
    staged: list[dict[str, Any]],
    seconds: float,
    cpu: float,
    settings: Settings,
    workers: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The run summary: counts, the run metrics of the new documents, resources and versions.

    `cpu` is the flow process's (with its finished children); `workers` what the run's worker
    processes reported (document workers or Dask workers: CPU-seconds, peak memory), which
    counts in the run's CPU-seconds, cost and peak memory."""
    workers = workers or {}
    flow_cpu = cpu
    cpu = flow_cpu + workers.get("cpu_seconds", 0.0)
    recorded = [s for s in staged if s["document_id"] is not None]
    new = [s for s in recorded if s["status"] != "skipped"]
    per_stage: dict[str, float] = {}
    for s in new:
        for stage, secs in s["timings"].items():
            per_stage[stage] = per_stage.get(stage, 0.0) + secs
    metrics = summarise([s["record"] for s in new if s.get("record")], settings, cpu)
    memory = peak_memory_mb()
    if workers:
        memory["workers"] = workers.get("peak_mb", 0.0)
        memory["largest_child"] = max(memory["largest_child"], workers.get("peak_child_mb", 0.0))
    versions = {
        **metrics.pop("model_versions"),
        "ocr": f"tesseract {ocr_version()}",
        "embedding_model": settings.embedding_model,
    }
    return {
        "run_id": str(run_id),
        "documents": found,
        "staged": len(new),
        "identical_files": len(recorded) - len(new),
        "skipped": skipped + (len(staged) - len(recorded)),
        "exceptions": sum(1 for s in recorded if s["exception"]),
        "failures": sum(1 for s in new if s["status"] == "failed"),
        "audit_samples": sum(1 for s in new if s.get("audit_sample")),
        # an invoice sampled for an audit review went straight through all the same
        "straight_through_rate": (
            sum(1 for s in new if not s["exception"] or s.get("audit_sample")) / len(new)
            if new
            else 0.0
        ),
        "seconds_per_stage": {k: round(v, 3) for k, v in sorted(per_stage.items())},
        "wall_seconds": round(seconds, 2),
        "cpu_seconds_by_process": {
            "flow": round(flow_cpu, 2),
            "workers": round(workers.get("cpu_seconds", 0.0), 2),
            "worker_processes": int(workers.get("processes", 0)),
            "worker_deaths": int(workers.get("deaths", 0)),
        },
        **{k: v for k, v in metrics.items() if k not in ("failures", "straight_through_rate")},
        # the flow's peak plus the workers' (an upper bound: their peaks need not coincide)
        "peak_memory_mb": round(memory["flow_process"] + workers.get("peak_sum_mb", 0.0), 1),
        "peak_memory": memory,
        "versions": dict(sorted(versions.items())),
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """The run summary as Markdown, for the Prefect artifact."""
    stages = ", ".join(f"{k} {v:.2f}s" for k, v in summary["seconds_per_stage"].items())
    pages = summary.get("pages") or {}
    per_doc = summary.get("seconds_per_document") or {}
    llm = summary.get("llm") or {}
    per_call = llm.get("seconds_per_call") or {}
    cost = summary.get("cost") or {}
    reasons = ", ".join(f"{k} {v}" for k, v in (summary.get("exceptions_by_reason") or {}).items())
    return "\n".join(
        [
            f"# Nightly batch {summary['run_id']}",
            "",
            "| documents | staged | identical files | skipped | exceptions | failures |"
            " straight-through | auto-accepted fields |",
            "|---|---|---|---|---|---|---|---|",
            f"| {summary['documents']} | {summary['staged']} | {summary['identical_files']} |"
            f" {summary['skipped']} |"
            f" {summary['exceptions']} | {summary['failures']} |"
            f" {100 * summary['straight_through_rate']:.1f}% |"
            f" {100 * summary.get('auto_accept_rate', 0.0):.1f}% |",
            "",
            f"Pages: text layer {pages.get('text_layer', 0)}, OCR {pages.get('ocr', 0)}",
            f"Exceptions by reason: {reasons or 'none'}",
            f"Seconds per stage: {stages or 'none'}",
            f"Seconds per document: p50 {per_doc.get('p50', 0)}, p95 {per_doc.get('p95', 0)},"
            f" max {per_doc.get('max', 0)}",
            f"LLM: {llm.get('calls', 0)} calls, {llm.get('tokens', 0)} tokens,"
            f" {llm.get('seconds', 0)} s; per call: seconds p50 {per_call.get('p50', 0)},"
            f" p95 {per_call.get('p95', 0)}, prompt tokens {llm.get('prompt_tokens_per_call', 0)},"
            f" completion tokens {llm.get('completion_tokens_per_call', 0)}",
            f"Peak memory: {summary.get('peak_memory_mb', 0)} MB; cost per 1,000 invoices:"
            f" {cost.get('per_1000_invoices', 0)} {cost.get('currency', '')}",
            "Versions: "
            + ", ".join(f"{k} {v}" for k, v in (summary.get("versions") or {}).items()),
        ]
    )


def stage_table(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per stage (p50, p95, max, total seconds), for the Prefect table artifact."""
    rows = [{"stage": k, **v} for k, v in (summary.get("stage_percentiles") or {}).items()]
    rows.append({"stage": "document", **(summary.get("seconds_per_document") or {})})
    return rows


def publish(summary: dict[str, Any]) -> None:
    """The run's summary and stage table as Prefect artifacts."""
    create_markdown_artifact(
        markdown=summary_markdown(summary), key="nightly-batch-summary", description="Run summary"
    )
    create_table_artifact(
        table=stage_table(summary), key="nightly-batch-stages", description="Seconds per stage"
    )


class Progress:
    """Documents staged so far: a Prefect progress artifact, batch_runs and the listeners."""

    def __init__(self, settings: Settings, run_id: uuid.UUID, total: int) -> None:
        self.settings, self.run_id, self.total, self.done = settings, run_id, total, 0
        self.artifact_id = create_progress_artifact(
            progress=0.0, key="nightly-batch-progress", description="Documents staged"
        )

    def advance(self, documents: int) -> None:
        """Count `documents` more as staged and tell everyone who follows the run."""
        self.done += documents
        share = 100.0 * self.done / self.total if self.total else 100.0
        if self.artifact_id is not None:
            update_progress_artifact(self.artifact_id, progress=share)
        assert self.settings.database_url
        with db.connection(self.settings.database_url, self.settings.db_schema) as conn:
            runs.record_progress(conn, self.run_id, {"done": self.done, "total": self.total})
        for listener in PROGRESS_LISTENERS:
            listener(self.done, self.total)
