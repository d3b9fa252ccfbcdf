"""Validation checks: each failure carries its reason code; missing values fail nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from extractors.validation import validate
from invoices.records import (
    DocumentType,
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
    ReasonCode,
    TaxLine,
)
from invoices.settings import Settings

TODAY = date(2024, 6, 1)


def fv(value: Any) -> FieldValue[Any]:
    return FieldValue[Any](value=value, confidence=0.9, provenance=Provenance(method=Method.RULE))


def _good(**update: Any) -> Invoice:
    invoice = Invoice(
        subtotal=fv(Decimal("100.00")),
        tax=fv(Decimal("19.00")),
        total=fv(Decimal("119.00")),
        currency=fv("EUR"),
        iban=fv("DE89370400440532013000"),
        vendor_vat_id=fv("DE136695976"),
        invoice_date=fv(date(2024, 5, 2)),
        due_date=fv(date(2024, 6, 1)),
        tax_lines=[TaxLine(rate=Decimal("19"), base=Decimal("100.00"), amount=Decimal("19.00"))],
        lines=[
            LineItem(line_total=fv(Decimal("60.00"))),
            LineItem(line_total=fv(Decimal("40.00"))),
        ],
    )
    return invoice.model_copy(update=update)


def _failed(invoice: Invoice) -> set[ReasonCode]:
    return {
        r.reason for r in validate(invoice, Settings(), today=TODAY) if not r.passed and r.reason
    }


def test_a_consistent_invoice_passes_everything() -> None:
    results = validate(_good(), Settings(), today=TODAY)
    assert len(results) == 7 and all(r.passed for r in results)


def test_each_failure_has_its_reason() -> None:
    assert _failed(_good(total=fv(Decimal("120.00")))) == {ReasonCode.ARITHMETIC_SUBTOTAL_TAX_TOTAL}
    assert _failed(_good(lines=[LineItem(line_total=fv(Decimal("60.00")))])) == {
        ReasonCode.ARITHMETIC_LINES_SUBTOTAL
    }
    assert _failed(_good(tax_lines=[TaxLine(rate=Decimal("33"))])) == {
        ReasonCode.TAX_RATE_IMPLAUSIBLE
    }
    assert _failed(_good(currency=fv("XYZ"))) == {ReasonCode.CURRENCY_UNKNOWN}
    assert _failed(_good(iban=fv("DE89370400440532013001"))) == {ReasonCode.IBAN_INVALID}
    assert _failed(_good(vendor_vat_id=fv("DE136695977"))) == {ReasonCode.VAT_ID_INVALID}
    assert _failed(_good(invoice_date=fv(date(2025, 1, 1)))) == {ReasonCode.DATE_IMPLAUSIBLE}
    assert _failed(_good(due_date=fv(date(2024, 4, 1)))) == {ReasonCode.DATE_IMPLAUSIBLE}


def test_tolerance_allows_rounding_cents() -> None:
    assert _failed(_good(total=fv(Decimal("119.01")))) == set()


def test_missing_values_fail_nothing() -> None:
    assert validate(Invoice(), Settings(), today=TODAY) == []
    assert _failed(Invoice(total=fv(Decimal("5.00")), vendor_vat_id=fv("GB123"))) == set()


def test_a_credit_note_with_negative_lines_adds_up_to_its_positive_subtotal() -> None:
    lines = [LineItem(line_total=fv(Decimal("-60.00"))), LineItem(line_total=fv(Decimal("-40.00")))]
    credit = _good(document_type=fv(DocumentType.CREDIT_NOTE), lines=lines)
    assert ReasonCode.ARITHMETIC_LINES_SUBTOTAL not in _failed(credit)
    short = [LineItem(line_total=fv(Decimal("-60.00"))), LineItem(line_total=fv(Decimal("-30.00")))]
    assert ReasonCode.ARITHMETIC_LINES_SUBTOTAL in _failed(_good(lines=short))
