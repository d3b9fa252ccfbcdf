"""The per-run exception report a clerk reads: HTML and CSV, plus the run summary, and every
invoice of the run with its ERP status and, once synced, the ERP's bill id (the receipt).

The rows are built by pure functions from what the store returns, so the same rows feed the
HTML page, the CSV file and the Prefect artifact. The report is written when the run ends;
`invoices report RUN_ID` writes it again with the ERP status as it is now.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from invoices.settings import Settings
from staging import corrections, db, runs

# The columns of the report: the fields a clerk checks first.
REPORT_FIELDS: tuple[str, ...] = (
    "vendor_name",
    "vendor_vat_id",
    "iban",
    "invoice_number",
    "invoice_date",
    "po_number",
    "currency",
    "subtotal",
    "tax",
    "total",
)


@dataclass(frozen=True)
class Cell:
    value: str
    confidence: float
    low: bool


@dataclass(frozen=True)
class ExceptionRow:
    exception_id: int
    document_id: int
    file_name: str
    reason_codes: list[str]
    values: dict[str, Cell]
    errors: str
    link: str = ""  # the item on the review page


@dataclass(frozen=True)
class ErpRow:
    """One invoice of the run and where it stands with the ERP."""

    document_id: int
    file_name: str
    invoice_number: str
    vendor: str
    total: str
    status: str  # the invoice's: staged, exception, approved, synced, rejected
    erp: str  # not queued, queued, sending, sent, failed
    erp_id: str  # the ERP's bill id (the receipt), once synced
    credit_erp_id: str  # the credit note's id, after a reversal
    attempts: int
    last_error: str


ERP_STATES = {None: "not queued", "pending": "queued", "in_flight": "sending", "done": "sent",
              "dead": "failed"}


def erp_rows(invoices: list[dict[str, Any]]) -> list[ErpRow]:
    """Report rows from the store's invoice records (see `staging.runs.run_invoices_erp`)."""
    return [
        ErpRow(
            document_id=i["document_id"],
            file_name=i["file_name"],
            invoice_number=i["invoice_number"] or "",
            vendor=i["vendor"] or "",
            total=f"{i['total']} {i['currency'] or ''}".strip() if i["total"] is not None else "",
            status=i["status"],
            erp=ERP_STATES.get(i["entry_status"], str(i["entry_status"])),
            erp_id=i["erp_id"] or "",
            credit_erp_id=i["credit_erp_id"] or "",
            attempts=int(i["attempts"] or 0),
            last_error=i["last_error"] or "",
        )
        for i in invoices
    ]


def exception_rows(
    exceptions: list[dict[str, Any]], thresholds: dict[str, float], base_url: str = ""
) -> list[ExceptionRow]:
    """Report rows from the store's exception records (see `staging.runs.run_exceptions`);
    with a base URL each row links to its item on the review page."""
    rows = []
    for e in exceptions:
        fields = e.get("fields") or {}
        values = {}
        for name in REPORT_FIELDS:
            fv = fields.get(name)
            if fv:
                conf = float(fv.get("confidence", 0.0))
                values[name] = Cell(str(fv.get("value")), conf, conf < thresholds.get(name, 0.0))
        errors = "; ".join(
            f"{err.get('stage')}: {err.get('category')}: {err.get('message')}"
            for err in (e.get("errors") or [])
        )
        rows.append(
            ExceptionRow(
                exception_id=e["exception_id"],
                document_id=e["document_id"],
                file_name=e["file_name"],
                reason_codes=list(e["reason_codes"]),
                values=values,
                errors=errors,
                link=f"{base_url.rstrip('/')}/items/{e['exception_id']}" if base_url else "",
            )
        )
    return rows


