"""Invoice lines against PO lines: alignment (SKU, description, price, amount) and reading
quantity and unit price robustly when extraction swapped or lost one of them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from invoices.records import LineItem
from matchers.normalize import fold
from matchers.po_data import PoLine

CENT = Decimal("0.01")
ASSUMED_QUANTITY = "quantity assumed open quantity"


def _value(fv: Any) -> Any:
    return None if fv is None else fv.value


def _unit_price(line: LineItem) -> Decimal | None:
    price, qty, total = _value(line.unit_price), _value(line.quantity), _value(line.line_total)
    if price is not None:
        return Decimal(price)
    if qty and total is not None:
        return (Decimal(total) / Decimal(qty)).quantize(Decimal("0.0001"))
    return None


LineKey = tuple[str, str, Decimal | None, Decimal | None]


def _line_key(line: LineItem) -> LineKey:
    """What alignment compares of an invoice line: SKU, description, unit price, amount."""
    sku = fold(str(_value(line.sku) or "")).replace(" ", "")
    total = _value(line.line_total)
    return (
        sku,
        fold(str(_value(line.description) or "")),
        _unit_price(line),
        None if total is None else Decimal(total),
    )


def _amount_fit(total: Decimal | None, po_line: PoLine) -> float:
    """1 when the line amount is the PO price times the quantity ordered or received."""
    if total is None or po_line.unit_price <= 0:
        return 0.0
    for quantity in (po_line.received, po_line.quantity):
        if quantity > 0 and abs(total - quantity * po_line.unit_price) <= CENT:
            return 1.0
    return 0.0


def _pair_score(key: LineKey, po_line: PoLine) -> tuple[float, str]:
    """How well an invoice line fits a PO line, and the strongest evidence for it."""
    sku, description, price, total = key
    if sku and po_line.sku and sku == fold(po_line.sku).replace(" ", ""):
        return 3.0 + 0.5 * _amount_fit(total, po_line), "sku"
    similarity = (
        fuzz.token_set_ratio(description, fold(po_line.description)) / 100.0 if description else 0.0
    )
    closeness = 0.0
    if price is not None and po_line.unit_price > 0:
        closeness = max(0.0, 1.0 - float(abs(price - po_line.unit_price) / po_line.unit_price))
    if similarity >= 0.6:
        return 1.0 + similarity + 0.25 * closeness + 0.5 * _amount_fit(
            total, po_line
        ), "description"
    if closeness >= 0.99 and not description:
        return 1.0, "price"
    return 0.0, "none"


def align_lines(
    lines: list[LineItem], po_lines: list[PoLine]
) -> list[tuple[int, PoLine | None, str, float]]:
    """Align invoice lines to PO lines one-to-one: SKU, then description, then price.

    Returns (invoice line index, PO line or None, method, score) for every invoice line.
    """
    if not lines:
        return []
    keys = [_line_key(line) for line in lines]
    scores = np.zeros((len(lines), len(po_lines)))
    methods: dict[tuple[int, int], str] = {}
    for i, key in enumerate(keys):
        for j, po_line in enumerate(po_lines):
            scores[i, j], methods[(i, j)] = _pair_score(key, po_line)
    aligned: dict[int, tuple[PoLine, str, float]] = {}
    if po_lines:
        rows, cols = linear_sum_assignment(scores, maximize=True)
        for i, j in zip(rows, cols, strict=True):
            if scores[i, j] > 0:
                aligned[int(i)] = (po_lines[j], methods[(int(i), int(j))], float(scores[i, j]))
    return [(i, *aligned[i]) if i in aligned else (i, None, "none", 0.0) for i in range(len(lines))]


def reconcile(
    line: LineItem, po_line: PoLine, billed_before: Decimal
) -> tuple[Decimal | None, Decimal | None, str]:
    """Quantity and unit price of an aligned line, read against its PO line.

    Extraction may swap the quantity and price columns (the product is the same, the PO
    price says which is which) or lose one or both; the line amount then gives the other, or,
    with neither, the quantity at the PO price (if a whole number of cents) or else the
    quantity still open, whose implied price is then checked.
    """
    qty, price, total = _value(line.quantity), _value(line.unit_price), _value(line.line_total)
    qty, price = (
        (None if qty is None else Decimal(qty)),
        (None if price is None else Decimal(price)),
    )
    total = None if total is None else Decimal(total)
    po_price = po_line.unit_price
    if qty is not None and price is not None:
        if _swapped(qty, price, po_line):
            return price, qty, "quantity and unit price read swapped"
        return qty, price, ""
    if total is None:
        return qty, price, ""
    if qty:
        return qty, (total / qty).quantize(Decimal("0.0001")), "unit price from line amount"
    if price:
        return (total / price).quantize(Decimal("0.0001")), price, "quantity from line amount"
    open_qty = min(po_line.quantity, po_line.received) - billed_before
    if po_price > 0:
        for plausible in (open_qty, po_line.quantity, po_line.received):
            if plausible > 0 and abs(plausible * po_price - total) <= CENT:
                return plausible, po_price, "quantity from line amount at PO price"
        whole = (total / po_price).to_integral_value()
        if 0 < whole <= po_line.quantity and abs(whole * po_price - total) <= CENT:
            return whole, po_price, "quantity from line amount at PO price"
    if open_qty > 0 and po_price > 0:
        implied = (total / open_qty).quantize(Decimal("0.0001"))
        # a derived price far off the PO is likelier a misread amount than a real variance
        if po_price / 2 <= implied <= po_price * Decimal("1.5"):
            return open_qty, implied, f"{ASSUMED_QUANTITY}; unit price from line amount"
        return None, None, "line amount does not fit the PO line: not checked"
    return None, None, "line amount only"


def _near(value: Decimal, target: Decimal) -> bool:
    return target > 0 and abs(value - target) <= max(CENT, target / 1000)


def _swapped(qty: Decimal, price: Decimal, po_line: PoLine) -> bool:
    """Whether the quantity and unit price columns were read the wrong way round."""
    po_price = po_line.unit_price
    if _near(qty, po_price) and not _near(price, po_price):
        return True
    like_qty = _near(price, po_line.quantity) or _near(price, po_line.received)
    qty_like_qty = _near(qty, po_line.quantity) or _near(qty, po_line.received)
    return like_qty and not qty_like_qty and abs(qty - po_price) < abs(price - po_price)
