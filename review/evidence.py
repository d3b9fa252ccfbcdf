"""The evidence panel of the PO reason codes: invoice lines beside the PO lines and the goods
received, with each variance and the tolerance it was checked against.

Pure: the stored match (`matchers.po.PoMatch`, dumped), the PO as the master holds it
(`staging.review.po_evidence`) and the staged invoice lines go in; rows for the template come
out. The limits come from the tolerance the matcher stored with its result (a match staged
before it stored one is shown against the current settings, and says so); whether a limit is
exceeded is decided by `matchers.po_data.Tolerance` itself, so the page and the matcher agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from matchers.po_data import Tolerance, tolerance_for

PO_CODES = (
    "PO_MISSING", "PO_NOT_FOUND", "PO_CLOSED", "PRICE_VARIANCE", "QTY_EXCEEDS_ORDERED",
    "QTY_EXCEEDS_RECEIVED", "LINE_UNMATCHED", "CURRENCY_MISMATCH",
)
ZERO = Decimal(0)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _pct(part: Decimal, whole: Decimal) -> Decimal | None:
    return None if not whole else (100 * part / whole).quantize(Decimal("0.1"))


def _price_check(
    tol: Tolerance, invoiced: Decimal | None, po: Decimal | None
) -> dict[str, Any] | None:
    if invoiced is None or po is None:
        return None
    variance = invoiced - po
    return {"variance": variance, "pct": _pct(variance, po),
            "allowed": max(po * tol.price_pct / 100, tol.price_abs),
            "exceeded": tol.price_exceeded(invoiced, po)}


def _qty_check(
    tol: Tolerance, billed: Decimal | None, limit: Decimal | None
) -> dict[str, Any] | None:
    if billed is None or limit is None:
        return None
    return {"billed": billed, "limit": limit, "variance": billed - limit,
            "allowed": max(limit * tol.qty_pct / 100, tol.qty_abs),
            "exceeded": tol.qty_exceeded(billed, limit)}


def po_panel(
    po_match: dict[str, Any], order: dict[str, Any] | None, lines: list[dict[str, Any]],
    settings: Any, vendor_id: str | None,
) -> dict[str, Any]:
    """Rows for the PO panel: one per invoice line (with its PO line, receipts and the three
    checks: unit price, quantity against ordered, against received), then the PO lines this
    invoice does not bill; the tolerance and where it came from; the order's totals."""
    stored = po_match.get("tolerance")
    tol = Tolerance.model_validate(stored) if stored else tolerance_for(settings, vendor_id)
    by_no = {ln["line_no"]: ln for ln in (order or {}).get("lines", [])}
    staged = {ln["line_no"]: ln for ln in lines}
    rows, seen = [], set()
    for m in po_match.get("lines") or []:
        invoice_line = staged.get(int(m["invoice_line"]) + 1)
        po_line = by_no.get(m.get("po_line_no")) if m.get("po_line_no") is not None else None
        if po_line is not None:
            seen.add(po_line["line_no"])
        quantity, price = _dec(m.get("quantity")), _dec(m.get("unit_price"))
        before = _dec(m.get("billed_before")) or ZERO
        cumulative = None if quantity is None else before + quantity
        ordered = _dec(m.get("ordered")) if m.get("ordered") is not None else (
            _dec(po_line["quantity"]) if po_line else None)
        received = _dec(m.get("received")) if m.get("received") is not None else (
            _dec(po_line["received"]) if po_line else None)
        rows.append({
            "invoice_line": invoice_line, "line_no": int(m["invoice_line"]) + 1,
            "po_line": po_line, "method": m.get("method"), "note": m.get("note") or "",
            "reasons": m.get("reasons") or [],
            "quantity": quantity, "unit_price": price, "billed_before": before,
            "price": _price_check(tol, price, _dec(m.get("po_unit_price"))),
            "ordered": _qty_check(tol, cumulative, ordered),
            "received": _qty_check(tol, cumulative, received),
        })
    unbilled = [ln for no, ln in by_no.items() if no not in seen]
    ordered_value = sum((Decimal(ln["quantity"]) * Decimal(ln["unit_price"])
                         for ln in by_no.values()), ZERO)
    received_value = sum((Decimal(ln["received"]) * Decimal(ln["unit_price"])
                          for ln in by_no.values()), ZERO)
    return {"rows": rows, "unbilled": unbilled, "tolerance": tol, "stored_tolerance": bool(stored),
            "order": order, "ordered_value": ordered_value, "received_value": received_value,
            "reasons": po_match.get("reasons") or [], "method": po_match.get("method"),
            "detail": po_match.get("detail") or "", "po_number": po_match.get("po_number")}
