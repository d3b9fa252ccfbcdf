"""`invoices eval-classification DIR`: how well the cascade classifies a labelled folder.

The classifier is scored on its own: each document's invoice is built from its label (printed
header fields and line items) and its text is the PDF's text layer, so extraction errors do not
blur the figures. Generated folders (`labels/*.json` with a `truth` key, `master/*.csv`) are
scored on document type, GL top-1/top-3 (vendors with and without history), cost centre and
approval route; e-invoice folders (zugferd) on the document type code.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from classifiers.cascade import Cascade, ClassificationContext
from classifiers.doctype import document_type_from_code
from classifiers.history import CodedLine
from invoices.records import FieldValue, Invoice, LineItem, Method, Provenance

log = logging.getLogger(__name__)

_PROV = Provenance(method=Method.MANUAL, extractor="label")


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV file with a header (empty list when the file is absent)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def coded_lines_from_csv(path: Path) -> list[CodedLine]:
    """The coded history of a master folder."""
    out = []
    for r in read_csv(path):
        if not r.get("gl_account"):
            continue
        out.append(
            CodedLine(
                invoice_id=r["invoice_id"],
                line_no=int(r["line_no"]),
                vendor_id=r.get("vendor_id") or None,
                description=r.get("description") or "",
                gl_account=r["gl_account"],
                cost_centre=r.get("cost_centre") or None,
                amount=Decimal(r["amount"]) if r.get("amount") else None,
                invoice_date=date.fromisoformat(r["invoice_date"])
                if r.get("invoice_date")
                else None,
            )
        )
    return out


def invoice_from_label(label: dict[str, Any]) -> Invoice:
    """The invoice as printed, from a label's `fields` and `line_items`."""
    fields = label.get("fields") or {}

    def fv(value: Any) -> FieldValue[Any] | None:
        return None if value is None else FieldValue(value=value, confidence=1.0, provenance=_PROV)

    def money(value: Any) -> FieldValue[Decimal] | None:
        return None if value is None else fv(Decimal(str(value)))

    lines = [
        LineItem(
            description=fv(item.get("description") or ""), line_total=money(item.get("line_total"))
        )
        for item in label.get("line_items") or []
    ]
    return Invoice(
        vendor_name=fv(fields.get("vendor_name")),
        total=money(fields.get("total")),
        po_number=fv(fields.get("po_number")),
        invoice_number=fv(fields.get("invoice_number")),
        lines=lines,
    )


def document_text(folder: Path, label: dict[str, Any]) -> str:
    """The text layer of the label's first PDF (empty for images and unreadable files)."""
    docs = label.get("documents") or []
    if not docs:
        return ""
    rel = docs[0]["path"] if isinstance(docs[0], dict) else docs[0]
    path = folder / rel
    if path.suffix.lower() != ".pdf" or not path.exists():
        return ""
    try:
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        return "\n".join((page.extract_text() or "") for page in reader.pages[:2])
    except Exception as exc:  # noqa: BLE001 - a broken sample is scored as text-less
        log.warning("no text from %s: %s", path.name, exc)
        return ""


@dataclass
class Tally:
    """Counts behind the figures."""

    docs: int = 0
    doctype_right: int = 0
    doctype_confusion: Counter[tuple[str, str]] = field(default_factory=Counter)
    lines: dict[str, list[int]] = field(
        default_factory=lambda: {"with": [0, 0, 0], "without": [0, 0, 0]}
    )
    cc: list[int] = field(default_factory=lambda: [0, 0])
    route: list[int] = field(default_factory=lambda: [0, 0])
    reasons: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    # documents typed wrong: doc_id, expected, got, confidence and the evidence behind it
    doctype_misses: list[dict[str, Any]] = field(default_factory=list)


def _truth_doctype(label: dict[str, Any]) -> str | None:
    truth = label.get("truth") or {}
    if truth.get("document_type"):
        return str(truth["document_type"])
    code = (label.get("fields") or {}).get("document_type_code")
    return document_type_from_code(str(code)).value if code else None


