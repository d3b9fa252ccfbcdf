"""Staged invoices for the ERP tests: a generated corpus staged from its ground truth.

Running the whole batch on hundreds of PDFs would spend minutes in extraction that these tests do
not test; instead each generated invoice is staged with the values its label says it prints and
the GL coding of its truth, through the same `stage_result` the batch uses.
"""

from __future__ import annotations

import hashlib
import json
import uuid
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
from invoices.settings import Settings, load_settings
from staging import master, runs, store
from staging.db import Conn

PROVENANCE = Provenance(method=Method.TEXT_LAYER, extractor="truth")
DATE_FIELDS = {"invoice_date", "due_date"}
MONEY_FIELDS = {"subtotal", "tax", "total", "amount_due"}


def fv(value: Any) -> FieldValue[Any]:
    """A sure value read from the text layer."""
    return FieldValue(value=value, confidence=1.0, provenance=PROVENANCE)


def invoice_from_label(label: dict[str, Any]) -> Invoice:
    """The Invoice the label says the document prints."""
    values: dict[str, Any] = {"document_type": fv(label["truth"]["document_type"])}
    for name, raw in label["fields"].items():
        if raw is None or name not in Invoice.model_fields:
            continue
        if name in DATE_FIELDS:
            raw = date.fromisoformat(raw)
        elif name in MONEY_FIELDS:
            raw = Decimal(str(raw))
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
    (planted arithmetic errors and unknown vendors would not be approved as they are)."""
    found = []
    for path in sorted((corpus / "labels").glob("*.json")):
        label = json.loads(path.read_text(encoding="utf-8"))
        truth = label["truth"]
        kinds = {a["kind"] for a in truth["anomalies"]}
        if truth["document_type"] not in ("invoice", "credit_note") or not truth["vendor_id"]:
            continue
        if kinds & {
            "arithmetic_error",
            "exact_duplicate",
            "rescanned_duplicate",
            "number_variant_duplicate",
            "vendor_unknown",
        }:
            continue
        if not label["line_items"]:
            continue
        found.append(label)
    return found


def stage_corpus(conn: Conn, corpus: Path, limit: int | None = None) -> list[int]:
    """Load the corpus's master data and stage its billable invoices; their document ids."""
    master.load_master_dir(conn, corpus / "master")
    conn.commit()
    run_id = runs.start_run(conn, str(corpus))
    ids = []
    for label in billable_labels(corpus)[:limit]:
        ids.append(stage_label(conn, corpus, label, run_id))
    return ids


def stage_label(conn: Conn, corpus: Path, label: dict[str, Any], run_id: uuid.UUID) -> int:
    """Stage one labelled document as the batch would have; its document id."""
    path = corpus / label["documents"][0]["path"]
    data = path.read_bytes()
    document = Document(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type="application/pdf",
        size_bytes=len(data),
        pages=label["documents"][0]["pages"],
    )
    result = DocumentResult(
        document=document,
        invoice=invoice_from_label(label),
        vendor_match=VendorMatch(vendor_id=label["truth"]["vendor_id"], method="vat_id"),
        classification=classification_from_truth(label["truth"]),
    )
    document_id = store.stage_result(conn, result, run_id)
    assert document_id is not None
    return document_id


def gl_mapping(corpus: Path) -> dict[str, str]:
    """GL code -> ERP account code for every GL account of a corpus's master ("E" + code)."""
    lines = (corpus / "master" / "gl_accounts.csv").read_text(encoding="utf-8").splitlines()[1:]
    return {line.split(",")[0]: "E" + line.split(",")[0] for line in lines if line}


TAX_RATES = ("0", "2.6", "5", "5.5", "6", "7", "7.25", "8.1", "10", "19", "20", "21")


def tax_mapping() -> dict[str, str]:
    """Tax rate -> ERP tax name, for every rate the generator prints."""
    return {rate: f"Input VAT {rate}%" for rate in TAX_RATES}


def staged_from_invoice(invoice: Any, document_id: int, gl_account: str) -> Any:
    """A StagedInvoice from an extracted Invoice, every line coded to one GL account."""
    from invoices.erp_payload import StagedInvoice, StagedLine, StagedVendor

    def v(field: Any) -> Any:
        return None if field is None else field.value

    return StagedInvoice(
        document_id=document_id,
        document_type=v(invoice.document_type),
        invoice_number=v(invoice.invoice_number),
        invoice_date=v(invoice.invoice_date),
        due_date=v(invoice.due_date),
        currency=v(invoice.currency),
        po_number=v(invoice.po_number),
        buyer_name=v(invoice.buyer_name),
        subtotal=v(invoice.subtotal),
        tax=v(invoice.tax),
        total=v(invoice.total),
        vendor=StagedVendor(
            name=v(invoice.vendor_name),
            vat_id=v(invoice.vendor_vat_id),
            address=v(invoice.vendor_address),
            iban=v(invoice.iban),
        ),
        lines=[
            StagedLine(
                line_no=no,
                description=v(line.description),
                quantity=v(line.quantity),
                unit_price=v(line.unit_price),
                tax_rate=v(line.tax_rate),
                line_total=v(line.line_total),
                gl_account=gl_account,
            )
            for no, line in enumerate(invoice.lines, start=1)
        ],
        gl_account=gl_account,
    )


def file_erp_settings(
    database_url: str, schema: str, corpus: Path, outbound: Path, **overrides: Any
) -> Settings:
    """Settings for the en16931 file adapter writing to `outbound`, with the corpus's GL and
    tax mapping and a quick relay poll."""
    return load_settings(
        database_url=database_url,
        db_schema=schema,
        erp_adapter="en16931",
        erp_outbound_dir=outbound,
        erp_gl_accounts=gl_mapping(corpus),
        erp_tax_codes=tax_mapping(),
        erp_poll_seconds=0.2,
        **overrides,
    )
