"""Purchase-order matching: find the PO, align the lines, check price and quantities.

2-way: each invoice line's unit price against the PO line, its quantity (plus what earlier
invoices billed) against the quantity ordered. 3-way: that quantity against the goods received.
Tolerances come from settings, per vendor or GL category. Every finding is a stable reason
code on the line it concerns, with the expected and actual values beside it.

This module holds the entry point `match_purchase_order`, its result (`PoMatch`, `BilledEntry`),
how the PO is found (cited, printed elsewhere on the document, or inferred from the vendor's
open orders) and `_check`, which assembles the match; the checks themselves are in
`matchers.po_checks`, the line alignment in `matchers.po_lines`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from invoices.records import DocumentType, Invoice, ReasonCode, VendorMatch
from matchers.po_checks import (
    LineMatch,
    amount_check,
    check_derived_prices,
    check_line,
    unread_lines_check,
)
from matchers.po_data import ZERO, BilledLedger, PoData, PurchaseOrder, Tolerance, tolerance_for
from matchers.po_lines import _unit_price, _value, align_lines, reconcile

NOT_BILLED_TYPES = {
    DocumentType.CREDIT_NOTE,
    DocumentType.STATEMENT,
    DocumentType.REMINDER,
    DocumentType.OTHER,
    DocumentType.RECEIPT,
}


class BilledEntry(BaseModel):
    """What this invoice bills on one PO line: the flow adds it to the ledger when staged."""

    po_number: str
    line_no: int
    quantity: Decimal
    amount: Decimal


class PoMatch(BaseModel):
    """The PO an invoice was matched to, how, and every variance found."""

    po_number: str | None = None
    # number, number_confusable, number_partial, inferred, none, not_applicable
    method: str = "none"
    score: float = 0.0
    reasons: list[ReasonCode] = Field(default_factory=list)
    lines: list[LineMatch] = Field(default_factory=list)
    billed: list[BilledEntry] = Field(default_factory=list)
    detail: str = ""
    # the tolerance the checks applied (the review page shows it beside each variance)
    tolerance: Tolerance | None = None


def _infer(
    invoice: Invoice, orders: list[PurchaseOrder], ledger: BilledLedger
) -> tuple[PurchaseOrder | None, float]:
    """The vendor's open PO that best explains the invoice lines and amount, if one does.

    Score: the share of invoice lines aligned, how well their price and quantity fit (read
    against the PO), and how close the invoice amount is to the PO's value; a PO is accepted
    with most lines aligned and fitting, or half of them and the amount.
    """
    if not invoice.lines:
        return _infer_by_amount(invoice, orders)
    total = _value(invoice.subtotal) or _value(invoice.total)
    best: tuple[float, PurchaseOrder | None] = (0.0, None)
    for order in orders:
        matched = [a for a in align_lines(invoice.lines, order.lines) if a[1] is not None]
        if len(matched) < max(1, len(invoice.lines) // 2):
            continue
        fit = sum(_line_fit(invoice, order, i, po_line, ledger) for i, po_line, _, _ in matched)
        value = sum((ln.quantity * ln.unit_price for ln in order.lines), ZERO)
        amount_fit = 0.0
        if total is not None and value > 0:
            amount_fit = max(0.0, 1.0 - float(abs(Decimal(total) - value) / value))
        score = len(matched) / len(invoice.lines) + fit / len(invoice.lines) + amount_fit
        if score > best[0]:
            best = (score, order)
    return (best[1], best[0]) if best[0] >= 1.5 else (None, best[0])


SINGLE_PO_MARGIN = Decimal("1.25")  # the only open PO: the invoice may exceed its value so far
MAX_TAX = Decimal("1.27")  # a gross total compared with a net PO value


def _only_open_order(
    invoice: Invoice, orders: list[PurchaseOrder], ledger: BilledLedger
) -> tuple[PurchaseOrder | None, float]:
    """When nothing was read to decide (a poor scan: no lines), the vendor's one open PO with
    quantity left to bill, unless the invoice amount is far beyond its value. The invoice
    still lacks its PO citation (PO_MISSING); the checks then run against that PO."""
    if invoice.lines:
        return None, 0.0  # lines were read and none fitted: that contradicts every PO
    unbilled = [
        o
        for o in orders
        if any(ledger.billed(o.po_number, ln.line_no) < ln.quantity for ln in o.lines)
    ]
    if len(unbilled) != 1:
        return None, 0.0
    order = unbilled[0]
    limit = sum((ln.quantity * ln.unit_price for ln in order.lines), ZERO) * SINGLE_PO_MARGIN
    net, gross = _value(invoice.subtotal), _value(invoice.total)
    if (net is not None and Decimal(net) > limit) or (
        net is None and gross is not None and Decimal(gross) > limit * MAX_TAX
    ):
        return None, 0.0
    return order, 1.0


AMOUNT_MATCH = Decimal("0.005")  # relative: a PO found by its value alone must fit this well


def _infer_by_amount(
    invoice: Invoice, orders: list[PurchaseOrder]
) -> tuple[PurchaseOrder | None, float]:
    """With no line read (a poor scan), the one open PO whose net value is the invoice's net
    amount, or whose gross value is its total; nothing when none or several fit."""
    net, gross = _value(invoice.subtotal), _value(invoice.total)
    fitting = []
    for order in orders:
        value = sum((ln.quantity * ln.unit_price for ln in order.lines), ZERO)
        with_tax = sum(
            (ln.quantity * ln.unit_price * (1 + (ln.tax_rate or ZERO) / 100) for ln in order.lines),
            ZERO,
        )
        if value > 0 and (
            (net is not None and abs(Decimal(net) - value) <= AMOUNT_MATCH * value)
            or (gross is not None and abs(Decimal(gross) - with_tax) <= AMOUNT_MATCH * with_tax)
        ):
            fitting.append(order)
    return (fitting[0], 1.5) if len(fitting) == 1 else (None, 0.0)


def _line_fit(
    invoice: Invoice, order: PurchaseOrder, i: int, po_line: Any, ledger: BilledLedger
) -> float:
    """0..1: an aligned line's price is the PO's, its quantity within what is open."""
    billed = ledger.billed(order.po_number, po_line.line_no)
    qty, price, _ = reconcile(invoice.lines[i], po_line, billed)
    fit = 0.5 * (price is not None and abs(price - po_line.unit_price) < Decimal("0.01"))
    return fit + 0.5 * (qty is not None and qty <= po_line.quantity - billed)


def match_purchase_order(
    invoice: Invoice,
    vendor_match: VendorMatch | None,
    po_data: PoData,
    ledger: BilledLedger,
    settings: Any,
    gl_category: str | None = None,
) -> PoMatch:
    """Match one invoice to its purchase order and check it (2-way and 3-way).

    `ledger` holds what other documents already billed per PO line; the returned `billed`
    entries are what this invoice adds to it once staged.
    """
    doc_type = _value(invoice.document_type)
    if doc_type in NOT_BILLED_TYPES:
        return PoMatch(method="not_applicable", detail=f"document type {doc_type}")
    vendor_id = vendor_match.vendor_id if vendor_match else None
    number = str(_value(invoice.po_number) or "").strip()
    if number:
        order, method = po_data.find(number, vendor_id)
        if order is None:
            return _not_found(invoice, number, vendor_id, po_data, ledger, settings, gl_category)
        if vendor_id is not None and order.vendor_id != vendor_id:
            return PoMatch(
                po_number=order.po_number,
                method=method,
                reasons=[ReasonCode.PO_NOT_FOUND],
                detail=f"PO {order.po_number} belongs to vendor {order.vendor_id}",
            )
        score = 1.0
    else:
        return _without_number(invoice, vendor_id, po_data, ledger, settings, gl_category)
    tolerance = tolerance_for(settings, vendor_id, gl_category)
    return _check(invoice, order, method, score, ledger, tolerance, settings)


def _not_found(
    invoice: Invoice,
    number: str,
    vendor_id: str | None,
    po_data: PoData,
    ledger: BilledLedger,
    settings: Any,
    gl_category: str | None,
) -> PoMatch:
    """A cited PO that does not exist: PO_NOT_FOUND, unless the vendor's open POs hold one
    that fits the lines (then the citation was misread, and that PO is checked instead)."""
    printed = _printed_citation(
        invoice, vendor_id, po_data, ledger, settings, gl_category, f"cited PO {number!r} not found"
    )
    if printed is not None:  # the PO number is printed elsewhere, read whole there
        return printed
    near = [o for o in po_data.misread_candidates(number, vendor_id) if o.status == "open"]
    order, score = _infer(invoice, near, ledger) if near else (None, 0.0)
    if order is None and vendor_id is not None:
        order, score = _infer(invoice, po_data.open_orders(vendor_id), ledger)
    if order is None:
        return PoMatch(
            method="none", reasons=[ReasonCode.PO_NOT_FOUND], detail=f"no purchase order {number!r}"
        )
    tolerance = tolerance_for(settings, vendor_id, gl_category)
    checked = _check(invoice, order, "inferred", score, ledger, tolerance, settings)
    return checked.model_copy(
        update={"detail": f"cited PO {number!r} not found; {order.po_number} inferred from lines"}
    )


def _printed_citation(
    invoice: Invoice,
    vendor_id: str | None,
    po_data: PoData,
    ledger: BilledLedger,
    settings: Any,
    gl_category: str | None,
    why: str,
) -> PoMatch | None:
    """The check against the vendor's PO whose number is printed on the document outside a
    readable label (`Invoice.references`), or None when no single such PO is found."""
    printed = po_data.cited_in(invoice.references, vendor_id)
    if printed is None:
        return None
    tolerance = tolerance_for(settings, vendor_id, gl_category)
    checked = _check(invoice, printed, "reference", 1.0, ledger, tolerance, settings)
    detail = f"{why}; {printed.po_number} printed on the document"
    return checked.model_copy(update={"detail": detail})


def _without_number(
    invoice: Invoice,
    vendor_id: str | None,
    po_data: PoData,
    ledger: BilledLedger,
    settings: Any,
    gl_category: str | None,
) -> PoMatch:
    """An invoice citing no PO under a label. One of the vendor's PO numbers printed
    elsewhere on it (a label lost to the scan) is its citation; else PO_MISSING when the
    vendor sells on POs, and the PO is still inferred from the vendor's open orders, so 2- and
    3-way checks run all the same."""
    if vendor_id is None:
        return PoMatch(method="none", detail="no PO number and no known vendor")
    printed = _printed_citation(
        invoice, vendor_id, po_data, ledger, settings, gl_category, "no PO label read"
    )
    if printed is not None:  # printed without a readable label: cited all the same
        return printed
    threshold = Decimal(str(getattr(settings, "po_required_above", ZERO)))
    required = po_data.vendor_uses_pos(vendor_id) and _amount(invoice) > threshold
    missing = [ReasonCode.PO_MISSING] if required else []
    open_orders = po_data.open_orders(vendor_id)
    order, score = _infer(invoice, open_orders, ledger)
    how = "inferred from lines"
    if order is None:
        order, score = _only_open_order(invoice, open_orders, ledger)
        how = "the vendor's only open PO"
    if order is None:
        return PoMatch(
            method="none",
            reasons=missing,
            detail="no PO number on the invoice and no open PO fits its lines",
        )
    tolerance = tolerance_for(settings, vendor_id, gl_category)
    checked = _check(invoice, order, "inferred", score, ledger, tolerance, settings)
    return checked.model_copy(
        update={
            "reasons": list(dict.fromkeys([*missing, *checked.reasons])),
            "detail": f"no PO number on the invoice; {order.po_number}: {how}",
        }
    )


def _amount(invoice: Invoice) -> Decimal:
    value = _value(invoice.total) or _value(invoice.subtotal)
    return Decimal(value) if value is not None else ZERO


AMOUNT_FINDINGS = {
    ReasonCode.PRICE_VARIANCE,
    ReasonCode.QTY_EXCEEDS_ORDERED,
    ReasonCode.QTY_EXCEEDS_RECEIVED,
}


def _check(
    invoice: Invoice,
    order: PurchaseOrder,
    method: str,
    score: float,
    ledger: BilledLedger,
    tolerance: Any,
    settings: Any,
) -> PoMatch:
    reasons: list[ReasonCode] = []
    if order.status == "closed":
        reasons.append(ReasonCode.PO_CLOSED)
    currency = str(_value(invoice.currency) or "").upper()
    if currency and order.currency and currency != order.currency.upper():
        reasons.append(ReasonCode.CURRENCY_MISMATCH)
    three_way = bool(getattr(settings, "po_three_way", True))
    lines, billed = [], []
    for i, po_line, line_method, line_score in align_lines(invoice.lines, order.lines):
        line = invoice.lines[i]
        match = LineMatch(
            invoice_line=i,
            method=line_method,
            score=round(line_score, 4),
            quantity=_value(line.quantity),
            unit_price=_unit_price(line),
        )
        if po_line is None:
            match.reasons.append(ReasonCode.LINE_UNMATCHED)
        else:
            billed_before = ledger.billed(order.po_number, po_line.line_no)
            match.quantity, match.unit_price, match.note = reconcile(line, po_line, billed_before)
            check_line(match, po_line, billed_before, tolerance, three_way)
            quantity = Decimal(match.quantity) if match.quantity is not None else ZERO
            amount = _value(line.line_total)
            billed.append(
                BilledEntry(
                    po_number=order.po_number,
                    line_no=po_line.line_no,
                    quantity=quantity,
                    amount=Decimal(amount) if amount is not None else ZERO,
                )
            )
        lines.append(match)
    check_derived_prices(lines, invoice, tolerance)
    for match in lines:
        reasons.extend(r for r in match.reasons if r not in reasons)
    if not billed:  # no line could be read against the PO: compare the amounts instead
        reasons.extend(
            r for r in amount_check(invoice, order, ledger, tolerance) if r not in reasons
        )
    elif not set(reasons) & AMOUNT_FINDINGS:
        reasons.extend(unread_lines_check(invoice, order, lines, ledger, tolerance))
    return PoMatch(
        po_number=order.po_number,
        method=method,
        score=round(score, 4),
        reasons=reasons,
        lines=lines,
        billed=billed,
        tolerance=tolerance if isinstance(tolerance, Tolerance) else None,
    )
