"""A small generated batch staged for the review page tests, and a live server on a free port.

The documents are generated born-digital invoices read by the real text and extraction stages
(so every box is where the PDF prints its word); results are staged with staging functions
and given the reason codes each test needs. Each is coded from its generator truth (GL account
per line, and the tax rate of a line the layout does not print) and the returned settings map
those accounts and rates to the ERP, so an approval on the page can queue a real ERP bill.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn

from extractors.extract import extract_invoice
from extractors.text.intake import describe
from extractors.text.read import read_document
from extractors.validation import validate
from invoices.records import DocumentResult, FieldValue, Invoice, ReasonCode, VendorMatch
from invoices.settings import Settings
from matchers.po import match_purchase_order
from review.app import create_app
from review.auth import hash_password
from staging import db, master, matching, runs, store, users
from synthetic import generate_corpus
from tests.erp_support import PROVENANCE, classification_from_truth, gl_mapping, tax_mapping

PASSWORD = "correct horse battery"
ROLES = ("clerk", "approver", "vendor_admin", "auditor", "admin")


def stage_batch(settings: Settings, out: Path, invoices: int = 4) -> dict[str, Any]:
    """Generate, read and stage `invoices` documents; the first gets LOW_CONFIDENCE_TOTAL (its
    total misread by 10.00), the second BANK_DETAILS_CHANGED, the third DUPLICATE_SUSPECTED of
    the first; the fifth, which cites a purchase order, is matched to it by the real matcher
    after its PO price was lowered and its goods receipt cut (PRICE_VARIANCE,
    QTY_EXCEEDS_RECEIVED). Returns the ids and `settings` with the ERP mapping of the batch's
    accounts and tax rates."""
    generate_corpus(out, invoices=invoices, seed=21, workers=1, scanned_share=0.0,
                    image_share=0.0, multipage_share=0.0, anomaly_rates={})
    docs = sorted((out / "docs").glob("*.pdf"))
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        master.load_master_dir(conn, out / "master")
        vendor = conn.execute("SELECT vendor_id, name FROM vendors ORDER BY vendor_id LIMIT 1"
                              ).fetchone()
        run_id = runs.start_run(conn, str(out / "docs"))
        ids: list[int] = []
        for n, path in enumerate(docs):
            result = _result(path, settings, n, vendor, ids)
            if n == 4:
                result = _with_po_variance(conn, result, settings)
            doc_id = store.stage_result(conn, result, run_id)
            assert doc_id is not None
            ids.append(doc_id)
        for pw in ROLES:
            users.add_user(conn, pw, pw, hash_password(PASSWORD))
        for extra in ("clerk2", "throttled"):
            users.add_user(conn, extra, "clerk", hash_password(PASSWORD))
        exc = conn.execute("SELECT exception_id, document_id FROM exception_queue"
                           " ORDER BY exception_id").fetchall()
    erp = settings.model_copy(update={"erp_gl_accounts": gl_mapping(out),
                                      "erp_tax_codes": tax_mapping()})
    return {"documents": ids, "exceptions": [e["exception_id"] for e in exc],
            "vendor_id": vendor["vendor_id"], "settings": erp}


def _result(path: Path, settings: Settings, n: int, vendor: dict[str, Any],
            earlier: list[int]) -> DocumentResult:
    document = describe(path, settings)
    text = read_document(document, settings)
    truth = json.loads((path.parent.parent / "labels" / f"{path.stem}.json").read_text())
    invoice = _with_truth_tax_rates(extract_invoice(text, settings, use_einvoice=False), truth)
    reasons = [ReasonCode.LOW_CONFIDENCE_TOTAL]
    duplicates: list[dict[str, Any]] = []
    if n == 0 and invoice.total is not None:  # a misread total, doubtful: the clerk corrects it
        misread = invoice.total.model_copy(update={"value": invoice.total.value + 10})
        invoice = invoice.model_copy(update={"total": misread.with_confidence(0.41)})
    if n == 1:
        reasons = [ReasonCode.BANK_DETAILS_CHANGED]
        invoice = invoice.model_copy(update={"iban": invoice.iban.model_copy(update={
            "value": "DE89370400440532013000"})} if invoice.iban else {})
    if n == 2 and earlier:
        reasons = [ReasonCode.DUPLICATE_SUSPECTED]
        duplicates = [{"document_id": earlier[0], "kind": "same_number", "score": 0.93,
                       "evidence": [{"field": "invoice_number", "relation": "equal"}]}]
    return DocumentResult(
        document=document, invoice=invoice, text_methods=["text_layer"],
        checks=validate(invoice, settings), reasons=reasons, duplicates=duplicates,
        vendor_match=VendorMatch(vendor_id=vendor["vendor_id"], vendor_name=vendor["name"],
                                 method="vat_id", probability=0.99),
        classification=classification_from_truth(truth["truth"]),
    )


def _with_truth_tax_rates(invoice: Invoice, label: dict[str, Any]) -> Invoice:
    """The extracted invoice with the label's tax rate on each line that was read without one."""
    rates = [item["tax_rate"] for item in label["line_items"]]
    lines = [
        line if line.tax_rate is not None or n >= len(rates) else line.model_copy(
            update={"tax_rate": FieldValue(value=Decimal(str(rates[n])), confidence=1.0,
                                           provenance=PROVENANCE)})
        for n, line in enumerate(invoice.lines)
    ]
    return invoice.model_copy(update={"lines": lines})


def _with_po_variance(conn: Any, result: DocumentResult, settings: Settings) -> DocumentResult:
    """The document matched by `match_purchase_order` to the PO it cites, after the PO's unit
    prices were lowered by 5 % and each goods receipt by 2 units (beyond every tolerance)."""
    invoice = result.invoice
    number = invoice.value("po_number") if invoice else None
    order = conn.execute("SELECT po_number, vendor_id FROM purchase_orders WHERE po_number = %s",
                         (number,)).fetchone() if number else None
    if invoice is None or order is None:
        return result
    conn.execute("UPDATE purchase_order_lines SET unit_price = round(unit_price * 0.95, 2)"
                 " WHERE po_number = %s", (order["po_number"],))
    conn.execute("UPDATE goods_receipts SET quantity = greatest(quantity - 2, 0)"
                 " WHERE po_number = %s", (order["po_number"],))
    vendor = conn.execute("SELECT vendor_id, name FROM vendors WHERE vendor_id = %s",
                          (order["vendor_id"],)).fetchone()
    vm = VendorMatch(vendor_id=vendor["vendor_id"], vendor_name=vendor["name"], method="vat_id",
                     probability=0.99)
    po = match_purchase_order(invoice, vm, matching.load_po_data(conn),
                              matching.billed_ledger(conn), settings)
    assert {ReasonCode.PRICE_VARIANCE, ReasonCode.QTY_EXCEEDS_RECEIVED} <= set(po.reasons), po
    return result.model_copy(update={
        "vendor_match": vm, "po_match": po.model_dump(mode="json"),
        "reasons": sorted({*result.reasons, *po.reasons}),
    })


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(settings: Settings) -> Iterator[str]:
    """The review app served by uvicorn in a thread; yields its base URL; stopped on exit."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    s = settings.model_copy(update={"review_base_url": base})
    server = uvicorn.Server(uvicorn.Config(create_app(s), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("review server did not start")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


__all__ = ["PASSWORD", "live_server", "stage_batch", "uuid"]
