"""Document text -> Invoice: the embedded e-invoice XML when allowed, else the visual path.

The visual path reads the fields from the page layout (`fields`, `fields_money`,
`fields_parties`, `fields_address`) and the line items (`lines`); every value becomes a
`FieldValue` with its method, page, box, raw text and calibrated confidence. With XML present
and allowed, the XML values win and the visual path only fills fields the XML lacks.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from extractors.confidence import confidence, features
from extractors.fields.address import address_candidate
from extractors.fields.header import document_context, simple_fields
from extractors.fields.money import money_fields
from extractors.fields.parties import buyer_candidate, vendor_candidate
from extractors.fields.references import document_references
from extractors.fields.search import Candidate
from extractors.layout.lines import document_lines
from extractors.lines.items import credit_lines_positive, extract_line_items, with_sum_evidence
from extractors.page_evidence import add_page_evidence
from invoices.records import (
    HEADER_FIELDS,
    DocumentText,
    DocumentType,
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
)
from invoices.settings import Settings

log = logging.getLogger(__name__)

EXTRACTOR = "layout-labels"
VERSION = "1"


def field_value(cand: Candidate) -> FieldValue[Any]:
    """A candidate as a FieldValue with provenance and calibrated confidence."""
    method = Method.RULE if cand.extra.get("derived") else cand.line.method
    return FieldValue[Any](
        value=cand.value,
        confidence=round(confidence(cand.field, features(cand)), 4),
        provenance=Provenance(
            method=method,
            extractor=EXTRACTOR,
            version=VERSION,
            page=cand.line.page,
            bbox=cand.bbox,
            raw=cand.raw[:300] if cand.raw else None,
        ),
    )


def _credit_note(picked: dict[str, Candidate]) -> bool:
    kind = picked.get("document_type")
    return kind is not None and kind.value == DocumentType.CREDIT_NOTE


def _header_candidates(text: DocumentText, settings: Settings) -> tuple[dict[str, Candidate], Any]:
    lines = document_lines(text)
    ctx = document_context(text.full_text)
    picked = simple_fields(lines, ctx)
    money, breakdown = money_fields(
        lines, ctx, settings.amount_tolerance, credit_note=_credit_note(picked)
    )
    picked.update(money)
    vendor = vendor_candidate(lines)
    buyer = buyer_candidate(lines, vendor)
    for cand in (vendor, buyer, address_candidate(lines, vendor, buyer)):
        if cand is not None:
            picked[cand.field] = cand
    return picked, (lines, ctx, breakdown)


def extract_visual(text: DocumentText, settings: Settings) -> Invoice:
    """The invoice as read from the pages alone (text layer or OCR)."""
    return extract_visual_with_evidence(text, settings)[0]


def extract_visual_with_evidence(
    text: DocumentText, settings: Settings
) -> tuple[Invoice, dict[str, dict[str, float]]]:
    """The visual invoice and, per field, the evidence its confidence was computed from."""
    picked, (lines, ctx, breakdown) = _header_candidates(text, settings)
    items = extract_line_items(lines, ctx)
    if _credit_note(picked):
        items = credit_lines_positive(items)
    closes_around(picked, items, settings.amount_tolerance)
    add_page_evidence(picked, lines)
    sums = [picked[n].extra.get("line_sum") for n in ("subtotal", "total") if n in picked]
    items = with_sum_evidence(items, any(sums))
    values: dict[str, Any] = {
        name: field_value(cand) for name, cand in picked.items() if name in HEADER_FIELDS
    }
    evidence = {name: features(cand) for name, cand in picked.items() if name in HEADER_FIELDS}
    values = _fill_by_rule(values, evidence)
    references = document_references(lines)
    return Invoice(**values, tax_lines=breakdown, lines=items, references=references), evidence


def closes_around(picked: dict[str, Candidate], items: list[LineItem], tolerance: Decimal) -> None:
    """Record where the document's arithmetic closes around a money value, read independently
    of it: the item lines' amounts add up to the subtotal (or, with no tax read, to the total),
    and a total whose subtotal and tax add up then closes too (`line_sum`); an amount due read
    from its own label that equals a total whose arithmetic holds (`arithmetic`)."""
    amounts = [i.line_total.value for i in items if i.line_total is not None]
    subtotal, tax, total = (picked.get(n) for n in ("subtotal", "tax", "total"))
    if amounts:
        lines_sum = sum(amounts, Decimal(0))
        base = subtotal if subtotal is not None else total if tax is None else None
        if base is not None and abs(abs(lines_sum) - abs(Decimal(base.value))) <= tolerance:
            base.extra["line_sum"] = 1.0
            if base is subtotal and total is not None and total.extra.get("arithmetic"):
                total.extra["line_sum"] = 1.0
                if tax is not None:
                    tax.extra["line_sum"] = 1.0
    due = picked.get("amount_due")
    if due is not None and total is not None and total.extra.get("arithmetic"):
        if Decimal(due.value) == Decimal(total.value) and not due.extra.get("derived"):
            due.extra["arithmetic"] = 1.0


def _fill_by_rule(values: dict[str, Any], evidence: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Amount due equals the total when nothing was prepaid or credited on the page; the
    subtotal is the total less the tax when only those two were read. A value filled by rule
    has its source's evidence marked `derived` (added to `evidence`), and its confidence is the
    calibration's for that evidence, never above its sources' own."""
    total = values.get("total")
    if "amount_due" not in values and total is not None:
        prov = total.provenance.model_copy(
            update={"method": Method.RULE, "extractor": "rule:due=total"}
        )
        if "total" in evidence:
            evidence["amount_due"] = dict(evidence["total"], derived=1.0)
        confidence_due = min(_derived_confidence("amount_due", evidence), total.confidence)
        values["amount_due"] = total.model_copy(
            update={"provenance": prov, "confidence": confidence_due}
        )
    subtotal, tax = values.get("subtotal"), values.get("tax")
    if subtotal is None and tax is not None and total is not None:
        value = Decimal(total.value) - Decimal(tax.value)
        prov = total.provenance.model_copy(
            update={"method": Method.RULE, "extractor": "rule:total-tax"}
        )
        if "total" in evidence:
            evidence["subtotal"] = dict(evidence["total"], derived=1.0)
        sure = min(_derived_confidence("subtotal", evidence), total.confidence, tax.confidence)
        values["subtotal"] = FieldValue[Any](value=value, confidence=sure, provenance=prov)
    return values


