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
from invoices.records import FieldValue, Invoice, LineItem, Method, Provenance, ReasonCode
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


def picked_box(
    page_text: str, bbox_text: str, pages: int
) -> tuple[int, tuple[float, float, float, float]] | None:
    """The page and box of the words a clerk clicked (sent as "x0,top,x1,bottom" in points),
    None when none were clicked; BadInput for a box that is not one."""
    if not bbox_text.strip():
        return None
    try:
        page = int(page_text)
        box = tuple(float(x) for x in bbox_text.split(","))
    except ValueError:
        raise BadInput("the box picked on the page is not four numbers") from None
    if not 1 <= page <= max(pages, 1) or len(box) != 4:
        raise BadInput("the box picked on the page is not on a page of this document")
    x0, top, x1, bottom = box
    if not (0 <= x0 < x1 <= 20000 and 0 <= top < bottom <= 20000):
        raise BadInput("the box picked on the page is not a box")
    return page, (x0, top, x1, bottom)


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


# --- the line-item grid -------------------------------------------------------------------
LINE_CELLS = ("description", "quantity", "unit_price", "line_total")
MONEY_CELLS = ("quantity", "unit_price", "line_total")
# decimals each column keeps (invoice_lines: numeric(18, 4) and numeric(18, 2))
_PLACES = {"quantity": 4, "unit_price": 4, "line_total": 2}
_MAX_AMOUNT = Decimal("1e12")


def plain(value: Any) -> str:
    """A Decimal as plain digits without trailing zeros (261.0000 -> 261, never 2E+1)."""
    if value is None:
        return ""
    d = Decimal(str(value))
    text = f"{d:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def money(value: Any) -> str:
    """An amount with at least two decimals (35.8 -> 35.80, 1.2345 stays)."""
    if value is None:
        return ""
    text = plain(value)
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def cell_text(cell: str, value: Any) -> str | None:
    """A grid cell as text: quantities plain, prices and amounts with two decimals at least."""
    if value is None:
        return None
    if cell == "description":
        return str(value)
    return plain(value) if cell == "quantity" else money(value)


def parse_line(form: dict[str, str]) -> dict[str, Any]:
    """The typed cells of one grid row (description, quantity, unit_price, line_total; empty
    cells are None), or BadInput naming the cell and why."""
    values: dict[str, Any] = {}
    for cell in LINE_CELLS:
        text = form.get(cell, "").strip()
        label = cell.replace("_", " ")
        if len(text) > MAX_VALUE_CHARS:
            raise BadInput(f"the {label} is at most {MAX_VALUE_CHARS} characters")
        if not text:
            values[cell] = None
        elif cell == "description":
            values[cell] = text
        else:
            try:
                value = _amount(text)
            except BadInput as exc:
                raise BadInput(f"{label}: {exc}") from None
            if abs(value) >= _MAX_AMOUNT:
                raise BadInput(f"{label}: {text!r} is too large")
            if -value.as_tuple().exponent > _PLACES[cell]:  # type: ignore[operator]
                raise BadInput(f"{label}: at most {_PLACES[cell]} decimals")
            values[cell] = value
    if all(v is None for v in values.values()):
        raise BadInput("the line is empty: give at least a description or an amount")
    return values


def line_columns(line: dict[str, Any] | None) -> dict[str, Any]:
    """The grid cells of a staged line row (all None for no line)."""
    return {c: (line or {}).get(c) for c in LINE_CELLS}


def line_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """The cells that differ: [{cell, old, new, money}] with values as plain text."""
    out = []
    for cell in LINE_CELLS:
        before, after = cell_text(cell, old.get(cell)), cell_text(cell, new.get(cell))
        if before != after:
            out.append({"cell": cell, "old": before, "new": after, "money": cell in MONEY_CELLS})
    return out


def corrected_line(stored: dict[str, Any] | None, values: dict[str, Any]) -> LineItem:
    """The staged line (its `fields` JSON) with the clerk's cells: a changed cell becomes a
    `manual` value (confidence 1, the old cell's page and box kept); others stay as read."""
    line = LineItem.model_validate((stored or {}).get("fields") or {})
    update: dict[str, Any] = {}
    for cell in LINE_CELLS:
        old_fv = getattr(line, cell)
        new = values.get(cell)
        if new is None:
            update[cell] = None
        elif old_fv is None or old_fv.value != new:
            prov = old_fv.provenance if old_fv is not None else None
            update[cell] = FieldValue(value=new, confidence=1.0, provenance=Provenance(
                method=Method.MANUAL, extractor="review", page=prov.page if prov else None,
                bbox=prov.bbox if prov else None, raw=cell_text(cell, new)))
    return line.model_copy(update=update)


def row_check(line: dict[str, Any], tolerance: Decimal) -> dict[str, Any]:
    """quantity x unit price = amount for one row (passed when a value is missing)."""
    q, p, t = (line.get(c) for c in ("quantity", "unit_price", "line_total"))
    if q is None or p is None or t is None:
        return {"ok": True, "text": "not all three given"}
    product = (Decimal(q) * Decimal(p)).quantize(Decimal("0.01"))
    ok = abs(product - Decimal(t)) <= tolerance
    text = f"{plain(q)} × {money(p)} = {product}"
    return {"ok": ok, "text": text if ok else f"{text}, not {money(t)}: does not add up"}


def lines_check(lines: list[dict[str, Any]], subtotal: Any, tolerance: Decimal) -> dict[str, Any]:
    """The line amounts against the subtotal."""
    amounts = [Decimal(ln["line_total"]) for ln in lines if ln.get("line_total") is not None]
    total = sum(amounts, Decimal(0))
    if subtotal is None or not amounts:
        return {"ok": True, "sum": total, "text": "no subtotal or no amounts to compare"}
    ok = abs(total - Decimal(subtotal)) <= tolerance
    return {"ok": ok, "sum": total, "text": f"the subtotal is {subtotal}: "
            + ("the lines add up to it" if ok else "the lines do not add up to it")}
