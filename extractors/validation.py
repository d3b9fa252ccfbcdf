"""Checks on an extracted invoice: arithmetic, tax rates, currency, IBAN, VAT id, dates.

Each check returns a `CheckResult`; a failed one carries its `ReasonCode`. A check that
cannot run for lack of values is not failed (it is reported as passed with a detail saying
so, or left out). IBAN and VAT id checksums come from python-stdnum, not hand-written tables.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from stdnum import iban as std_iban
from stdnum.eu import vat as std_vat
from stdnum.exceptions import ValidationError

from invoices.records import CheckResult, Invoice, ReasonCode
from invoices.settings import Settings

# Standard, reduced and zero rates in use in the EU, the UK, Switzerland, India, Malaysia, the US
# sales-tax range: anything else on an invoice is more likely a misread than a real rate.
PLAUSIBLE_RATES = frozenset(
    Decimal(r)
    for r in (
        "0",
        "2.1",
        "2.5",
        "2.6",
        "3",
        "3.7",
        "3.8",
        "4",
        "5",
        "5.5",
        "6",
        "7",
        "7.7",
        "8",
        "8.1",
        "9",
        "10",
        "12",
        "13",
        "14",
        "15",
        "16",
        "17",
        "18",
        "19",
        "20",
        "21",
        "22",
        "23",
        "24",
        "25",
        "25.5",
        "27",
        "28",
    )
)
KNOWN_CURRENCIES = frozenset(
    "EUR USD GBP CHF INR PLN MYR JPY SEK NOK DKK CZK HUF CAD AUD SGD NZD CNY HKD RON BGN ISK "
    "TRY ZAR BRL MXN AED SAR THB IDR PHP KRW ILS".split()
)


def _money(invoice: Invoice, name: str) -> Decimal | None:
    fv = invoice.field(name)
    return None if fv is None else Decimal(fv.value)


def check_lines_subtotal(invoice: Invoice, tolerance: Decimal) -> CheckResult | None:
    """The line totals add up to the subtotal (allowing for document-level charges is not done).
    A credit note records its subtotal positive (EN 16931) while its lines may print negative:
    negative lines under a positive subtotal are compared by magnitude."""
    subtotal = _money(invoice, "subtotal")
    totals = [i.line_total.value for i in invoice.lines if i.line_total is not None]
    if subtotal is None or not totals:
        return None
    lines_sum = sum((Decimal(t) for t in totals), Decimal(0))
    if lines_sum < 0 < subtotal:
        lines_sum = -lines_sum
    ok = abs(lines_sum - subtotal) <= tolerance
    return CheckResult(
        name="lines_sum_to_subtotal",
        passed=ok,
        reason=None if ok else ReasonCode.ARITHMETIC_LINES_SUBTOTAL,
        expected=str(subtotal),
        actual=str(lines_sum),
        detail="" if ok else "the line totals do not add up to the subtotal",
    )


def check_subtotal_tax_total(invoice: Invoice, tolerance: Decimal) -> CheckResult | None:
    """Subtotal plus tax equals the total."""
    subtotal, tax, total = (_money(invoice, n) for n in ("subtotal", "tax", "total"))
    if subtotal is None or tax is None or total is None:
        return None
    ok = abs(subtotal + tax - total) <= tolerance
    return CheckResult(
        name="subtotal_plus_tax_is_total",
        passed=ok,
        reason=None if ok else ReasonCode.ARITHMETIC_SUBTOTAL_TAX_TOTAL,
        expected=str(total),
        actual=str(subtotal + tax),
    )


def check_tax_rates(invoice: Invoice) -> CheckResult | None:
    """Every tax rate on the invoice is one some tax authority uses."""
    rates = {t.rate for t in invoice.tax_lines if t.rate is not None}
    rates |= {i.tax_rate.value for i in invoice.lines if i.tax_rate is not None}
    if not rates:
        return None
    odd = sorted(r for r in rates if Decimal(r).normalize() not in PLAUSIBLE_RATES)
    return CheckResult(
        name="tax_rates_plausible",
        passed=not odd,
        reason=ReasonCode.TAX_RATE_IMPLAUSIBLE if odd else None,
        actual=", ".join(str(r) for r in odd) or None,
    )


def check_currency(invoice: Invoice) -> CheckResult | None:
    """The currency is a known ISO 4217 code."""
    if invoice.currency is None:
        return None
    code = str(invoice.currency.value).upper()
    ok = code in KNOWN_CURRENCIES
    return CheckResult(
        name="currency_known",
        passed=ok,
        reason=None if ok else ReasonCode.CURRENCY_UNKNOWN,
        actual=code,
    )


def check_iban(invoice: Invoice) -> CheckResult | None:
    """The IBAN's check digits hold (ISO 13616, via python-stdnum)."""
    if invoice.iban is None:
        return None
    try:
        std_iban.validate(str(invoice.iban.value))
        return CheckResult(name="iban_checksum", passed=True)
    except ValidationError as exc:
        return CheckResult(
            name="iban_checksum",
            passed=False,
            reason=ReasonCode.IBAN_INVALID,
            actual=str(invoice.iban.value),
            detail=str(exc),
        )


def check_vat_id(invoice: Invoice) -> CheckResult | None:
    """The vendor's EU VAT id has a valid format and check digits (via python-stdnum)."""
    if invoice.vendor_vat_id is None:
        return None
    value = str(invoice.vendor_vat_id.value)
    prefix = value.replace(" ", "")[:2].upper()
    if prefix not in {c.upper() for c in std_vat.MEMBER_STATES} | {"EL"}:
        return None  # not an EU VAT id: no checksum to verify
    try:
        std_vat.validate(value)
        return CheckResult(name="vat_id_checksum", passed=True)
    except ValidationError as exc:
        return CheckResult(
            name="vat_id_checksum",
            passed=False,
            reason=ReasonCode.VAT_ID_INVALID,
            actual=value,
            detail=str(exc),
        )


def check_dates(invoice: Invoice, today: date | None = None) -> CheckResult | None:
    """The invoice date is not in the future or long past, and the due date is not before it."""
    if invoice.invoice_date is None:
        return None
    today = today or date.today()
    issued: date = invoice.invoice_date.value
    problems = []
    if issued > today + timedelta(days=31):
        problems.append("invoice date is in the future")
    if issued < today - timedelta(days=365 * 15):
        problems.append("invoice date is more than 15 years old")
    if invoice.due_date is not None and invoice.due_date.value < issued:
        problems.append("due date is before the invoice date")
    return CheckResult(
        name="dates_plausible",
        passed=not problems,
        reason=ReasonCode.DATE_IMPLAUSIBLE if problems else None,
        detail="; ".join(problems),
        actual=issued.isoformat(),
    )


def validate(invoice: Invoice, settings: Settings, today: date | None = None) -> list[CheckResult]:
    """Every check that can run on this invoice; failed ones carry a ReasonCode."""
    tolerance = settings.amount_tolerance
    results = [
        check_lines_subtotal(invoice, tolerance),
        check_subtotal_tax_total(invoice, tolerance),
        check_tax_rates(invoice),
        check_currency(invoice),
        check_iban(invoice),
        check_vat_id(invoice),
        check_dates(invoice, today),
    ]
    return [r for r in results if r is not None]
