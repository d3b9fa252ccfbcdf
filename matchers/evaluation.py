"""Scoring matching against a generated corpus's truth: vendor top-1 (born-digital and scanned),
false links on unknown vendors, PO found, line alignment, and recall and false-positive rate
per planted anomaly kind. Pure: labels and outcomes in, figures and a table out.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from invoices.records import (
    DocumentType,
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
    ReasonCode,
)
from matchers.pipeline import MatchOutcome

# Each planted anomaly kind and the reason code that must catch it.
SIGNALS: dict[str, ReasonCode] = {
    "vendor_unknown": ReasonCode.VENDOR_UNKNOWN,
    "bank_details_changed": ReasonCode.BANK_DETAILS_CHANGED,
    "po_missing": ReasonCode.PO_MISSING,
    "price_variance": ReasonCode.PRICE_VARIANCE,
    "qty_exceeds_received": ReasonCode.QTY_EXCEEDS_RECEIVED,
    "exact_duplicate": ReasonCode.DUPLICATE_SUSPECTED,
    "rescanned_duplicate": ReasonCode.DUPLICATE_SUSPECTED,
    "number_variant_duplicate": ReasonCode.DUPLICATE_SUSPECTED,
}
DUPLICATE_KINDS = ("exact_duplicate", "rescanned_duplicate", "number_variant_duplicate")


@dataclass(frozen=True)
class Truth:
    """What the generator planted in one document."""

    doc_id: str
    vendor_id: str | None
    po_number: str | None
    scanned: bool
    document_type: str
    anomalies: dict[str, str | None]  # kind -> of_doc_id
    po_lines: tuple[int | None, ...]

    @classmethod
    def from_label(cls, label: dict[str, Any]) -> Truth:
        """The truth block of an eval-label/v1 label written by the generator."""
        t = label["truth"]
        return cls(
            doc_id=label["doc_id"],
            vendor_id=t.get("vendor_id"),
            po_number=t.get("po_number"),
            scanned=bool(t.get("scanned")),
            document_type=t.get("document_type") or "invoice",
            anomalies={a["kind"]: a.get("of_doc_id") for a in t.get("anomalies") or []},
            po_lines=tuple(ln.get("po_line_no") for ln in t.get("lines") or []),
        )


def invoice_from_label(label: dict[str, Any]) -> Invoice:
    """The invoice as printed (perfect extraction): isolates matching from extraction."""
    prov = Provenance(method=Method.MANUAL, extractor="label")
    f = label.get("fields") or {}

    def fv(value: Any) -> FieldValue[Any] | None:
        return None if value is None else FieldValue(value=value, confidence=1.0, provenance=prov)

    def money(value: Any) -> FieldValue[Any] | None:
        return None if value is None else fv(Decimal(str(value)))

    doc_type = (label.get("truth") or {}).get("document_type") or "invoice"
    lines = [
        LineItem(
            description=fv(ln.get("description")),
            sku=fv(ln.get("sku")),
            quantity=money(ln.get("quantity")),
            unit_price=money(ln.get("unit_price")),
            line_total=money(ln.get("line_total")),
        )
        for ln in label.get("line_items") or []
    ]
    return Invoice(
        document_type=fv(
            DocumentType(doc_type)
            if doc_type in DocumentType._value2member_map_
            else DocumentType.OTHER
        ),
        vendor_name=fv(f.get("vendor_name")),
        vendor_address=fv(f.get("vendor_address")),
        vendor_vat_id=fv(f.get("vendor_vat_id")),
        vendor_email=fv(f.get("vendor_email")),
        iban=fv(f.get("iban")),
        invoice_number=fv(f.get("invoice_number")),
        invoice_date=fv(date.fromisoformat(f["invoice_date"])) if f.get("invoice_date") else None,
        po_number=fv(f.get("po_number")),
        currency=fv(f.get("currency")),
        subtotal=money(f.get("subtotal")),
        total=money(f.get("total")),
        lines=lines,
    )


@dataclass
class Rate:
    """A count of hits over a count of cases."""

    hits: int = 0
    cases: int = 0

    def add(self, hit: bool) -> None:
        """Count one case."""
        self.cases += 1
        self.hits += int(hit)

    @property
    def value(self) -> float | None:
        return self.hits / self.cases if self.cases else None

    def __str__(self) -> str:
        return "n/a" if self.value is None else f"{self.value:7.2%} ({self.hits}/{self.cases})"


@dataclass
class MatchingScores:
    """The figures of `invoices eval-matching`, accumulated document by document."""

    vendor_top1: dict[str, Rate] = field(
        default_factory=lambda: {"born-digital": Rate(), "scanned": Rate()}
    )
    false_link: Rate = field(default_factory=Rate)
    wrong_link: Rate = field(default_factory=Rate)
    po_found: Rate = field(default_factory=Rate)
    line_alignment: Rate = field(default_factory=Rate)
    recall: dict[str, Rate] = field(default_factory=dict)
    false_positive: dict[str, Rate] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)

    def add(self, truth: Truth, outcome: MatchOutcome, doc_ids: dict[Any, str]) -> None:
        """Score one document's outcome against its truth (`doc_ids`: outcome ids -> doc ids)."""
        linked = outcome.vendor.vendor_id
        if truth.vendor_id is not None:
            self.vendor_top1["scanned" if truth.scanned else "born-digital"].add(
                linked == truth.vendor_id
            )
            if linked != truth.vendor_id:
                self.errors[f"vendor: {truth.doc_id} {truth.vendor_id} -> {linked}"] += 1
        elif "vendor_unknown" in truth.anomalies:
            self.false_link.add(linked is not None)
        self.wrong_link.add(linked is not None and linked != truth.vendor_id)
        if truth.po_number is not None and truth.document_type == "invoice":
            self.po_found.add(outcome.po.po_number == truth.po_number)
            if outcome.po.po_number != truth.po_number:
                self.errors[
                    f"po: {truth.doc_id} {truth.po_number} -> {outcome.po.po_number} "
                    f"({outcome.po.method}: {outcome.po.detail})"
                ] += 1
            if outcome.po.po_number == truth.po_number:
                self._lines(truth, outcome)
        self._anomalies(truth, outcome, doc_ids)

    def _lines(self, truth: Truth, outcome: MatchOutcome) -> None:
        found = {ln.invoice_line: ln.po_line_no for ln in outcome.po.lines}
        for i, expected in enumerate(truth.po_lines):
            if expected is not None:
                self.line_alignment.add(found.get(i) == expected)

    def _anomalies(self, truth: Truth, outcome: MatchOutcome, doc_ids: dict[Any, str]) -> None:
        reasons = set(outcome.reasons)
        earlier = {doc_ids.get(h.document_id) for h in outcome.duplicates}
        for kind, signal in SIGNALS.items():
            if kind in truth.anomalies:
                hit = signal in reasons
                if kind in DUPLICATE_KINDS:  # the hit must name the right earlier document
                    hit = hit and truth.anomalies[kind] in earlier
                self.recall.setdefault(kind, Rate()).add(hit)
                if not hit:
                    self.errors[f"missed {kind}: {truth.doc_id}"] += 1
            elif kind in DUPLICATE_KINDS and any(k in truth.anomalies for k in DUPLICATE_KINDS):
                continue  # another duplicate kind: the same signal is right there
            else:
                flagged = signal in reasons
                self.false_positive.setdefault(kind, Rate()).add(flagged)
                if flagged and kind not in ("rescanned_duplicate", "number_variant_duplicate"):
                    self.errors[f"false {signal.value}: {truth.doc_id}"] += 1
        is_dup = any(k in truth.anomalies for k in DUPLICATE_KINDS)
        if is_dup:
            self.recall.setdefault("duplicate (any kind)", Rate()).add(
                ReasonCode.DUPLICATE_SUSPECTED in reasons
            )
        else:
            self.false_positive.setdefault("duplicate (any kind)", Rate()).add(
                ReasonCode.DUPLICATE_SUSPECTED in reasons
            )

    def table(self) -> list[str]:
        """The figures as printable lines."""
        out = [f"{'measure':<40}{'value':>24}"]
        for name, rate in self.vendor_top1.items():
            out.append(f"{'vendor top-1, ' + name:<40}{rate!s:>24}")
        out.append(f"{'false links (unknown vendors)':<40}{self.false_link!s:>24}")
        out.append(f"{'wrong links (all documents)':<40}{self.wrong_link!s:>24}")
        out.append(f"{'PO found (where a PO exists)':<40}{self.po_found!s:>24}")
        out.append(f"{'line alignment (PO found)':<40}{self.line_alignment!s:>24}")
        out.append("")
        out.append(f"{'anomaly kind':<28}{'recall':>24}{'false-positive rate':>26}")
        for kind in [*SIGNALS, "duplicate (any kind)"]:
            out.append(
                f"{kind:<28}{self.recall.get(kind, Rate())!s:>24}"
                f"{self.false_positive.get(kind, Rate())!s:>26}"
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        """The figures as plain numbers (for JSON and the README)."""
        return {
            "vendor_top1": {k: r.value for k, r in self.vendor_top1.items()},
            "false_link_rate": self.false_link.value,
            "wrong_link_rate": self.wrong_link.value,
            "po_found": self.po_found.value,
            "line_alignment": self.line_alignment.value,
            "recall": {k: r.value for k, r in self.recall.items()},
            "false_positive_rate": {k: r.value for k, r in self.false_positive.items()},
        }
