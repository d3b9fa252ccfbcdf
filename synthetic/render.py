"""Rendering a planned document as a born-digital PDF in its vendor's layout.

The layout decides where things sit; the locale decides how they read. Long invoices flow
over several pages with the table header repeated and a carried-forward subtotal.
"""

from __future__ import annotations

from dataclasses import replace

from synthetic.canvas import FIXED_DATE, LEFT, PAGE_H, PAGE_W, RIGHT, Canvas
from synthetic.drawing import BOTTOM, Doc, continuation_header, title
from synthetic.einvoice import TYPE_CODES, attachment_name, cii_xml
from synthetic.identity import format_iban, language
from synthetic.layouts import LAYOUT_BY_NAME
from synthetic.locales import word
from synthetic.model import DocSpec
from synthetic.render_body import open_items, table, totals


def render_pdf(spec: DocSpec) -> tuple[bytes, int]:
    """The born-digital PDF of a document and its page count."""
    # the template, in the vendor's wording and colour
    lay = replace(LAYOUT_BY_NAME[spec.layout], words=spec.words, accent=spec.accent)
    doc = Doc(spec, lay, Canvas(lay.font, lay.size, lay.accent), language(spec.locale))
    doc.cv.add_page()
    _header(doc)
    if spec.document_type in ("invoice", "credit_note"):
        table(doc)
        totals(doc)
    else:
        open_items(doc)
    _closing(doc)
    for page in range(1, doc.cv.page + 1):
        _footer(doc, page)
    if spec.einvoice and spec.document_type in TYPE_CODES:
        doc.cv.pdf.embed_file(
            bytes=cii_xml(spec),
            basename=attachment_name(spec),
            mime_type="text/xml",
            desc="Factur-X / ZUGFeRD invoice data",
            creation_date=FIXED_DATE,
            modification_date=FIXED_DATE,
        )
    return doc.cv.output(), doc.cv.page


NAME_TITLE_GAP = 20.0  # points between a vendor name and a title printed on its line
GRID_PAD = 4.0  # points of a grid cell's text from its borders


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


def _band_header(doc: Doc, big: float) -> float:
    cv, lay = doc.cv, doc.lay
    cv.box(0, 0, PAGE_W, 72, fill=lay.accent, border=False)
    cv.color((255, 255, 255))
    cv.font(big, bold=True)
    room = RIGHT - LEFT - cv.width(title(doc)) - NAME_TITLE_GAP
    cv.fitting_size(doc.spec.vendor.name, room, big, bold=True)
    cv.text(LEFT, 44, doc.spec.vendor.name)
    cv.font(big, bold=True)
    cv.text(RIGHT, 44, title(doc), "R")
    cv.color()
    cv.font(lay.size - 1)
    cv.text(LEFT, 90, " · ".join(_vendor_lines(doc)[:3]))
    cv.text(LEFT, 102, " · ".join(_vendor_lines(doc)[3:]))
    return 130


def _centred_header(doc: Doc, big: float) -> float:
    cv = doc.cv
    cv.font(big + 2, bold=True)
    cv.text(PAGE_W / 2, 58, doc.spec.vendor.name, "C")
    cv.font(doc.lay.size - 1)
    for i, ln in enumerate(_vendor_lines(doc)):
        cv.text(PAGE_W / 2, 74 + i * 11, ln, "C")
    cv.rule(LEFT, 129, RIGHT, 0.8)
    cv.font(big, bold=True)
    cv.text(PAGE_W / 2, 153, title(doc), "C")
    return 169


def _title_only_header(doc: Doc, big: float) -> float:
    """The vendor's identity lives in the footer; the page opens with a big title."""
    cv = doc.cv
    cv.color(doc.lay.accent)
    cv.font(big + 10, bold=True)
    cv.text(LEFT, 70, title(doc))
    room = RIGHT - LEFT - cv.width(title(doc)) - NAME_TITLE_GAP
    cv.color()
    cv.fitting_size(doc.spec.vendor.name, room, doc.lay.size + 1, bold=True)
    cv.text(RIGHT, 70, doc.spec.vendor.name, "R")
    return 105


