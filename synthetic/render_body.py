"""The body of a document: the line-item table, the totals, the open items of a statement."""

from __future__ import annotations

from decimal import Decimal

from synthetic.canvas import LEFT, RIGHT
from synthetic.drawing import BOTTOM, Doc, continuation_header
from synthetic.families import (
    PREPAID_WORDS,
    ROUNDING_WORDS,
    TABLE_HEADS,
    US_TABLE_HEADS,
    family_word,
)
from synthetic.locales import format_number, format_quantity, tax_label
from synthetic.model import Line

COL_WIDTH = {
    "pos": 26,
    "sku": 62,
    "quantity": 42,
    "unit": 36,
    "unit_price": 66,
    "tax_rate": 40,
    "line_total": 72,
}
NUMERIC = {"quantity", "unit_price", "tax_rate", "line_total"}


def _columns(doc: Doc) -> list[tuple[str, float, float]]:
    """(key, x, width) per column; the description takes the remaining width."""
    keys = doc.lay.columns
    fixed = sum(COL_WIDTH[k] for k in keys if k != "description")
    x, cols = LEFT, []
    for k in keys:
        wdt = COL_WIDTH.get(k, RIGHT - LEFT - fixed)
        cols.append((k, x, wdt))
        x += wdt
    return cols


def _cell_text(doc: Doc, key: str, ln: Line) -> str:
    loc = doc.spec.locale
    return {
        "pos": str(ln.line_no),
        "sku": ln.sku,
        "description": ln.description,
        "quantity": format_quantity(doc.signed(ln.quantity), loc),
        "unit": ln.unit,
        "unit_price": format_number(ln.unit_price, loc),
        "tax_rate": format_quantity(ln.tax_rate, loc) + " %",
        "line_total": format_number(doc.signed(ln.total), loc),
    }[key]


def _table_header(doc: Doc) -> None:
    cv, lay = doc.cv, doc.lay
    cols = _columns(doc)
    h = lay.size + 9
    if lay.table in ("striped", "filled"):
        r, g, b = lay.accent
        fill = (
            lay.accent
            if lay.table == "striped"
            else (min(255, r + 150), min(255, g + 150), min(255, b + 150))
        )
        cv.box(LEFT, doc.y, RIGHT - LEFT, h, fill=fill, border=False)
    cv.color((255, 255, 255) if lay.table == "striped" else (0, 0, 0))
    for key, x, wdt in cols:
        label = doc.w(key)
        size = lay.size
        cv.font(size, bold=True)
        while cv.width(label) > wdt - 5 and size > 5:  # a long header word in a narrow column
            size -= 0.5
            cv.font(size, bold=True)
        if key in NUMERIC:
            cv.text(x + wdt - 3, doc.y + h - 6, label, "R")
        else:
            cv.text(x + 3, doc.y + h - 6, label)
    cv.color()
    if lay.table == "grid":
        _grid(doc, doc.y, h)
    elif lay.table in ("rules", "plain"):
        cv.rule(LEFT, doc.y + h, RIGHT, 0.8, dashed=lay.table == "plain")
    doc.y += h


def _grid(doc: Doc, y: float, h: float) -> None:
    cv = doc.cv
    cv.box(LEFT, y, RIGHT - LEFT, h)
    for _, x, _ in _columns(doc)[1:]:
        cv.vline(x, y, y + h)


def _sum_row(doc: Doc, label: str, amount: Decimal) -> None:
    cv, lay = doc.cv, doc.lay
    h = lay.size + 8
    cv.font(lay.size, bold=True)
    cv.text(LEFT + 3, doc.y + h - 5, label)
    cv.text(RIGHT - 3, doc.y + h - 5, format_number(amount, doc.spec.locale), "R")
    cv.rule(LEFT, doc.y + h + 1, RIGHT, 0.3)
    doc.y += h + 4


