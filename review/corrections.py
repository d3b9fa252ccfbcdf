"""A clerk's correction of one header field: parse what was typed, re-run the checks.

Pure: the typed text becomes a typed value (or a clear `BadInput` message), the stored invoice
gets the value as a `manual` FieldValue, `extractors.validation` re-runs every check, and the
item's reason codes are recomputed (the field's own LOW_CONFIDENCE_ / MISSING_ codes and the
check codes go; what the checks still find comes back).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from stdnum import iban as stdnum_iban

from extractors.parsing.amounts import parse_amount
from extractors.parsing.dates import parse_date
from extractors.validation import validate
from invoices.records import FieldValue, Invoice, Method, Provenance, ReasonCode
from invoices.settings import Settings

MONEY_FIELDS = ("subtotal", "tax", "total", "amount_due")
DATE_FIELDS = ("invoice_date", "due_date")
EDITABLE_FIELDS = (
    "vendor_name", "vendor_vat_id", "iban", "invoice_number", "invoice_date", "due_date",
    "po_number", "currency", "subtotal", "tax", "total", "amount_due",
)
CHECK_REASONS = {
    ReasonCode.ARITHMETIC_LINES_SUBTOTAL, ReasonCode.ARITHMETIC_SUBTOTAL_TAX_TOTAL,
    ReasonCode.TAX_RATE_IMPLAUSIBLE, ReasonCode.CURRENCY_UNKNOWN, ReasonCode.IBAN_INVALID,
    ReasonCode.VAT_ID_INVALID, ReasonCode.DATE_IMPLAUSIBLE,
}
MAX_VALUE_CHARS = 200


class BadInput(ValueError):
    """What the clerk typed cannot be stored; the message says why."""


def parse_value(field: str, text: str) -> Any:
    """The typed value of `text` for `field`, or BadInput with a message a clerk reads."""
    text = text.strip()
    if field not in EDITABLE_FIELDS:
        raise BadInput(f"{field!r} is not a field that can be corrected here")
    if len(text) > MAX_VALUE_CHARS:
        raise BadInput(f"a value is at most {MAX_VALUE_CHARS} characters")
    if not text:
        raise BadInput("the value is empty")
    if field in MONEY_FIELDS:
        return _amount(text)
    if field in DATE_FIELDS:
        value = parse_date(text)
        if value is None:
            raise BadInput(f"{text!r} is not a calendar date (for example 28.02.2025)")
        return value
    if field == "currency":
        if not re.fullmatch(r"[A-Za-z]{3}", text):
            raise BadInput("a currency is a three-letter ISO code, for example EUR")
        return text.upper()
    if field == "iban":
        iban = re.sub(r"\s+", "", text).upper()
        if not stdnum_iban.is_valid(iban):
            raise BadInput(f"{text!r} is not a valid IBAN (its checksum or length is wrong)")
        return iban
    return text


def _amount(text: str) -> Decimal:
    bare = re.sub(r"^[A-Z]{3}\s+|\s+[A-Z]{3}$", "", text)
    if re.search(r"[A-Za-z]", bare):
        raise BadInput(f"{text!r} has letters in it: an amount is digits, for example 1234.50")
    value = parse_amount(bare)
    if value is None:
        raise BadInput(f"{text!r} is not one amount, for example 1234.50")
    return value


def stored_invoice(fields: dict[str, Any], lines: list[dict[str, Any]]) -> Invoice:
    """The Invoice record from the staged `fields` JSON and the lines' JSON."""
    return Invoice.model_validate({**(fields or {}), "lines": [ln["fields"] for ln in lines]})


def corrected(
    invoice: Invoice, field: str, value: Any, text: str, page: int | None,
    bbox: tuple[float, float, float, float] | None,
) -> Invoice:
    """A copy of the invoice with the clerk's value for `field` (method manual, confidence 1)."""
    fv: FieldValue[Any] = FieldValue(
        value=value, confidence=1.0,
        provenance=Provenance(method=Method.MANUAL, extractor="review", page=page, bbox=bbox,
                              raw=text),
    )
    return invoice.model_copy(update={field: fv})


def recheck(
    invoice: Invoice, field: str, reasons: list[str], settings: Settings
) -> tuple[list[dict[str, Any]], list[str]]:
    """The checks on the corrected invoice and the item's reason codes after it."""
    checks = validate(invoice, settings)
    cleared = {f"LOW_CONFIDENCE_{field.upper()}", f"MISSING_{field.upper()}"}
    cleared |= {r.value for r in CHECK_REASONS}
    kept = {r for r in reasons if r not in cleared}
    kept |= {c.reason.value for c in checks if not c.passed and c.reason is not None}
    return [c.model_dump(mode="json") for c in checks], sorted(kept)


def field_text(fv: dict[str, Any] | None) -> str | None:
    """The stored value of a field as text (None when absent)."""
    return None if fv is None or fv.get("value") is None else str(fv["value"])


def changes_money(field: str, old: Any, new: Any) -> bool:
    """Whether the correction changes an amount (then a second person approves)."""
    if field not in MONEY_FIELDS:
        return False
    try:
        return old is None or Decimal(str(old)) != Decimal(str(new))
    except ArithmeticError:
        return True
