"""Purchase orders, goods received and the billed-quantity ledger, in memory.

Plain slotted dataclasses, because a scale run holds 200,000 PO lines; `PoData` indexes them
by normalised PO number and by vendor. The ledger says how much of each PO line earlier
invoices already billed, so partial invoices add up and over-billing across invoices shows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from rapidfuzz.distance import Levenshtein

from matchers.normalize import confusable_key, normalize_po_number, po_citation

ZERO = Decimal("0")


@dataclass(slots=True)
class PoLine:
    """One ordered line, with the quantity received against it so far."""

    line_no: int
    description: str
    quantity: Decimal
    unit_price: Decimal
    sku: str | None = None
    unit: str | None = None
    tax_rate: Decimal | None = None
    received: Decimal = ZERO


@dataclass(slots=True)
class PurchaseOrder:
    """A purchase order of one vendor with its lines."""

    po_number: str
    vendor_id: str
    currency: str
    status: str = "open"
    order_date: date | None = None
    lines: list[PoLine] = field(default_factory=list)
    has_receipts: bool = False

    def line(self, line_no: int) -> PoLine | None:
        """The line with this number (None when the PO has none)."""
        return next((ln for ln in self.lines if ln.line_no == line_no), None)


class PoData:
    """Purchase orders indexed by normalised number and by vendor."""

    def __init__(self, orders: Iterable[PurchaseOrder]) -> None:
        self.orders: dict[str, PurchaseOrder] = {}
        self.by_key: dict[str, PurchaseOrder] = {}
        self.by_vendor: dict[str, list[PurchaseOrder]] = defaultdict(list)
        self._by_confusable: dict[str, list[PurchaseOrder]] | None = None
        for order in orders:
            self.orders[order.po_number] = order
            self.by_key[normalize_po_number(order.po_number)] = order
            self.by_vendor[order.vendor_id].append(order)

    @property
    def by_confusable(self) -> dict[str, list[PurchaseOrder]]:
        """POs by number with O/0-style confusions folded (built on first use)."""
        if self._by_confusable is None:
            index: dict[str, list[PurchaseOrder]] = defaultdict(list)
            for key, order in self.by_key.items():
                index[confusable_key(key)].append(order)
            self._by_confusable = index
        return self._by_confusable

    @classmethod
    def from_rows(
        cls,
        orders: Iterable[Mapping[str, Any]],
        lines: Iterable[Mapping[str, Any]],
        received: Iterable[Mapping[str, Any]] = (),
    ) -> PoData:
        """PO data from rows of purchase_orders, purchase_order_lines and summed receipts
        (po_number, line_no, quantity)."""
        by_number = {
            str(r["po_number"]): PurchaseOrder(
                str(r["po_number"]),
                str(r["vendor_id"]),
                str(r["currency"] or "").strip(),
                str(r.get("status") or "open"),
                r.get("order_date"),
            )
            for r in orders
        }
        by_line: dict[tuple[str, int], tuple[PurchaseOrder, PoLine]] = {}
        for r in lines:
            order = by_number.get(str(r["po_number"]))
            if order is not None:
                tax = r.get("tax_rate")
                line = PoLine(
                    int(r["line_no"]),
                    str(r["description"] or ""),
                    _dec(r["quantity"]),
                    _dec(r["unit_price"]),
                    r.get("sku") or None,
                    r.get("unit") or None,
                    None if tax is None else _dec(tax),
                )
                order.lines.append(line)
                by_line[(order.po_number, line.line_no)] = (order, line)
        for r in received:
            found = by_line.get((str(r["po_number"]), int(r["line_no"])))
            if found is not None:
                found[1].received += _dec(r["quantity"])
                found[0].has_receipts = True
        return cls(by_number.values())

    def find(self, number: str, vendor_id: str | None) -> tuple[PurchaseOrder | None, str]:
        """The PO an invoice's PO reference names, and how it was found.

        Exact on the normalised number first; then the same number up to O/0 and I/1 style
        confusions, accepted only when it is unambiguous (and the vendor's, if known).
        """
        key = normalize_po_number(po_citation(number))
        if not key:
            return None, "none"
        if key in self.by_key:
            return self.by_key[key], "number"
        run_on = self._run_on(key)
        if run_on is not None and vendor_id in (None, run_on.vendor_id):
            return run_on, "number_partial"
        near = self.by_confusable.get(confusable_key(key), [])
        if vendor_id is not None:
            near = [o for o in near if o.vendor_id == vendor_id]
        if len(near) == 1:
            return near[0], "number_confusable"
        partial = self.misread_candidates(number, vendor_id)
        if len(partial) == 1:
            return partial[0], "number_partial"
        return None, "none"

    def _run_on(self, key: str) -> PurchaseOrder | None:
        """The one PO whose number the cited key begins with, at two thirds of its length or
        more: the OCR ran on into the next column ("...0078931269" for ...00789)."""
        found = [
            self.by_key[key[:size]]
            for size in range(len(key) - 1, max(5, (2 * len(key) + 2) // 3) - 1, -1)
            if key[:size] in self.by_key
        ]
        return found[0] if len(found) == 1 else None

    def misread_candidates(self, number: str, vendor_id: str | None) -> list[PurchaseOrder]:
        """The vendor's orders a cited number not found may be a misreading of (cut short,
        run on, one character off); none when the vendor is unknown."""
        key = normalize_po_number(po_citation(number))
        if not key or vendor_id is None:
            return []
        return [o for o in self.by_vendor.get(vendor_id, ()) if _misread_of(key, o)]

    def cited_in(self, references: Iterable[str], vendor_id: str | None) -> PurchaseOrder | None:
        """The one order of the vendor whose number is among a document's references (order-
        like numbers printed anywhere, label or not): equal once normalised, cut short or run
        on (two thirds of it or more), up to O/0-style confusions, or, for a number of eight
        characters or more, one character off. None when no order or several orders are
        cited, or the vendor is unknown."""
        if vendor_id is None or vendor_id not in self.by_vendor:
            return None
        keys = {normalize_po_number(po_citation(r)) for r in references}
        keys.discard("")
        found = {
            o.po_number: o for o in self.by_vendor[vendor_id] if any(_cited_as(k, o) for k in keys)
        }
        return next(iter(found.values())) if len(found) == 1 else None

    def vendor_by_number(self) -> dict[str, str]:
        """Normalised PO number -> vendor id: what the vendor resolver weighs as evidence."""
        return {key: order.vendor_id for key, order in self.by_key.items()}

    def open_orders(self, vendor_id: str) -> list[PurchaseOrder]:
        """The vendor's open purchase orders."""
        return [o for o in self.by_vendor.get(vendor_id, ()) if o.status == "open"]

    def vendor_uses_pos(self, vendor_id: str | None) -> bool:
        """Whether the vendor has purchase orders at all (then an invoice should cite one)."""
        return vendor_id is not None and vendor_id in self.by_vendor


