"""The per-run exception report a clerk reads: HTML and CSV, plus the run summary.

The rows are built by pure functions from what the store returns, so the same rows feed the
HTML page, the CSV file and the Prefect artifact.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

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


def exception_rows(
    exceptions: list[dict[str, Any]], thresholds: dict[str, float]
) -> list[ExceptionRow]:
    """Report rows from the store's exception records (see `staging.store.run_exceptions`)."""
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
        writer.writerow(header + ["errors"])
        for r in rows:
            line: list[Any] = [r.exception_id, r.document_id, r.file_name, " ".join(r.reason_codes)]
            for name in REPORT_FIELDS:
                cell = r.values.get(name)
                line += [cell.value, f"{cell.confidence:.3f}"] if cell else ["", ""]
            writer.writerow(line + [r.errors])
    return path


def write_html(
    run: dict[str, Any], summary: dict[str, Any], rows: list[ExceptionRow], path: Path
) -> Path:
    """The exception report as a self-contained HTML page."""
    env = Environment(loader=PackageLoader("review", "templates"), autoescape=select_autoescape())
    html = env.get_template("run_report.html").render(
        run=run, summary=summary, rows=rows, fields=REPORT_FIELDS
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8")
    return path


def summary_markdown(summary: dict[str, Any]) -> str:
    """The run summary as Markdown, for the Prefect artifact and the log."""
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
            "",
            f"Report: {summary.get('report_html') or '-'}",
        ]
    )
