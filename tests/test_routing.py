"""Exception routing: reason codes from evidence (pure)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from invoices.records import (
    CheckResult,
    Document,
    DocumentResult,
    FieldValue,
    Invoice,
    Method,
    Provenance,
    ReasonCode,
    StageError,
    Status,
    VendorMatch,
)
from invoices.routing import route
from invoices.settings import load_settings as _load_settings

PROV = Provenance(method=Method.OCR)
THRESHOLDS = {
    "vendor_name": 0.5,
    "invoice_number": 0.6,
    "invoice_date": 0.6,
    "total": 0.7,
    "currency": 0.5,
}


def load_settings():
    """Settings with fixed thresholds: these tests are about routing, not calibration."""
    return _load_settings(confidence_thresholds=THRESHOLDS)


DOC = Document(path=Path("x.pdf"), sha256="0" * 64, media_type="application/pdf", size_bytes=1)


def fv(value, c=0.99):
    return FieldValue(value=value, confidence=c, provenance=PROV)


def complete_invoice(**changes) -> Invoice:
    base = dict(
        vendor_name=fv("ACME"),
        invoice_number=fv("1"),
        invoice_date=fv(None),
        total=fv(Decimal("1.00")),
        currency=fv("EUR"),
    )
    base.update(changes)
    return Invoice(**{k: v for k, v in base.items() if v is not None})


def test_complete_confident_invoice_goes_straight_through():
    from datetime import date

    inv = complete_invoice(invoice_date=fv(date(2024, 1, 1)))
    result = DocumentResult(document=DOC, invoice=inv, vendor_match=VendorMatch(vendor_id="V1"))
    assert route(result, load_settings()) == []


def test_missing_low_confidence_failed_checks_and_vendor_reasons():
    inv = complete_invoice(invoice_date=None, total=fv(Decimal("1"), 0.2))
    result = DocumentResult(
        document=DOC,
        invoice=inv,
        checks=[
            CheckResult(name="iban", passed=False, reason=ReasonCode.IBAN_INVALID),
            CheckResult(name="sum", passed=True),
        ],
        vendor_match=VendorMatch(reasons=[ReasonCode.VENDOR_UNKNOWN]),
    )
    assert route(result, load_settings()) == sorted(
        [
            ReasonCode.MISSING_INVOICE_DATE,
            ReasonCode.LOW_CONFIDENCE_TOTAL,
            ReasonCode.IBAN_INVALID,
            ReasonCode.VENDOR_UNKNOWN,
        ]
    )


def test_failed_document_reasons_come_from_its_errors():
    result = DocumentResult(
        document=DOC,
        status=Status.FAILED,
        errors=[
            StageError(stage="text", category="DOCUMENT_ENCRYPTED", message="needs a password"),
            StageError(stage="x", category="KeyError", message="bug"),
        ],
    )
    assert route(result, load_settings()) == [
        ReasonCode.DOCUMENT_ENCRYPTED,
        ReasonCode.PROCESSING_ERROR,
    ]


def test_uncertain_vendor_name_is_irrelevant_once_the_vendor_is_linked():
    from datetime import date

    inv = complete_invoice(invoice_date=fv(date(2024, 1, 1)), vendor_name=fv("ACME", 0.1))
    linked = DocumentResult(
        document=DOC, invoice=inv, vendor_match=VendorMatch(vendor_id="V1", probability=0.999)
    )
    assert route(linked, load_settings()) == []
    unlinked = DocumentResult(
        document=DOC,
        invoice=inv,
        vendor_match=VendorMatch(probability=0.3, reasons=[ReasonCode.VENDOR_UNKNOWN]),
    )
    assert route(unlinked, load_settings()) == [
        ReasonCode.LOW_CONFIDENCE_VENDOR_NAME,
        ReasonCode.VENDOR_UNKNOWN,
    ]
