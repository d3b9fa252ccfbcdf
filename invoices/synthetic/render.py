"""Rendering a planned document as a born-digital PDF in its vendor's layout.

The layout decides where things sit; the locale decides how they read. Long invoices flow
over several pages with the table header repeated and a carried-forward subtotal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from invoices.synthetic.canvas import LEFT, PAGE_H, PAGE_W, RIGHT, Canvas
from invoices.synthetic.identity import format_iban, language
from invoices.synthetic.layouts import LAYOUT_BY_NAME, Layout
from invoices.synthetic.locales import (
    format_amount,
    format_date,
    format_number,
    format_quantity,
    tax_label,
    word,
)
from invoices.synthetic.model import DocSpec, Line

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
BOTTOM = PAGE_H - 95


@dataclass
class Doc:
    """Rendering state of one document."""

    spec: DocSpec
    lay: Layout
    cv: Canvas
    lang: str
    y: float = 0.0

    def w(self, key: str, variant: int | None = None) -> str:
        return word(key, self.lang, self.lay.words if variant is None else variant)

    def money(self, value: Decimal, bare: bool = False) -> str:
        style = "none" if bare else self.lay.currency_style
        return format_amount(value, self.spec.currency, self.spec.locale, style)

    def date(self, value) -> str:
        return format_date(value, self.spec.locale, self.lay.date_style)


def render_pdf(spec: DocSpec) -> tuple[bytes, int]:
    """The born-digital PDF of a document and its page count."""
    lay = LAYOUT_BY_NAME[spec.layout]
    doc = Doc(spec, lay, Canvas(lay.font, lay.size, lay.accent), language(spec.locale))
    doc.cv.add_page()
    _header(doc)
    if spec.document_type in ("invoice", "credit_note"):
        _table(doc)
        _totals(doc)
    else:
        _open_items(doc)
    _closing(doc)
    for page in range(1, doc.cv.page + 1):
        _footer(doc, page)
    return doc.cv.output(), doc.cv.page


def _title(doc: Doc) -> str:
    return doc.w(doc.spec.document_type, doc.lay.words % 2)


def _vendor_lines(doc: Doc) -> list[str]:
    s = doc.spec
    lines = list(s.vendor.address.lines(doc.lang))
    if s.vendor_vat_id:
        vat = s.vendor_vat_id
        if vat.startswith("CHE") and len(vat) >= 12:
            vat = f"CHE-{vat[3:6]}.{vat[6:9]}.{vat[9:12]} {vat[12:]}".strip()
        lines.append(f"{doc.w('vat_id')}: {vat}")
    lines.append(s.vendor_email)
    return lines


def _header(doc: Doc) -> None:
    cv, lay, s = doc.cv, doc.lay, doc.spec
    big = lay.size + 5
    if lay.header == "band":
        cv.box(0, 0, PAGE_W, 72, fill=lay.accent, border=False)
        cv.color((255, 255, 255))
        cv.font(big, bold=True)
        cv.text(LEFT, 44, s.vendor.name)
        cv.text(RIGHT, 44, _title(doc), "R")
        cv.color()
        cv.font(lay.size - 1)
        cv.text(LEFT, 90, " · ".join(_vendor_lines(doc)[:3]))
        cv.text(LEFT, 102, " · ".join(_vendor_lines(doc)[3:]))
        top = 130
    elif lay.header == "center":
        cv.font(big + 2, bold=True)
        cv.text(PAGE_W / 2, 58, s.vendor.name, "C")
        cv.font(lay.size - 1)
        for i, ln in enumerate(_vendor_lines(doc)):
            cv.text(PAGE_W / 2, 74 + i * 11, ln, "C")
        cv.rule(LEFT, 74 + 5 * 11, RIGHT, 0.8)
        cv.font(big, bold=True)
        cv.text(PAGE_W / 2, 74 + 5 * 11 + 24, _title(doc), "C")
        top = 74 + 5 * 11 + 40
    elif lay.header == "footer":
        cv.color(lay.accent)
        cv.font(big + 10, bold=True)
        cv.text(LEFT, 70, _title(doc))
        cv.color()
        cv.font(lay.size + 1, bold=True)
        cv.text(RIGHT, 70, s.vendor.name, "R")
        top = 105
    else:  # left, right, din
        right = lay.header in ("right", "din")
        x, align = (RIGHT, "R") if right else (LEFT, "L")
        cv.font(big, bold=True)
        cv.color(lay.accent)
        cv.text(x, 55, s.vendor.name, align)
        cv.color()
        cv.font(lay.size - 0.5)
        lines = _vendor_lines(doc) if lay.header != "din" else []
        for i, ln in enumerate(lines):
            cv.text(x, 70 + i * 11, ln, align)
        if lay.header == "din":
            cv.font(6.5)
            sender = " · ".join([s.vendor.name, *s.vendor.address.lines(doc.lang)[:2]])
            cv.text(LEFT, 138, sender)
            cv.rule(LEFT, 140, LEFT + cv.width(sender), 0.3)
        if lay.header != "din":
            cv.font(big + 3, bold=True)
            cv.text(LEFT if right else RIGHT, 55, _title(doc), "L" if right else "R")
        top = 70 + len(lines) * 11 + 20
    doc.y = _parties(doc, max(top, 130))
    if lay.header == "din":
        cv.font(big + 3, bold=True)
        cv.text(LEFT, doc.y, _title(doc))
        doc.y += 18


def _meta_pairs(doc: Doc) -> list[tuple[str, str]]:
    s = doc.spec
    pairs: list[tuple[str, str]] = []
    if s.document_type == "credit_note":
        pairs.append((doc.w("credit_number"), s.number or ""))
    elif s.number:
        pairs.append((doc.w("invoice_number"), s.number))
    pairs.append((doc.w("invoice_date"), doc.date(s.issue_date)))
    if s.due_date and s.document_type == "invoice":
        pairs.append((doc.w("due_date"), doc.date(s.due_date)))
    if s.po_number:
        pairs.append((doc.w("po_number"), s.po_number))
    pairs.append((doc.w("customer_no"), s.customer_no))
    if doc.lay.currency_style == "none" or doc.lay.meta == "grid":
        pairs.append((doc.w("currency"), s.currency))
    return pairs


def _parties(doc: Doc, top: float) -> float:
    """Buyer address and document details; returns the y where the body starts."""
    cv, lay, s = doc.cv, doc.lay, doc.spec
    by = top + 25 if lay.header == "din" else top
    cv.font(lay.size - 1, bold=True)
    cv.text(LEFT, by, doc.w("bill_to"))
    cv.font(lay.size)
    buyer = [s.buyer.name, *s.buyer.address.lines(doc.lang)]
    for i, ln in enumerate(buyer):
        cv.text(LEFT, by + 13 + i * 12, ln)
    bottom = by + 13 + len(buyer) * 12
    pairs = _meta_pairs(doc)
    if lay.meta == "grid":
        gy = bottom + 12
        cw = (RIGHT - LEFT) / len(pairs)
        for i, (label, value) in enumerate(pairs):
            cv.box(
                LEFT + i * cw, gy, cw, 30, fill=(238, 238, 238) if lay.table != "plain" else None
            )
            cv.font(lay.size - 2)
            cv.text(LEFT + i * cw + 4, gy + 11, label)
            cv.font(lay.size, bold=True)
            cv.text(LEFT + i * cw + 4, gy + 24, value)
        return gy + 50
    if lay.meta == "left":
        cv.font(lay.size)
        for i, (label, value) in enumerate(pairs):
            cv.text(LEFT, bottom + 16 + i * 12, f"{label}: {value}")
        return bottom + 16 + len(pairs) * 12 + 14
    mx = 340.0
    my = top + (40 if lay.header == "din" else 0)
    for i, (label, value) in enumerate(pairs):
        cv.font(lay.size)
        cv.text(mx, my + i * 13, label + ":")
        cv.font(lay.size, bold=(i == 0))
        cv.text(RIGHT, my + i * 13, value, "R")
    return max(bottom, my + len(pairs) * 13) + 22


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
        "quantity": format_quantity(ln.quantity, loc),
        "unit": ln.unit,
        "unit_price": format_number(ln.unit_price, loc),
        "tax_rate": format_quantity(ln.tax_rate, loc) + " %",
        "line_total": format_number(ln.total, loc),
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


def _table(doc: Doc) -> None:
    cv, lay = doc.cv, doc.lay
    _table_header(doc)
    leading = lay.size + 2.5
    running = Decimal("0.00")
    for i, ln in enumerate(doc.spec.lines):
        desc_w = next(wdt for k, _, wdt in _columns(doc) if k == "description") - 6
        cv.font(lay.size)
        desc = cv.fit(ln.description, desc_w)
        h = len(desc) * leading + 6
        if doc.y + h > BOTTOM - 20:
            _sum_row(doc, doc.w("carried_forward"), running)
            cv.add_page()
            _continuation_header(doc)
            _sum_row(doc, doc.w("brought_forward"), running)
            _table_header(doc)
        if lay.table == "striped" and i % 2 == 1:
            cv.box(LEFT, doc.y, RIGHT - LEFT, h, fill=(240, 240, 240), border=False)
        cv.font(lay.size)
        for key, x, wdt in _columns(doc):
            if key == "description":
                for j, part in enumerate(desc):
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


def _continuation_header(doc: Doc) -> None:
    cv, s = doc.cv, doc.spec
    cv.font(doc.lay.size, bold=True)
    cv.text(LEFT, 50, s.vendor.name)
    cv.font(doc.lay.size)
    cv.text(RIGHT, 50, f"{_title(doc)} {s.number or ''}".strip(), "R")
    cv.rule(LEFT, 56, RIGHT, 0.5)
    doc.y = 70


def _totals(doc: Doc) -> None:
    cv, lay, s = doc.cv, doc.lay, doc.spec
    t = s.totals
    assert t is not None
    rows = [(doc.w("subtotal"), doc.money(t.subtotal), False)]
    country = s.vendor.address.country
    for rate, _base, amount in t.tax_lines:
        rows.append(
            (tax_label(doc.lang, lay.words, rate, s.locale, country), doc.money(amount), False)
        )
    if len(t.tax_lines) == 1 and t.tax != t.tax_lines[0][2]:  # a planted wrong tax amount
        rows[-1] = (rows[-1][0], doc.money(t.tax), False)
    rows.append((doc.w("total"), doc.money(t.total), True))
    if lay.amount_due:
        rows.append((doc.w("amount_due"), doc.money(t.amount_due), True))
    height = len(rows) * (lay.size + 6) + 16
    if doc.y + height > BOTTOM:
        cv.add_page()
        _continuation_header(doc)
    x0 = 320.0
    if lay.totals == "box":
        cv.box(x0 - 8, doc.y - 4, RIGHT - x0 + 8, height - 4, fill=(245, 245, 245))
    y = doc.y + lay.size + 4
    for label, value, bold in rows:
        cv.font(lay.size + (1 if bold else 0), bold=bold)
        cv.text(x0, y, label)
        cv.text(RIGHT - (4 if lay.totals == "box" else 0), y, value, "R")
        y += lay.size + 6
    doc.y = y + 10


def _open_items(doc: Doc) -> None:
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


def _bank_text(doc: Doc) -> str:
    s = doc.spec
    if s.iban:
        return f"IBAN: {format_iban(s.iban)}  BIC: {s.bic or ''}".strip()
    digits = sum(ord(ch) for ch in s.vendor.name) * 7919 % 10**9
    return f"ABA 0210{digits % 100000:05d}  Account {digits:09d}"


def _closing(doc: Doc) -> None:
    cv, lay, s = doc.cv, doc.lay, doc.spec
    lines = []
    if s.document_type == "credit_note" and s.credited_number:
        lines.append(doc.w("credit_ref", 0).format(n=s.credited_number))
    if s.document_type == "invoice":
        lines.append(doc.w("terms").format(d=s.payment_terms_days))
    if lay.header not in ("din", "footer", "band"):
        lines.append(f"{doc.w('bank')}: {_bank_text(doc)}")
    lines.append(doc.w("thanks", 0))
    if doc.y + len(lines) * (lay.size + 4) > BOTTOM:
        cv.add_page()
        _continuation_header(doc)
    cv.font(lay.size)
    for ln in lines:
        cv.text(LEFT, doc.y, ln)
        doc.y += lay.size + 4


def _footer(doc: Doc, page: int) -> None:
    cv, lay, s = doc.cv, doc.lay, doc.spec
    cv.pdf.page = page
    cv.font(lay.size - 2)
    if lay.header in ("din", "footer", "band"):
        y = PAGE_H - 70
        cv.rule(LEFT, y - 10, RIGHT, 0.3)
        addr = s.vendor.address.lines(doc.lang)
        cols = [
            [s.vendor.name, *addr[:2]],
            [f"{doc.w('vat_id')}: {s.vendor_vat_id or '-'}", s.vendor_email],
            [doc.w("bank"), *_bank_text(doc).split("  ")],
        ]
        for i, col in enumerate(cols):
            for j, ln in enumerate(col):
                cv.text(LEFT + i * 170, y + j * 9, ln)
    nb = str(cv.pdf.pages_count)
    cv.text(PAGE_W / 2, PAGE_H - 25, word("page", doc.lang).format(n=page, nb=nb), "C")