def _misread_of(key: str, order: PurchaseOrder) -> bool:
    """Whether a cited PO key is this order's number cut short or run on by the OCR
    ("PO-FR-2025-00" for PO-FR-2025-00140, "...0008771708" for ...00087), or one character
    off. Only asked among one vendor's orders, and only an unambiguous answer is taken."""
    target = normalize_po_number(order.po_number)
    if _cut_or_run_on(key, target, 4):
        return True
    return len(key) == len(target) >= 6 and Levenshtein.distance(key, target) == 1


def _cut_or_run_on(key: str, target: str, minimum: int) -> bool:
    """One number the other's beginning, at two thirds of its length and `minimum` or more."""
    short, long_ = sorted((key, target), key=len)
    return len(short) >= max(minimum, (2 * len(long_)) // 3) and long_.startswith(short)


def _cited_as(key: str, order: PurchaseOrder) -> bool:
    """Whether a reference key reads as this order's number (see `PoData.cited_in`)."""
    target = normalize_po_number(order.po_number)
    if key == target:
        return True
    if len(target) < 6:
        return False
    if _cut_or_run_on(key, target, 6):
        return True  # cut short by a narrow cell, or run on into the next one
    if len(key) != len(target):
        return False
    folded, folded_target = confusable_key(key), confusable_key(target)
    if folded == folded_target:
        return True
    return len(target) >= 8 and Levenshtein.distance(folded, folded_target) <= 1


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class BilledLedger:
    """Quantity already billed per (PO number, line number), by document.

    Keeping the documents lets a check leave some out: a suspected duplicate is checked
    against the PO as if the document it duplicates had not billed yet, so the duplicate is
    reported once, as a duplicate, not again as over-billing.
    """

    def __init__(
        self, entries: Iterable[Mapping[str, Any]] = (), excluded: frozenset[Any] = frozenset()
    ) -> None:
        self._entries: dict[tuple[str, int], list[tuple[Any, Decimal]]] = defaultdict(list)
        self._excluded = excluded
        for e in entries:
            self.add(
                str(e["po_number"]), int(e["line_no"]), Decimal(e["quantity"]), e.get("document_id")
            )

    def billed(self, po_number: str, line_no: int) -> Decimal:
        """Quantity billed so far on a PO line (by documents not left out)."""
        return sum(
            (q for d, q in self._entries.get((po_number, line_no), ()) if d not in self._excluded),
            ZERO,
        )

    def documents(self, po_number: str, line_no: int) -> list[Any]:
        """The documents that billed a PO line (for the evidence shown to the clerk)."""
        return [
            d
            for d, _ in self._entries.get((po_number, line_no), ())
            if d is not None and d not in self._excluded
        ]

    def add(self, po_number: str, line_no: int, quantity: Decimal, document: Any = None) -> None:
        """Record a billed quantity (the flow does this once an invoice is staged)."""
        self._entries[(po_number, line_no)].append((document, quantity))

    def without(self, documents: Iterable[Any]) -> BilledLedger:
        """A view of this ledger that leaves out the given documents' billing."""
        view = BilledLedger(excluded=self._excluded | frozenset(documents))
        view._entries = self._entries
        return view


class Tolerance(BaseModel):
    """How far an invoice may exceed the PO: a percentage or an absolute amount, either."""

    price_pct: Decimal = Decimal("2")
    price_abs: Decimal = Decimal("0.05")
    qty_pct: Decimal = ZERO
    qty_abs: Decimal = ZERO

    def price_exceeded(self, invoiced: Decimal, ordered: Decimal) -> bool:
        """Whether a unit price is above the PO price by more than the tolerance."""
        return invoiced - ordered > max(ordered * self.price_pct / 100, self.price_abs)

    def qty_exceeded(self, quantity: Decimal, limit: Decimal) -> bool:
        """Whether a quantity is above a limit (ordered or received) by more than tolerance."""
        return quantity - limit > max(limit * self.qty_pct / 100, self.qty_abs)


def tolerance_for(
    settings: Any, vendor_id: str | None, gl_category: str | None = None
) -> Tolerance:
    """The tolerance for a vendor: settings defaults, overridden by `gl:<category>` and then
    by `vendor:<id>` entries of `settings.po_tolerances`."""
    values: dict[str, Any] = {
        "price_pct": getattr(settings, "po_price_tolerance_pct", Decimal("2")),
        "price_abs": getattr(settings, "po_price_tolerance_abs", Decimal("0.05")),
        "qty_pct": getattr(settings, "po_qty_tolerance_pct", ZERO),
        "qty_abs": getattr(settings, "po_qty_tolerance_abs", ZERO),
    }
    overrides = getattr(settings, "po_tolerances", {}) or {}
    for key in (
        f"gl:{gl_category}" if gl_category else None,
        f"vendor:{vendor_id}" if vendor_id else None,
    ):
        if key and key in overrides:
            values.update({k: Decimal(str(v)) for k, v in overrides[key].items()})
    return Tolerance(**values)