def _side_header(doc: Doc, big: float) -> float:
    """Vendor block on the left or the right; DIN 5008 adds a sender line over the window."""
    cv, lay, s = doc.cv, doc.lay, doc.spec
    right = lay.header in ("right", "din")
    x, align = (RIGHT, "R") if right else (LEFT, "L")
    room = RIGHT - LEFT
    if lay.header != "din":  # the title shares the name's line
        cv.font(big + 3, bold=True)
        room -= cv.width(title(doc)) + NAME_TITLE_GAP
    cv.fitting_size(s.vendor.name, room, big, bold=True)
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
    else:
        cv.font(big + 3, bold=True)
        cv.text(LEFT if right else RIGHT, 55, title(doc), "L" if right else "R")
    return 70 + len(lines) * 11 + 20


HEADERS = {"band": _band_header, "center": _centred_header, "footer": _title_only_header}


def _header(doc: Doc) -> None:
    big = doc.lay.size + 5
    top = HEADERS.get(doc.lay.header, _side_header)(doc, big)
    doc.y = _parties(doc, max(top, 130))
    if doc.lay.header == "din":  # the title sits under the address window
        doc.cv.font(big + 3, bold=True)
        doc.cv.text(LEFT, doc.y, title(doc))
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
    if not doc.has("unheaded_parties"):
        cv.font(lay.size - 1, bold=True)
        cv.text(LEFT, by, doc.w("bill_to"))
    cv.font(lay.size)
    buyer = [s.buyer.name, *s.buyer.address.lines(doc.lang)]
    for i, ln in enumerate(buyer):
        cv.text(LEFT, by + 13 + i * 12, ln)
    bottom = by + 13 + len(buyer) * 12
    pairs = _meta_pairs(doc)
    captions = doc.has("label_variants")  # each label printed under its value
    if lay.meta == "grid":
        gy = bottom + 12
        x = LEFT
        label_y, value_y = (gy + 24, gy + 12) if captions else (gy + 11, gy + 24)
        for (label, value), cw in zip(pairs, _grid_widths(doc, pairs), strict=True):
            cv.box(x, gy, cw, 30, fill=(238, 238, 238) if lay.table != "plain" else None)
            cv.font(lay.size - 2)
            cv.text(x + 4, label_y, label)
            cv.fitting_size(value, cw - 2 * GRID_PAD, lay.size, bold=True)
            cv.text(x + 4, value_y, value)
            x += cw
        return gy + 50
    if captions and lay.meta == "right":
        return _captioned_pairs(doc, pairs, top + (40 if lay.header == "din" else 0), bottom)
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


def _captioned_pairs(doc: Doc, pairs: list[tuple[str, str]], my: float, bottom: float) -> float:
    """Document details as values in a right-hand column, each with its label in small print
    under it; returns the y where the body starts."""
    cv, lay = doc.cv, doc.lay
    step = 2 * lay.size + 5
    for i, (label, value) in enumerate(pairs):
        cv.font(lay.size, bold=True)
        cv.text(RIGHT, my + i * step, value, "R")
        cv.font(lay.size - 2)
        cv.text(RIGHT, my + i * step + lay.size + 1, label, "R")
    return max(bottom, my + len(pairs) * step) + 22


def _grid_widths(doc: Doc, pairs: list[tuple[str, str]]) -> list[float]:
    """Cells of equal width, unless a value would run into its neighbour: then each cell is
    as wide as its text plus an equal share of the room left (values that still do not fit
    are set smaller)."""
    cv, size, total = doc.cv, doc.lay.size, RIGHT - LEFT
    needed = []
    for label, value in pairs:
        cv.font(size - 2)
        label_width = cv.width(label)
        cv.font(size, bold=True)
        needed.append(max(label_width, cv.width(value)) + 2 * GRID_PAD)
    equal = total / len(pairs)
    if max(needed) <= equal:
        return [equal] * len(pairs)
    spare = max(0.0, total - sum(needed)) / len(pairs)
    scale = min(1.0, total / sum(needed))
    return [n * scale + spare for n in needed]


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
        continuation_header(doc)
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
