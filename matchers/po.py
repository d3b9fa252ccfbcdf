"""Purchase-order matching: find the PO, align the lines, check price and quantities.

2-way: each invoice line's unit price against the PO line, its quantity (plus what earlier
invoices billed) against the quantity ordered. 3-way: that quantity against the goods received.
Tolerances come from settings, per vendor or GL category. Every finding is a stable reason
code on the line it concerns, with the expected and actual values beside it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from invoices.records import DocumentType, Invoice, ReasonCode, VendorMatch
from matchers.po_data import ZERO, BilledLedger, PoData, PoLine, PurchaseOrder, tolerance_for
from matchers.po_lines import _unit_price, _value, align_lines, reconcile

NOT_BILLED_TYPES = {
    DocumentType.CREDIT_NOTE,
    DocumentType.STATEMENT,
    DocumentType.REMINDER,
    DocumentType.OTHER,
    DocumentType.RECEIPT,
}


class LineMatch(BaseModel):
    """One invoice line aligned to a PO line (or not), with the checks made on it."""

    invoice_line: int  # 0-based position on the invoice
    po_line_no: int | None = None
    method: str = "none"  # sku, description, price, none
    score: float = 0.0
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    po_unit_price: Decimal | None = None
    ordered: Decimal | None = None
    received: Decimal | None = None
    billed_before: Decimal | None = None
    note: str = ""  # how quantity and price were read when the line did not print both
    reasons: list[ReasonCode] = Field(default_factory=list)


class BilledEntry(BaseModel):
    """What this invoice bills on one PO line: the flow adds it to the ledger when staged."""

    po_number: str
    line_no: int
    quantity: Decimal
    amount: Decimal


class PoMatch(BaseModel):
    """The PO an invoice was matched to, how, and every variance found."""

    po_number: str | None = None
    method: str = "none"  # number, number_confusable, inferred, none, not_applicable
    score: float = 0.0
    reasons: list[ReasonCode] = Field(default_factory=list)
    lines: list[LineMatch] = Field(default_factory=list)
    billed: list[BilledEntry] = Field(default_factory=list)
    detail: str = ""


def _infer(
    invoice: Invoice, orders: list[PurchaseOrder], ledger: BilledLedger
) -> tuple[PurchaseOrder | None, float]:
    """The vendor's open PO that best explains the invoice lines and amount, if one does."""
    total = _value(invoice.subtotal) or _value(invoice.total)
    best: tuple[float, PurchaseOrder | None] = (0.0, None)
    for order in orders:
        alignment = align_lines(invoice.lines, order.lines)
        matched = [a for a in alignment if a[1] is not None]
        if not invoice.lines or len(matched) < max(1, len(invoice.lines) // 2):
            continue
        coverage = len(matched) / len(invoice.lines)
        fit = 0.0
        for i, po_line, _method, _score in matched:
            assert po_line is not None
            qty = _value(invoice.lines[i].quantity)
            remaining = po_line.quantity - ledger.billed(order.po_number, po_line.line_no)
            price = _unit_price(invoice.lines[i])
            fit += 0.5 * (price is not None and abs(price - po_line.unit_price) < Decimal("0.01"))
            fit += 0.5 * (qty is not None and Decimal(qty) <= remaining)
        value = sum((ln.quantity * ln.unit_price for ln in order.lines), ZERO)
        amount_fit = 0.0
        if total is not None and value > 0:
            amount_fit = max(0.0, 1.0 - float(abs(Decimal(total) - value) / value))
        score = 2 * coverage + fit / len(invoice.lines) + amount_fit
        if score > best[0]:
            best = (score, order)
    return (best[1], best[0]) if best[0] >= 2.5 else (None, best[0])


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
            return PoMatch(
                method="none",
                reasons=[ReasonCode.PO_NOT_FOUND],
                detail=f"no purchase order {number!r}",
            )
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


def _without_number(
    invoice: Invoice,
    vendor_id: str | None,
    po_data: PoData,
    ledger: BilledLedger,
    settings: Any,
    gl_category: str | None,
) -> PoMatch:
    """An invoice citing no PO: PO_MISSING when its vendor sells on POs; the PO is still
    inferred from the vendor's open orders, so 2- and 3-way checks run all the same."""
    if vendor_id is None:
        return PoMatch(method="none", detail="no PO number and no known vendor")
    threshold = Decimal(str(getattr(settings, "po_required_above", ZERO)))
    required = po_data.vendor_uses_pos(vendor_id) and _amount(invoice) > threshold
    missing = [ReasonCode.PO_MISSING] if required else []
    order, score = _infer(invoice, po_data.open_orders(vendor_id), ledger)
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
            "detail": f"no PO number on the invoice; {order.po_number} inferred from lines",
        }
    )


def _amount(invoice: Invoice) -> Decimal:
    value = _value(invoice.total) or _value(invoice.subtotal)
    return Decimal(value) if value is not None else ZERO


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
            _check_line(match, po_line, billed_before, tolerance, three_way)
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
    for match in lines:
        reasons.extend(r for r in match.reasons if r not in reasons)
    return PoMatch(
        po_number=order.po_number,
        method=method,
        score=round(score, 4),
        reasons=reasons,
        lines=lines,
        billed=billed,
    )


def _check_line(
    match: LineMatch, po_line: PoLine, billed_before: Decimal, tolerance: Any, three_way: bool
) -> None:
    match.po_line_no = po_line.line_no
    match.po_unit_price = po_line.unit_price
    match.ordered, match.received, match.billed_before = (
        po_line.quantity,
        po_line.received,
        billed_before,
    )
    if match.unit_price is not None and tolerance.price_exceeded(
        match.unit_price, po_line.unit_price
    ):
        match.reasons.append(ReasonCode.PRICE_VARIANCE)
    if match.quantity is None:
        return
    cumulative = billed_before + Decimal(match.quantity)
    if tolerance.qty_exceeded(cumulative, po_line.quantity):
        match.reasons.append(ReasonCode.QTY_EXCEEDS_ORDERED)
    if three_way and tolerance.qty_exceeded(cumulative, po_line.received):
        match.reasons.append(ReasonCode.QTY_EXCEEDS_RECEIVED)
