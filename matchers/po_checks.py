"""The checks of an invoice against its purchase order: per line, and on amounts.

`LineMatch` is one invoice line aligned to a PO line (or not), with its findings.
`check_line` checks a line's unit price against the PO line's (PRICE_VARIANCE) and its quantity,
plus what earlier invoices billed, against the quantity ordered and received
(QTY_EXCEEDS_ORDERED, QTY_EXCEEDS_RECEIVED); `check_derived_prices` prices together the lines
that printed only an amount. `amount_check` compares the net amount with the PO's open value
when no line was read against the PO, `unread_lines_check` what the net amount bills beyond
the lines read for sure. `matchers.po` runs these and assembles the `PoMatch`.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations
from typing import Any

from pydantic import BaseModel, Field

from invoices.records import Invoice, LineItem, ReasonCode
from matchers.po_data import ZERO, BilledLedger, PoLine, PurchaseOrder
from matchers.po_lines import ASSUMED_QUANTITY, CENT, _value


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


def check_line(
    match: LineMatch, po_line: PoLine, billed_before: Decimal, tolerance: Any, three_way: bool
) -> None:
    match.po_line_no = po_line.line_no
    match.po_unit_price = po_line.unit_price
    match.ordered, match.received, match.billed_before = (
        po_line.quantity,
        po_line.received,
        billed_before,
    )
    derived = match.note.startswith(ASSUMED_QUANTITY)  # checked together, see below
    if (
        not derived
        and match.unit_price is not None
        and tolerance.price_exceeded(match.unit_price, po_line.unit_price)
    ):
        match.reasons.append(ReasonCode.PRICE_VARIANCE)
    if match.quantity is None:
        return
    cumulative = billed_before + Decimal(match.quantity)
    if tolerance.qty_exceeded(cumulative, po_line.quantity):
        match.reasons.append(ReasonCode.QTY_EXCEEDS_ORDERED)
    if three_way and tolerance.qty_exceeded(cumulative, po_line.received):
        match.reasons.append(ReasonCode.QTY_EXCEEDS_RECEIVED)


def amount_check(
    invoice: Invoice, order: PurchaseOrder, ledger: BilledLedger, tolerance: Any
) -> list[ReasonCode]:
    """2/3-way on amounts, for an invoice whose lines were not read: its net amount against
    the value still open on the PO (ordered) and the value of the goods received."""
    subtotal = _value(invoice.subtotal)
    if subtotal is None:
        return []
    ordered = received = ZERO
    for line in order.lines:
        billed = ledger.billed(order.po_number, line.line_no)
        ordered += max(ZERO, line.quantity - billed) * line.unit_price
        received += max(ZERO, min(line.received, line.quantity) - billed) * line.unit_price
    amount = Decimal(subtotal)
    if tolerance.price_exceeded(amount, ordered):
        return [ReasonCode.PRICE_VARIANCE]
    if tolerance.price_exceeded(amount, received):
        return [ReasonCode.QTY_EXCEEDS_RECEIVED]
    return []


MAX_OVER_LINES = 12  # lines whose over-billing is tried in combination (2**12 sums)


def unread_lines_check(
    invoice: Invoice,
    order: PurchaseOrder,
    lines: list[LineMatch],
    ledger: BilledLedger,
    tolerance: Any,
) -> list[ReasonCode]:
    """What the net amount bills beyond the lines read for sure, against the PO lines it
    must be for: a scan loses lines or misreads an amount, but its totals usually survive.

    A read line is sure when its printed quantity times its printed unit price is its
    printed amount, or its amount is exactly its PO line's open received value. The rest of
    the net amount (net minus the sure lines) pays for the PO lines no read line was aligned
    to and for the aligned lines that are not sure. Above their open received value (beyond
    tolerance), it is QTY_EXCEEDS_RECEIVED when the excess is exactly some of those lines
    billed at their ordered rather than received quantity, else PRICE_VARIANCE. Nothing is
    said when the net amount does not agree with tax and total (it may be misread itself) or
    when a line that is not sure has no PO line.
    """
    net, tax, total = (_value(invoice.subtotal), _value(invoice.tax), _value(invoice.total))
    if net is None or tax is None or total is None:
        return []
    net = Decimal(net)
    if abs(net + Decimal(tax) - Decimal(total)) > 2 * CENT:
        return []
    open_lines = {ln.line_no: ln for ln in order.lines}
    rest = net
    for m in lines:
        line = invoice.lines[m.invoice_line]
        amount = _value(line.line_total)
        if amount is None:
            if m.po_line_no is None:
                return []
            continue
        amount = Decimal(amount)
        aligned = open_lines.get(m.po_line_no) if m.po_line_no is not None else None
        aligned_fits = aligned is not None and _fits(aligned, amount, order, ledger)
        if aligned_fits or _sure(line, amount):
            rest -= amount
            paid = (
                m.po_line_no if aligned_fits else _fitting(line, amount, open_lines, order, ledger)
            )
            if paid is not None:
                open_lines.pop(paid, None)
        elif m.po_line_no is None:
            return []
    received, over = ZERO, []
    for ln in open_lines.values():
        billed = ledger.billed(order.po_number, ln.line_no)
        received += max(ZERO, min(ln.received, ln.quantity) - billed) * ln.unit_price
        if ZERO < ln.received < ln.quantity:
            over.append((ln.quantity - max(ln.received, billed)) * ln.unit_price)
    if not open_lines or not tolerance.price_exceeded(rest, received):
        return []
    excess = rest - received
    if len(over) <= MAX_OVER_LINES and any(
        abs(excess - sum(c)) <= CENT * len(over)
        for k in range(1, len(over) + 1)
        for c in combinations(over, k)
    ):
        return [ReasonCode.QTY_EXCEEDS_RECEIVED]
    return [ReasonCode.PRICE_VARIANCE]


def _fitting(
    line: LineItem,
    amount: Decimal,
    open_lines: dict[int, PoLine],
    order: PurchaseOrder,
    ledger: BilledLedger,
) -> int | None:
    """The PO line a sure invoice line pays for when its aligned one does not fit: among
    repeated items the alignment may pick a neighbour, so a PO line still open at the line's
    price whose open received value is its amount; else none (the line pays for something
    else, and every PO line stays open: no finding from it)."""
    price = _value(line.unit_price)
    for no, ln in open_lines.items():
        if (price is None or abs(ln.unit_price - Decimal(price)) <= CENT) and _fits(
            ln, amount, order, ledger
        ):
            return no
    return None


def _fits(ln: PoLine, amount: Decimal, order: PurchaseOrder, ledger: BilledLedger) -> bool:
    """Whether an amount is the PO line's open received quantity at its price."""
    open_qty = min(ln.received, ln.quantity) - ledger.billed(order.po_number, ln.line_no)
    return abs(open_qty * ln.unit_price - amount) <= CENT


