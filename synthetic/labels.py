"""Labels in the eval-label/v1 format, extended with the truth the pipeline must find.

`fields` and `line_items` hold what is printed, so `invoices eval` scores a generated folder
like a real one. `truth` adds what only the generator knows: vendor id, PO and matched lines,
GL coding, document type and every planted anomaly.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from synthetic.einvoice import attachment_name
from synthetic.identity import language
from synthetic.model import DocSpec

SCHEMA = "eval-label/v1"
DATASET = "synthetic"
GENERATOR_VERSION = "1"
COVERAGE = (
    "complete: generated ground truth; header values are what the document prints "
    "(IBAN and VAT id compact, dates ISO, amounts as numbers); null = not printed"
)
NON_INVOICE_COVERAGE = (
    "identity fields only: the document is a {kind}, not an invoice; "
    "its amounts are open items, not invoice totals"
)


def _num(value: Decimal | None) -> float | int | None:
    if value is None:
        return None
    whole = value == value.to_integral_value() and int(value.as_tuple().exponent) >= 0
    return int(value) if whole else float(value)


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def label_fields(spec: DocSpec) -> dict[str, Any]:
    """The header fields as printed on the document."""
    lang = language(spec.locale)
    fields: dict[str, Any] = {
        "vendor_name": spec.vendor.name,
        "vendor_address": spec.vendor.address.one_line(lang),
        "vendor_vat_id": spec.vendor_vat_id,
        "iban": spec.iban,
        "buyer_name": spec.buyer.name,
        "currency": spec.currency,
    }
    if spec.document_type not in ("invoice", "credit_note"):
        fields["document_date"] = spec.issue_date.isoformat()
        return fields
    t = spec.totals
    assert t is not None
    fields.update(
        {
            "invoice_number": spec.number,
            "invoice_date": spec.issue_date.isoformat(),
            "due_date": spec.due_date.isoformat()
            if spec.due_date and spec.document_type == "invoice"
            else None,
            "subtotal": _money(t.subtotal),
            "tax": _money(t.tax),
            "total": _money(t.total),
            "amount_due": _money(t.amount_due),
            "po_number": spec.po_number,
        }
    )
    return fields


def line_items(spec: DocSpec) -> list[dict[str, Any]] | None:
    """The printed line items (None for documents that are not invoices)."""
    if spec.document_type not in ("invoice", "credit_note"):
        return None
    return [
        {
            "line_id": str(ln.line_no),
            "description": ln.description,
            "sku": ln.sku,
            "quantity": _num(ln.quantity),
            "unit": ln.unit,
            "unit_price": _money(ln.unit_price),
            "tax_rate": _num(ln.tax_rate),
            "line_total": _money(ln.total),
        }
        for ln in spec.lines
    ]


def truth(spec: DocSpec, doc_ids: dict[int, str]) -> dict[str, Any]:
    """What the pipeline must find beyond the printed fields."""
    return {
        "vendor_id": spec.vendor_id,
        "po_number": spec.truth_po,
        "document_type": spec.document_type,
        "scanned": spec.scanned,
        "media": spec.media,
        "stamp": spec.stamp,
        "einvoice": attachment_name(spec) if spec.einvoice and not spec.scanned else None,
        "layout": spec.layout,
        "locale": spec.locale,
        "families": list(spec.families),
        "lines": [
            {
                "line_no": ln.line_no,
                "po_line_no": ln.po_line_no,
                "sku": ln.sku,
                "gl_account": ln.gl_account,
                "cost_centre": ln.cost_centre,
            }
            for ln in spec.lines
        ],
        "approval_route": spec.approval_route,
        "anomalies": [
            {
                "kind": a.kind,
                "of_doc_id": doc_ids.get(a.of_key) if a.of_key is not None else None,
                "detail": a.detail,
            }
            for a in spec.anomalies
        ],
    }


def build_label(
    spec: DocSpec, doc_id: str, path: str, pages: int, doc_ids: dict[int, str], seed: int
) -> dict[str, Any]:
    """The whole label of one generated document."""
    fields = label_fields(spec)
    invoice_like = spec.document_type in ("invoice", "credit_note")
    coverage = COVERAGE if invoice_like else NON_INVOICE_COVERAGE.format(kind=spec.document_type)
    return {
        "schema": SCHEMA,
        "dataset": DATASET,
        "doc_id": doc_id,
        "documents": [
            {"path": path, "kind": "pdf" if path.endswith(".pdf") else "image", "pages": pages}
        ],
        "label_coverage": coverage,
        "fields": fields,
        "line_items": line_items(spec),
        "split": "dev",
        "group": spec.vendor_id or "unknown",
        "checks_label_visible_in_text": {k: True for k, v in fields.items() if v is not None},
        "notes": [],
        # the generator's recorded name, kept from before it moved out of invoices/ so that a
        # seed gives byte-identical labels
        "source": {"generator": "invoices.synthetic", "version": GENERATOR_VERSION, "seed": seed},
        "truth": truth(spec, doc_ids),
    }


def dumps(label: dict[str, Any]) -> str:
    """Stable JSON text of a label (sorted nowhere: the order above is the format's order)."""
    return json.dumps(label, ensure_ascii=False, indent=2) + "\n"
