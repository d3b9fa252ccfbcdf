"""Generated invoices as the batch would have staged them, for the ERP tests and bench.

Running the whole batch on hundreds of PDFs spends minutes in extraction that the ERP sync
neither tests nor measures; instead each billable generated invoice becomes the result the batch
would have produced from its label: the values it prints, read with full confidence, its vendor
matched, and the GL coding of its truth. `staging.store.stage_result` stages it as any other.
The Tryton test database (`tests/tryton_setup.py`) has one expense account per GL code
(`gl_mapping`: "E" + code) and one supplier tax per rate the generator prints (`tax_mapping`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoices.records import (
    Document,
    DocumentResult,
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
    VendorMatch,
)

PROVENANCE = Provenance(method=Method.TEXT_LAYER, extractor="truth")
DATE_FIELDS = {"invoice_date", "due_date"}
MONEY_FIELDS = {"subtotal", "tax", "total", "amount_due"}
NOT_BILLABLE = {
    "arithmetic_error",
    "exact_duplicate",
    "rescanned_duplicate",
    "number_variant_duplicate",
    "vendor_unknown",
}
TAX_RATES = ("0", "2.6", "5", "5.5", "6", "7", "7.25", "8.1", "10", "19", "20", "21")


def fv(value: Any) -> FieldValue[Any]:
    """A sure value read from the text layer."""
    return FieldValue(value=value, confidence=1.0, provenance=PROVENANCE)


def invoice_from_label(label: dict[str, Any], number_prefix: str = "") -> Invoice:
    """The Invoice the label says the document prints (its number after `number_prefix`, so
    a bench can post the same corpus to one ERP again as new bills)."""
    values: dict[str, Any] = {"document_type": fv(label["truth"]["document_type"])}
    for name, raw in label["fields"].items():
        if raw is None or name not in Invoice.model_fields:
            continue
        if name in DATE_FIELDS:
            raw = date.fromisoformat(raw)
        elif name in MONEY_FIELDS:
            raw = Decimal(str(raw))
        elif name == "invoice_number":
            raw = number_prefix + raw
        values[name] = fv(raw)
    lines = [
        LineItem(
            description=fv(item["description"]),
            sku=fv(item["sku"]) if item.get("sku") else None,
            quantity=fv(Decimal(str(item["quantity"]))),
            unit=fv(item["unit"]) if item.get("unit") else None,
            unit_price=fv(Decimal(str(item["unit_price"]))),
            tax_rate=fv(Decimal(str(item["tax_rate"]))),
            line_total=fv(Decimal(str(item["line_total"]))),
        )
        for item in label["line_items"]
    ]
    return Invoice(**values, lines=lines)


def classification_from_truth(truth: dict[str, Any]) -> dict[str, Any]:
    """The classification JSON with the truth's GL account and cost centre of every line."""
    lines = [
        {
            "line_no": line["line_no"],
            "gl_account": {"code": line["gl_account"], "confidence": 1.0},
            "cost_centre": {"code": line["cost_centre"], "confidence": 1.0},
        }
        for line in truth["lines"]
    ]
    return {"lines": lines, "gl_account": lines[0]["gl_account"] if lines else {}}


def billable_labels(corpus: Path) -> list[dict[str, Any]]:
    """The labels of the invoices and credit notes of a corpus, with known vendors, that add up
    (planted arithmetic errors, duplicates and unknown vendors would not be approved as they
    are)."""
    found = []
    for path in sorted((corpus / "labels").glob("*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        truth = label["truth"]
        if truth["document_type"] not in ("invoice", "credit_note") or not truth["vendor_id"]:
            continue
        if {a["kind"] for a in truth["anomalies"]} & NOT_BILLABLE or not label["line_items"]:
            continue
        found.append(label)
    return found


def result_from_label(
    corpus: Path, label: dict[str, Any], number_prefix: str = ""
) -> DocumentResult:
    """The result the batch would have staged for one labelled document."""
    path = corpus / label["documents"][0]["path"]
    data = path.read_bytes()
    document = Document(
        path=path,
        sha256=hashlib.sha256(number_prefix.encode() + data).hexdigest(),
        media_type="application/pdf",
        size_bytes=len(data),
        pages=label["documents"][0]["pages"],
    )
    return DocumentResult(
        document=document,
        invoice=invoice_from_label(label, number_prefix),
        vendor_match=VendorMatch(vendor_id=label["truth"]["vendor_id"], method="vat_id"),
        classification=classification_from_truth(label["truth"]),
    )


def gl_mapping(corpus: Path) -> dict[str, str]:
    """GL code -> ERP account code for every GL account of a corpus's master ("E" + code)."""
    lines = (corpus / "master" / "gl_accounts.csv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split(",")[0]: "E" + line.split(",")[0] for line in lines if line}


def tax_mapping() -> dict[str, str]:
    """Tax rate -> ERP tax name, for every rate the generator prints."""
    return {rate: f"Input VAT {rate}%" for rate in TAX_RATES}