# a value filled by rule (its provenance's extractor) and the fields it was computed from
DERIVED_FROM: dict[str, tuple[str, ...]] = {
    "rule:due=total": ("total",),
    "rule:total-tax": ("total", "tax"),
}


def cap_derived(invoice: Invoice) -> Invoice:
    """The invoice with every value filled by rule no surer than the values it came from: a
    step after extraction that lowers a source's confidence (a recalibration) lowers the
    values derived from it too, so an amount due never reads surer than its total."""
    update: dict[str, Any] = {}
    for name in HEADER_FIELDS:
        fv = getattr(invoice, name)
        sources = DERIVED_FROM.get(fv.provenance.extractor, ()) if fv and fv.provenance else ()
        known = [getattr(invoice, s) for s in sources if getattr(invoice, s) is not None]
        if known and fv.confidence > (cap := min(s.confidence for s in known)):
            update[name] = fv.with_confidence(cap)
    return invoice.model_copy(update=update) if update else invoice


def _derived_confidence(name: str, evidence: dict[str, dict[str, float]]) -> float:
    """The calibrated confidence of a value filled by rule (0 without evidence to go by)."""
    return round(confidence(name, evidence[name]), 4) if name in evidence else 0.0


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    return bool(a == b)


def _merge(xml: Invoice, visual: Invoice, settings: Settings) -> Invoice:
    """XML values win; the visual path fills what the XML lacks, where it is sure enough.

    The XML is the invoice's own data, so a field it leaves out is usually not on the
    invoice: only visual values at or above their auto-accept threshold are added.
    """
    update: dict[str, Any] = {}
    sure = {**settings.auto_accept_thresholds, **settings.confidence_thresholds}
    for name in HEADER_FIELDS:
        seen, own = visual.field(name), xml.field(name)
        if own is None and seen is not None and seen.confidence >= sure.get(name, 1.0):
            update[name] = seen
        elif own is not None and seen is not None and _same(own.value, seen.value):
            # two independent readings agree: either being wrong alone no longer explains it
            update[name] = own.with_confidence(1 - (1 - own.confidence) * (1 - seen.confidence))
    if not xml.lines and visual.lines:
        update["lines"] = visual.lines
    if not xml.tax_lines and visual.tax_lines:
        update["tax_lines"] = visual.tax_lines
    if not xml.references and visual.references:
        update["references"] = visual.references
    return xml.model_copy(update=update)


def extract_invoice(
    text: DocumentText, settings: Settings, *, use_einvoice: bool = True
) -> Invoice:
    """The invoice of a document: from its e-invoice XML when present and allowed, else visual."""
    visual = extract_visual(text, settings) if text.pages else Invoice()
    if not (use_einvoice and settings.read_einvoice_xml and text.einvoice_xml):
        return visual
    try:
        from extractors.text.einvoice import parse_einvoice

        xml = parse_einvoice(text.einvoice_xml)
    except Exception as exc:  # a broken attachment must not lose the visual reading
        log.warning("e-invoice XML unreadable, using the visual path: %s", exc)
        return visual
    return _merge(xml, visual, settings)
