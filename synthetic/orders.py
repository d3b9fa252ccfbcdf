"""The purchasing side of an invoice: the PO behind its lines and the goods received.

Price and quantity anomalies are planted here, against the PO and the receipts, so that the
truth states exactly which PO line disagrees and by how much.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from synthetic.locales import money
from synthetic.model import Anomaly, Line, PoLine, PurchaseOrder, Vendor

if TYPE_CHECKING:
    from synthetic.documents import Book

PRICE_TOLERANCE_PCT = 2  # the variance planted is always well above this
PARTIAL_DELIVERY_SHARE = 0.15
SPLIT_RECEIPT_SHARE = 0.2


@dataclass(frozen=True)
class Billing:
    """How one PO line is ordered, received and billed."""

    ordered: Decimal
    received: Decimal
    billed_qty: Decimal
    billed_price: Decimal
    anomaly: Anomaly | None = None


def _bill(book: Book, ln: Line, plant: str | None) -> Billing:
    """Quantities and price of one line; `plant` is the anomaly to plant on it, if any."""
    rng = book.rng
    ordered, price = ln.quantity, ln.unit_price
    if plant == "qty_exceeds_received":
        ordered = max(ordered, Decimal(2))
        received = min(ordered - 1, max(Decimal(1), (ordered / 2).to_integral_value()))
        detail = {
            "line_no": ln.line_no,
            "po_line_no": ln.line_no,
            "ordered_quantity": str(ordered),
            "received_quantity": str(received),
            "invoiced_quantity": str(ordered),
        }
        return Billing(ordered, received, ordered, price, Anomaly(plant, detail=detail))
    if plant == "price_variance":
        pct = Decimal(rng.randint(6, 25))
        billed_price = money(price * (100 + pct) / 100)
        detail = {
            "line_no": ln.line_no,
            "po_line_no": ln.line_no,
            "po_unit_price": str(price),
            "invoiced_unit_price": str(billed_price),
            "variance_pct": str(pct),
            "tolerance_pct": str(PRICE_TOLERANCE_PCT),
        }
        return Billing(ordered, ordered, ordered, billed_price, Anomaly(plant, detail=detail))
    if rng.random() < PARTIAL_DELIVERY_SHARE and ordered > 1:  # billed as received
        received = max(Decimal(1), (ordered / 2).to_integral_value())
        return Billing(ordered, received, received, price)
    return Billing(ordered, ordered, ordered, price)


def _po_line(ln: Line, line_no: int, ordered: Decimal) -> PoLine:
    return PoLine(
        line_no,
        ln.sku,
        ln.description,
        ordered,
        ln.unit,
        ln.unit_price,
        ln.tax_rate,
        ln.gl_account,
        ln.cost_centre,
    )


def _receive(book: Book, po: str, line_no: int, qty: Decimal, start: date, end: date) -> None:
    """Goods receipts for a line: one, or two partial deliveries."""
    span = max(1, (end - start).days)
    first = start + timedelta(days=book.rng.randint(1, span))
    if qty >= 4 and book.rng.random() < SPLIT_RECEIPT_SHARE:
        part = (qty / 2).to_integral_value()
        book.receipt(po, line_no, part, first)
        book.receipt(po, line_no, qty - part, min(end, first + timedelta(days=3)))
    else:
        book.receipt(po, line_no, qty, first)


def order(
    book: Book,
    vendor: Vendor,
    lines: list[Line],
    when: date,
    kinds: set[str],
    extra: Line | None = None,
) -> tuple[str, list[Line], list[Anomaly]]:
    """Create the PO and receipts behind invoice lines (plus an unbilled `extra` PO line);
    returns the PO number, the billed lines and the PO-side anomalies planted."""
    rng = book.rng
    order_date = when - timedelta(days=rng.randint(7, 45))
    po = book.next_po(vendor.country, order_date)
    plant = next((k for k in ("qty_exceeds_received", "price_variance") if k in kinds), None)
    target = rng.randrange(len(lines))
    po_lines, billed, anomalies = [], [], []
    for i, ln in enumerate(lines):
        b = _bill(book, ln, plant if i == target else None)
        if b.anomaly is not None:
            anomalies.append(b.anomaly)
        po_lines.append(_po_line(ln, ln.line_no, b.ordered))
        _receive(book, po, ln.line_no, b.received, order_date, when)
        billed.append(
            replace(ln, quantity=b.billed_qty, unit_price=b.billed_price, po_line_no=ln.line_no)
        )
    if extra is not None:  # ordered, not (yet) delivered or billed
        po_lines.append(_po_line(extra, len(po_lines) + 1, extra.quantity))
    book.orders.append(
        PurchaseOrder(po, vendor.vendor_id, vendor.currency, order_date, "open", tuple(po_lines))
    )
    return po, billed, anomalies
