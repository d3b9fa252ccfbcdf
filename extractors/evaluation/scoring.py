"""Scoring extractions against a labelled folder (`eval-label/v1`, see shared/eval/README.md).

Pure logic: labels and predictions in, figures out. Per field: recall (correct / labelled) and
precision (correct / extracted), the same over documents whose label is visible in the text,
line-item F1, per-group figures, and for the calibration the share of values at or above their
auto-accept threshold and how often those are right. Predictions and labels are normalised
the same way: dates ISO, money to cents, strings case-folded with whitespace collapsed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from invoices.records import DATE_FIELDS, HEADER_FIELDS, MONEY_FIELDS, DocumentType

COMPACT_FIELDS = frozenset({"vendor_vat_id", "iban", "bic"})
# Fields scored apart, never in the overall figure (a template's short name, not the document's).
APART_SUFFIX = "[issuer]"
_LEGAL = re.compile(
    r"\b(gmbh|ag|kg|ltd|limited|llc|inc|corp|co|plc|sa|sas|sarl|bv|nv|spa|srl|sdn|bhd|"
    r"s\.a|b\.v|n\.v|& co)\b\.?",
    re.I,
)
_TYPE_CODES = {
    "380": "invoice",
    "381": "credit_note",
    "384": "correction",
    "389": "invoice",
    "326": "invoice",
    "386": "invoice",
    "875": "invoice",
    "876": "invoice",
    "877": "invoice",
}


def normalise(name: str, value: Any) -> str | None:
    """A value in the comparable form of its field (None stays None)."""
    if value is None or value == "":
        return None
    if name in MONEY_FIELDS or name in {"quantity", "unit_price", "line_total"}:
        try:
            return str(Decimal(str(value)).quantize(Decimal("0.01")))
        except InvalidOperation:
            return None
    if name in DATE_FIELDS:
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    text = " ".join(str(getattr(value, "value", value)).split()).casefold()
    if name in COMPACT_FIELDS:
        text = text.replace(" ", "").replace(".", "")
    return text


def strip_legal(text: str | None) -> str | None:
    """A normalised company name without legal-form suffixes and punctuation."""
    if text is None:
        return None
    return " ".join(re.sub(r"[^\w\s&]", " ", _LEGAL.sub(" ", text)).split()) or None


def labelled_fields(label: dict[str, Any]) -> dict[str, Any]:
    """The header fields a label file scores, with their expected values (None = absent)."""
    fields = dict(label.get("fields") or {})
    out = {k: v for k, v in fields.items() if k in HEADER_FIELDS}
    code = fields.get("document_type_code")
    if code is not None and str(code) in _TYPE_CODES:
        out["document_type"] = DocumentType(_TYPE_CODES[str(code)])
    issuer = (label.get("original_labels") or {}).get("issuer")
    if issuer is not None and "vendor_name" in out:
        out["vendor_name" + APART_SUFFIX] = out.pop("vendor_name")
        if fields.get("vendor_legal_name"):
            out["vendor_name"] = fields["vendor_legal_name"]
    return out


@dataclass
class Tally:
    """Counts for one field (or group): labelled, extracted and correct."""

    labelled: int = 0
    extracted: int = 0
    correct: int = 0

    def add(self, expected: str | None, predicted: str | None, complete: bool) -> bool:
        """Count one comparison; return whether it was right."""
        ok = expected is not None and predicted is not None and expected == predicted
        self.labelled += expected is not None
        self.extracted += predicted is not None and (expected is not None or complete)
        self.correct += ok
        return ok

    @property
    def recall(self) -> float:
        return self.correct / self.labelled if self.labelled else 0.0

    @property
    def precision(self) -> float:
        return self.correct / self.extracted if self.extracted else 0.0


@dataclass
class Scores:
    """Every figure of one evaluation run."""

    fields: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    visible: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    groups: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    # per distinct invoice: the same scenario rendered by several tools counts once
    distinct: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    vendor_clean: Tally = field(default_factory=Tally)
    lines_tp: int = 0
    lines_pred: int = 0
    lines_gold: int = 0
    accepted: int = 0
    accepted_correct: int = 0
    scored_values: int = 0
    documents: int = 0
    samples: list[tuple[str, dict[str, float], bool]] = field(default_factory=list)
    sample_groups: list[str] = field(default_factory=list)  # the vendor of each sample

    @property
    def overall(self) -> Tally:
        total = Tally()
        for name, tally in self.fields.items():
            if not name.endswith(APART_SUFFIX):
                total.labelled += tally.labelled
                total.extracted += tally.extracted
                total.correct += tally.correct
        return total

    @property
    def line_f1(self) -> float:
        p = self.lines_tp / self.lines_pred if self.lines_pred else 0.0
        r = self.lines_tp / self.lines_gold if self.lines_gold else 0.0
        return 2 * p * r / (p + r) if p + r else 0.0


def _line_matches(pred: dict[str, Any], gold: dict[str, Any]) -> bool:
    for key in ("line_total", "unit_price"):
        if gold.get(key) is not None:
            if normalise(key, gold[key]) != normalise(key, pred.get(key)):
                return False
            break
    else:
        return False
    desc_gold, desc_pred = gold.get("description") or "", pred.get("description") or ""
    return not desc_gold or fuzz.token_set_ratio(desc_gold.casefold(), desc_pred.casefold()) >= 60


def score_lines(predicted: list[dict[str, Any]], gold: list[dict[str, Any]]) -> int:
    """How many predicted lines match a labelled line one-to-one."""
    free = list(gold)
    hits = 0
    for pred in predicted:
        for i, candidate in enumerate(free):
            if _line_matches(pred, candidate):
                hits += 1
                free.pop(i)
                break
    return hits


def score_document(
    scores: Scores, label: dict[str, Any], prediction: dict[str, Any], thresholds: dict[str, float]
) -> None:
    """Add one document's comparison to the running scores.

    `prediction` maps a header field to {"value", "confidence", "evidence"} and has "lines".
    """
    scores.documents += 1
    complete = str(label.get("label_coverage", "")).startswith("complete")
    visible = label.get("checks_label_visible_in_text") or {}
    group = str(label.get("group") or label.get("doc_id"))
    distinct = str(label.get("scenario") or label.get("doc_id"))
    for name, expected in labelled_fields(label).items():
        base = name.removesuffix(APART_SUFFIX)
        pred = prediction.get(base) or {}
        want = normalise(base, expected)
        got = normalise(base, pred.get("value"))
        ok = scores.fields[name].add(want, got, complete)
        if visible.get(base) is not False and want is not None:
            scores.visible[name].add(want, got, complete)
        if not name.endswith(APART_SUFFIX):
            scores.groups[group].add(want, got, complete)
            scores.distinct[distinct].add(want, got, complete)
        if base == "vendor_name" and not name.endswith(APART_SUFFIX):
            scores.vendor_clean.add(strip_legal(want), strip_legal(got), complete)
        if got is not None and (want is not None or complete) and not name.endswith(APART_SUFFIX):
            scores.scored_values += 1
            if pred.get("confidence", 0.0) >= thresholds.get(base, 1.01):
                scores.accepted += 1
                scores.accepted_correct += ok
            if pred.get("evidence"):
                scores.samples.append((base, pred["evidence"], ok))
                scores.sample_groups.append(group)
    gold_lines = label.get("line_items")
    if gold_lines:
        scores.lines_gold += len(gold_lines)
        scores.lines_pred += len(prediction.get("lines") or [])
        scores.lines_tp += score_lines(prediction.get("lines") or [], gold_lines)


def load_manifest(folder: Path, split: str | None = None) -> list[dict[str, Any]]:
    """The manifest rows of a labelled folder, optionally one split, each with its label."""
    rows = []
    for raw in (folder / "manifest.jsonl").read_text().splitlines():
        if not raw.strip():
            continue
        row = json.loads(raw)
        if split and row.get("split") != split:
            continue
        row["label_data"] = json.loads((folder / row["label"]).read_text())
        rows.append(row)
    return rows