def score_document(cascade: Cascade, label: dict[str, Any], text: str, tally: Tally) -> None:
    """Classify one labelled document, whose text is `text`, and add its outcome to the tally."""
    truth = label.get("truth") or {}
    invoice = invoice_from_label(label)
    ctx = ClassificationContext(
        cascade,
        vendor_id=truth.get("vendor_id"),
        vendor_name=(label.get("fields") or {}).get("vendor_name"),
        text=text,
    )
    started = time.perf_counter()
    result = cascade.classify(invoice, ctx)
    tally.seconds += time.perf_counter() - started
    tally.docs += 1
    tally.reasons.update(r.value for r in result.reasons)
    expected = _truth_doctype(label)
    if expected is not None:
        got = result.document_type.value.value
        tally.doctype_right += int(got == expected)
        tally.doctype_confusion[(expected, got)] += 1
        if got != expected:
            tally.doctype_misses.append(
                {
                    "doc_id": label.get("doc_id"),
                    "expected": expected,
                    "got": got,
                    "scanned": truth.get("scanned"),
                    "confidence": result.document_type.confidence,
                    "evidence": result.document_type.evidence,
                }
            )
    _score_lines(cascade, result, truth, tally)
    if truth.get("approval_route") is not None and result.approval_route is not None:
        tally.route[1] += 1
        tally.route[0] += int(result.approval_route.approver_group == truth["approval_route"])
    elif truth.get("approval_route") is not None:
        tally.route[1] += 1


def _score_lines(cascade: Cascade, result: Any, truth: dict[str, Any], tally: Tally) -> None:
    predicted = {ln.line_no: ln for ln in result.lines}
    has_history = cascade.history is not None and cascade.history.has_history(
        truth.get("vendor_id")
    )
    bucket = tally.lines["with" if has_history else "without"]
    for line in truth.get("lines") or []:
        if not line.get("gl_account"):
            continue
        got = predicted.get(int(line["line_no"]))
        codes = [c.code for c in got.gl_account.top] if got else []
        bucket[2] += 1
        bucket[0] += int(got is not None and got.gl_account.code == line["gl_account"])
        bucket[1] += int(line["gl_account"] in codes[:3])
        if line.get("cost_centre"):
            tally.cc[1] += 1
            tally.cc[0] += int(got is not None and got.cost_centre.code == line["cost_centre"])


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def summarise(tally: Tally, cascade: Cascade) -> dict[str, Any]:
    """The figures of an evaluation run."""
    metrics = cascade.run_metrics()
    usage = metrics["llm_usage"]
    per_k = 1000.0 / tally.docs if tally.docs else 0.0
    w, wo = tally.lines["with"], tally.lines["without"]
    return {
        "documents": tally.docs,
        "document_type_accuracy": _ratio(
            tally.doctype_right, sum(tally.doctype_confusion.values())
        ),
        "document_type_confusion": {
            f"{e}->{g}": n for (e, g), n in sorted(tally.doctype_confusion.items())
        },
        "gl_top1_with_history": _ratio(w[0], w[2]),
        "gl_top3_with_history": _ratio(w[1], w[2]),
        "lines_with_history": w[2],
        "gl_top1_without_history": _ratio(wo[0], wo[2]),
        "gl_top3_without_history": _ratio(wo[1], wo[2]),
        "lines_without_history": wo[2],
        "cost_centre_top1": _ratio(*tally.cc),
        "approval_route_accuracy": _ratio(*tally.route),
        "llm_share_of_lines": metrics["llm_share"],
        "llm_calls_per_1000_invoices": round(usage["calls"] * per_k, 1),
        "llm_tokens_per_1000_invoices": round(
            (usage["prompt_tokens"] + usage["completion_tokens"]) * per_k
        ),
        "llm_seconds_per_call": round(usage["seconds"] / usage["calls"], 3)
        if usage["calls"]
        else None,
        "llm_cache_hits": usage["cache_hits"],
        "seconds_per_document": round(tally.seconds / tally.docs, 4) if tally.docs else None,
        "reasons": dict(tally.reasons.most_common()),
        "model_versions": cascade._versions("doctype"),
    }


def evaluate_folder(
    cascade: Cascade,
    folder: Path,
    limit: int | None = None,
    texts: Mapping[str, str] | None = None,
    misses: int = 0,
) -> dict[str, Any]:
    """Score every labelled document of `folder` (the first `limit` ones, when set), listing
    the first `misses` documents typed wrong.

    `texts` holds each document's text by doc_id as the pipeline reads it (the text layer, OCR
    for scans and images); without it each PDF's text layer is used, which leaves scans and
    images without text (and so typed from their fields alone)."""
    tally = Tally()
    labels = sorted((folder / "labels").glob("*.json"))[:limit]
    for path in labels:
        label = json.loads(path.read_text(encoding="utf-8"))
        text = texts.get(path.stem, "") if texts is not None else document_text(folder, label)
        score_document(cascade, label, text, tally)
    summary = summarise(tally, cascade)
    summary["text"] = "as the pipeline reads it" if texts is not None else "PDF text layer only"
    if misses:
        summary["document_type_misses"] = tally.doctype_misses[:misses]
    return summary