def table(doc: Doc) -> None:
    """The line-item table, flowing over pages with carried-forward subtotals."""
    cv, lay = doc.cv, doc.lay
    _table_header(doc)
    leading = lay.size + 2.5
    running = Decimal("0.00")
    two_rows = doc.has("two_row_items")
    for i, ln in enumerate(doc.spec.lines):
        desc_x, desc_w = next((x, wdt) for k, x, wdt in _columns(doc) if k == "description")
        cv.font(lay.size)
        # two rows: the code and the numbers first, the description under them to the right edge
        desc = cv.fit(ln.description, (RIGHT - desc_x if two_rows else desc_w) - 6)
        h = (len(desc) + two_rows) * leading + 6
        if doc.y + h > BOTTOM - 20:
            _sum_row(doc, doc.w("carried_forward"), running)
            cv.add_page()
            continuation_header(doc)
            _sum_row(doc, doc.w("brought_forward"), running)
            _table_header(doc)
        if lay.table == "striped" and i % 2 == 1:
            cv.box(LEFT, doc.y, RIGHT - LEFT, h, fill=(240, 240, 240), border=False)
        cv.font(lay.size)
        for key, x, wdt in _columns(doc):
            if key == "description":
                for j, part in enumerate(desc, start=int(two_rows)):
                    cv.text(x + 3, doc.y + 3 + lay.size + j * leading, part)
            elif key in NUMERIC:
                cv.text(x + wdt - 3, doc.y + 3 + lay.size, _cell_text(doc, key, ln), "R")
            else:
                cv.text(x + 3, doc.y + 3 + lay.size, _cell_text(doc, key, ln))
        if lay.table == "grid":
            _grid(doc, doc.y, h)
        doc.y += h
        running += ln.total
    if lay.table in ("rules", "filled", "plain"):
        cv.rule(LEFT, doc.y + 2, RIGHT, 0.8, dashed=lay.table == "plain")
    doc.y += 14


def _total_rows(doc: Doc) -> list[tuple[str, str, bool]]:
    """The labelled rows of the totals: (label, amount, bold)."""
    lay, s = doc.lay, doc.spec
    t = s.totals
    assert t is not None
    rows = []
    if not doc.has("totals_table"):  # a totals table states these in its columns
        rows.append((doc.w("subtotal"), doc.money(doc.signed(t.subtotal)), False))
        country = s.vendor.address.country
        for rate, _base, amount in t.tax_lines:
            label = tax_label(doc.lang, lay.words, rate, s.locale, country)
            rows.append((label, doc.money(doc.signed(amount)), False))
        rows.append((doc.w("total"), doc.money(doc.signed(t.total)), True))
    if t.prepaid and doc.has("prepayment"):  # the amount paid, printed as it was received
        rows.append((family_word(PREPAID_WORDS, doc.lang, lay.words), doc.money(t.prepaid), False))
    elif t.prepaid:
        rows.append((doc.w("prepaid"), doc.money(-t.prepaid), False))
    if t.rounding:
        label = family_word(ROUNDING_WORDS, doc.lang, lay.words)
        rows.append((label, doc.money(t.rounding), False))
    if lay.amount_due or t.prepaid or t.rounding:
        rows.append((doc.w("amount_due"), doc.money(doc.signed(t.amount_due)), True))
    return rows


def totals(doc: Doc) -> None:
    """Subtotal, tax per rate, total, any deposit, any rounding and the amount due."""
    cv, lay = doc.cv, doc.lay
    rows = _total_rows(doc)
    table_rows = len(doc.spec.totals.tax_lines) + 2 if doc.has("totals_table") else 0
    height = (len(rows) + table_rows) * (lay.size + 6) + 16
    if doc.y + height > BOTTOM:
        cv.add_page()
        continuation_header(doc)
    if table_rows:
        _totals_table(doc)
    x0 = 320.0
    if lay.totals == "box" and rows:
        box_h = len(rows) * (lay.size + 6) + 12
        cv.box(x0 - 8, doc.y - 4, RIGHT - x0 + 8, box_h, fill=(245, 245, 245))
    y = doc.y + lay.size + 4
    for label, value, bold in rows:
        cv.font(lay.size + (1 if bold else 0), bold=bold)
        cv.text(x0, y, label)
        cv.text(RIGHT - (4 if lay.totals == "box" else 0), y, value, "R")
        y += lay.size + 6
    doc.y = y + 10