def write_csv(rows: list[ExceptionRow], path: Path) -> Path:
    """The exception rows as CSV: document, reasons, and each field's value and confidence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        header = ["exception_id", "document_id", "file_name", "reason_codes"]
        for name in REPORT_FIELDS:
            header += [name, f"{name}_confidence"]
        writer.writerow(header + ["errors", "review_url"])
        for r in rows:
            line: list[Any] = [r.exception_id, r.document_id, r.file_name, " ".join(r.reason_codes)]
            for name in REPORT_FIELDS:
                cell = r.values.get(name)
                line += [cell.value, f"{cell.confidence:.3f}"] if cell else ["", ""]
            writer.writerow(line + [r.errors, r.link])
    return path


def model_version_rows(
    summary: dict[str, Any], value_versions: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The versions behind the run's staged values, for the report: the learned models the
    whole run applied (the confidence calibration, the vendor aliases: every value and match
    of the run), then each extractor and classification model with the values and invoices it
    produced (see `staging.runs.value_versions`)."""
    staged = summary.get("staged")
    run_wide = [
        {"component": "learned model", "name": name, "version": version or "none",
         "values": None, "invoices": staged}
        for name, version in sorted((summary.get("model_versions") or {}).items())
    ]  # fmt: skip
    return run_wide + [dict(r) for r in value_versions]


def write_html(
    run: dict[str, Any],
    summary: dict[str, Any],
    rows: list[ExceptionRow],
    path: Path,
    clerk_time: list[dict[str, Any]] | None = None,
    erp: list[ErpRow] | None = None,
    versions: list[dict[str, Any]] | None = None,
) -> Path:
    """The exception report as a self-contained HTML page (with clerk time per reason, the
    run's invoices with their ERP status and receipts, vendor drift and the model versions
    behind the staged values)."""
    env = Environment(loader=PackageLoader("review", "templates"), autoescape=select_autoescape())
    html = env.get_template("run_report.html").render(
        run=run,
        summary=summary,
        rows=rows,
        fields=REPORT_FIELDS,
        clerk_time=clerk_time or [],
        erp=erp or [],
        versions=versions or [],
        drift=summary.get("vendor_drift") or [],
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def write_run_report(settings: Settings, summary: dict[str, Any]) -> dict[str, str]:
    """Write a finished run's exception report (HTML and CSV) under `settings.reports_dir` and
    record where in batch_runs; returns the two paths as `report_html` and `report_csv`."""
    assert settings.database_url
    run_id = uuid.UUID(str(summary["run_id"]))
    with db.connection(settings.database_url, settings.db_schema) as conn:
        exceptions = runs.run_exceptions(conn, run_id)
        run = runs.run_row(conn, run_id) or {}
        rows = exception_rows(exceptions, settings.confidence_thresholds, settings.review_base_url)
        clerk_time = corrections.clerk_time_by_reason(conn)
        erp = erp_rows(runs.run_invoices_erp(conn, run_id))
        versions = model_version_rows(summary, runs.value_versions(conn, run_id))
        out = Path(settings.reports_dir) / str(run_id)
        html = write_html(
            run, summary, rows, out / "exceptions.html", clerk_time, erp, versions
        )
        csv_path = write_csv(rows, out / "exceptions.csv")
        runs.record_run_report(conn, run_id, str(html), str(csv_path))
    return {"report_html": str(html), "report_csv": str(csv_path)}


def rewrite_run_report(settings: Settings, run_id: str) -> dict[str, str]:
    """Write a finished run's report again from its recorded summary, with the ERP status and
    receipts of its invoices as they are now (after `invoices sync`)."""
    assert settings.database_url
    try:
        wanted = uuid.UUID(run_id)
    except ValueError:
        raise LookupError(f"{run_id!r} is not a run id (a UUID from batch_runs)") from None
    with db.connection(settings.database_url, settings.db_schema) as conn:
        run = runs.run_row(conn, wanted)
    if run is None or not run["metrics"]:
        raise LookupError(f"no finished run {run_id}")
    return write_run_report(settings, {**run["metrics"], "run_id": str(run["run_id"])})