def _sure(line: LineItem, amount: Decimal) -> bool:
    """A line whose printed quantity and unit price give its printed amount (values the
    matcher derived from the amount prove nothing about it)."""
    qty, price = _value(line.quantity), _value(line.unit_price)
    if qty is None or price is None:
        return False
    return abs(Decimal(qty) * Decimal(price) - amount) <= CENT


def check_derived_prices(lines: list[LineMatch], invoice: Invoice, tolerance: Any) -> None:
    """Lines that printed only an amount are priced together, not one by one.

    Their quantities are assumed (what is open on the PO line), and among repeated items an
    amount may sit on a neighbouring PO line; the sum of their amounts against the sum of
    open quantity times PO price does not depend on which amount went to which line.
    """
    derived = [m for m in lines if m.note.startswith(ASSUMED_QUANTITY)]
    billed = expected = ZERO
    for m in derived:
        amount = _value(invoice.lines[m.invoice_line].line_total)
        if amount is None or m.quantity is None or m.po_unit_price is None:
            return
        billed += Decimal(amount)
        expected += Decimal(m.quantity) * m.po_unit_price
    if derived and tolerance.price_exceeded(billed, expected):
        for m in derived:
            if m.unit_price is not None and m.unit_price > m.po_unit_price:  # type: ignore[operator]
                m.reasons.append(ReasonCode.PRICE_VARIANCE)