TABLE_X = (230.0, 360.0, 450.0, RIGHT)  # the rate column's left edge, the amounts' right edges


def _totals_table(doc: Doc) -> None:
    """Net, tax and gross per tax rate under column heads, then an unlabelled sum row."""
    cv, lay, s = doc.cv, doc.lay, doc.spec
    t = s.totals
    assert t is not None
    heads = US_TABLE_HEADS if s.vendor.address.country == "US" else TABLE_HEADS[doc.lang]
    step = lay.size + 6
    y = doc.y + lay.size
    cv.font(lay.size, bold=True)
    cv.text(TABLE_X[0], y, heads[0])
    for head, x in zip(heads[1:], TABLE_X[1:], strict=True):
        cv.text(x, y, head, "R")
    cv.rule(TABLE_X[0], y + 3, RIGHT, 0.5)
    cv.font(lay.size)
    for rate, base, amount in t.tax_lines:
        y += step
        cv.text(TABLE_X[0], y, format_quantity(rate, s.locale) + " %")
        for value, x in zip((base, amount, base + amount), TABLE_X[1:], strict=True):
            cv.text(x, y, format_number(doc.signed(value), s.locale), "R")
    cv.rule(TABLE_X[1] - 60, y + 4, RIGHT, 0.5)
    y += step
    cv.font(lay.size, bold=True)
    sums = (t.subtotal, t.tax, t.total)
    for value, x in zip(sums, TABLE_X[1:], strict=True):
        amount = doc.signed(value)  # the gross sum with the currency, as the page's total
        cv.text(x, y, doc.money(amount) if x == RIGHT else format_number(amount, s.locale), "R")
    doc.y = y + 12


def open_items(doc: Doc) -> None:
    """The body of a statement or a reminder: open invoices and the balance."""
    cv, lay, s = doc.cv, doc.lay, doc.spec
    intro = (
        doc.w("statement_intro", 0).format(d=doc.date(s.issue_date))
        if s.document_type == "statement"
        else doc.w("reminder_intro", 0)
    )
    cv.font(lay.size)
    for line in cv.fit(intro, RIGHT - LEFT):
        cv.text(LEFT, doc.y, line)
        doc.y += lay.size + 3
    doc.y += 8
    cv.font(lay.size, bold=True)
    heads = [
        (doc.w("invoice_number"), LEFT),
        (doc.w("invoice_date"), 220.0),
        (doc.w("due_date"), 340.0),
    ]
    for label, x in heads:
        cv.text(x, doc.y, label)
    cv.text(RIGHT, doc.y, doc.w("line_total"), "R")
    cv.rule(LEFT, doc.y + 4, RIGHT)
    doc.y += 18
    cv.font(lay.size)
    total = Decimal("0.00")
    for item in s.open_items:
        cv.text(LEFT, doc.y, item.number)
        cv.text(220, doc.y, doc.date(item.invoice_date))
        cv.text(340, doc.y, doc.date(item.due_date))
        cv.text(RIGHT, doc.y, doc.money(item.amount), "R")
        total += item.amount
        doc.y += lay.size + 5
    if s.document_type == "reminder" and s.reminder_fee:
        cv.text(LEFT, doc.y, doc.w("fee"))
        cv.text(RIGHT, doc.y, doc.money(s.reminder_fee), "R")
        total += s.reminder_fee
        doc.y += lay.size + 5
    cv.rule(320, doc.y - 4, RIGHT)
    cv.font(lay.size + 1, bold=True)
    label = doc.w("balance") if s.document_type == "statement" else doc.w("fee_total")
    cv.text(320, doc.y + 8, label)
    cv.text(RIGHT, doc.y + 8, doc.money(total), "R")
    doc.y += 30
