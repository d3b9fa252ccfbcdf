"""Line items stitched across pages, without templates.

A table starts at a header row (two or more column words: description, quantity, price,
amount) and ends at the totals; without any header row, the complete item rows (quantity x
price = amount) right above the totals are the table. A table left open at a page's end
continues on the next page after its repeated header; carried-over subtotals ("Übertrag",
"carried forward") are dropped.
An item row has a description and a line total; quantity and unit price are the numbers whose
product is the line total, read from the row or, where the layout wraps, from the row below.
An item code the row opens with ("BOR-2004", after a position number) is the line's SKU.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from extractors.fields.header import DocumentContext
from extractors.layout.lines import Line
from extractors.layout.rows import (
    COLUMNS,
    TOTALS,
    has_money,
    is_header,
    is_totals,
    priced,
    row_numbers,
)
from extractors.lines.boundary import ends_table, is_charge
from extractors.lines.two_row import RowKind, item_groups, names_below
from extractors.parsing.amounts import AmountMatch
from invoices.records import FieldValue, LineItem, Provenance

_CARRY = re.compile(
    r"übertrag|uebertrag|carried\s*(?:forward|over)|brought\s*forward|report\b|a\s*reporter", re.I
)
_NOT_ITEM = re.compile(
    r"(?:brutto|netto)?preis\s*:|bruttopreis|rabatt|abschlag|discount|zuschlag|"
    r"^\W*(?:gtin|ean|art\.?-?nr|serienummer|serial)\b",
    re.I,
)
_UNIT = re.compile(
    r"^(?:stk\.?|st\.?|stück|pcs?\.?|pieces?|units?|kg|g|l|m|m²|m2|h|std\.?|hrs?|days?|tage?|"
    r"ea|each|x|pauschal|psch|lfm|set|pak|paket|karton|liter|stunden?)$",
    re.I,
)
CENT = Decimal("0.01")
# A line's confidence by its evidence: the row's arithmetic (quantity x unit price = amount),
# the document's (the lines add up to the subtotal), both or neither. Measured on generated
# and labelled documents (share of lines right): both 0.995, row 0.99, sum 0.94, neither 0.49.
BOTH_CLOSE, ROW_ARITHMETIC, LINES_SUM, NO_EVIDENCE = 0.98, 0.93, 0.85, 0.5
# A short word right after a number: its unit ("48 user", "6 pers.", "2 Std.").
_AFTER_NUMBER = re.compile(r"\s?[^\W\d_]{1,6}\.?(?=\s|$)")
# An item code: capitals and digits, both present, maybe in hyphenated parts ("BOR-2004",
# "HAR-B003", "KR3M", "6204-2RS"). Its digits are no quantity, and "-2004" no negative amount.
_CODE = re.compile(
    r"(?<![\w-])(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]+)*(?![\w-])"
)


def _table_rows(lines: list[Line], ctx: DocumentContext) -> list[Line]:
    """The rows inside item tables, across pages, without headers, carry-overs and noise;
    a table ends at the totals block (after its first amount: a second header row may name
    the tax columns)."""
    rows: list[Line] = []
    open_table = inside = amounts = headed = False
    page = None
    for line in lines:
        if line.page != page:
            page = line.page
            inside = open_table
        if is_header(line.text) or (headed and _header_continued(line.text)):
            inside = open_table = headed = True
            continue
        headed = False
        if not inside:
            continue
        if _CARRY.search(line.text):
            continue
        if TOTALS.search(line.text) or (amounts and ends_table(_cells(line), ctx.decimal_sep)):
            inside = open_table = False
            continue
        if sum(ch.isalnum() for ch in line.text) >= 2:  # not a stray mark or a rule's remnant
            rows.append(line)
            amounts = amounts or has_money(_cells(line), ctx.decimal_sep)
    return rows


def _header_continued(text: str) -> bool:
    """Whether a row under a header row is its second row (column words only, no number:
    "Pos  Artikel  Menge  Preis" over "Bezeichnung")."""
    words = [w for w in re.findall(r"[^\W\d_]+", text) if len(w) > 3]
    if not words or re.search(r"\d", text):
        return False
    return all(any(re.match(p, w, re.I) for p in COLUMNS.values()) for w in words)


def _headerless_rows(lines: list[Line], ctx: DocumentContext) -> list[Line]:
    """A table whose header row is missing (not printed, or lost to OCR: white on a dark band):
    the rows right above the first totals row, on its page, up to the first complete item row
    (quantity x unit price = line total) with nothing but complete rows and single rows
    without an amount (a wrapped description, a delivery note) between them."""
    end = next((i for i, x in enumerate(lines) if is_totals(_cells(x), ctx.decimal_sep)), None)
    if end is None:
        return []
    start = i = end
    while i > 0 and lines[i - 1].page == lines[end].page:
        text = _cells(lines[i - 1])
        if priced(text, ctx.decimal_sep):
            start = i = i - 1
        elif i == start and i - 1 > 0 and not has_money(text, ctx.decimal_sep):
            i -= 1  # a row between items, kept only when a complete row lies above it
        else:
            break
    return lines[start:end]


def _cells(line: Line) -> str:
    """The row's text with its cells (segments apart by a column gap) two spaces apart, so that
    a quantity and a price in neighbouring columns ("20", "122.58") never read as one number
    with a space for thousands separator; item codes are blanked out (same length)."""
    text = "  ".join(s.text for s in line.segments) if line.segments else line.text
    return _CODE.sub(lambda m: " " * len(m.group()), text)


def _sku(line: Line) -> str | None:
    """The item code a row opens with, after its position number if any."""
    tokens = line.text.split()[:2]
    if len(tokens) == 2 and not tokens[0].isdigit():
        tokens = tokens[:1]
    return next((t for t in tokens if _CODE.fullmatch(t)), None)


def _numbers(line: Line, ctx: DocumentContext) -> list[AmountMatch]:
    return row_numbers(_cells(line), ctx.decimal_sep)


def _split_qty_price(nums: list[AmountMatch], total: Decimal) -> tuple[Any, Any]:
    """The quantity and unit price among `nums` whose product is the line total.

    Of two readings ("5,5000 x 1" or "1 x 5,5000") the quantity is the number with fewer
    decimals; with as many decimals ("120.25 kg x 13.64") the one printed first.
    """
    pairs = [
        (qty, price)
        for price in nums
        for qty in nums
        if qty is not price
        and qty.value != 0
        and abs((qty.value * price.value).quantize(CENT) - total) <= CENT
    ]
    if not pairs:
        return None, None
    qty, price = min(
        pairs, key=lambda pair: (pair[0].decimals, -pair[1].decimals, pair[0].start > pair[1].start)
    )
    return qty.value, price.value


def _description(line: Line, nums: list[AmountMatch]) -> str:
    return " ".join(_description_words(_cells(line), nums)).strip(" :").lstrip("-").strip()


def _description_words(text: str, nums: list[AmountMatch]) -> list[str]:
    """The words of a row's text without its numbers, units, currency and codes."""
    for num in sorted(nums, key=lambda n: -n.start):
        text = text[: num.start] + " " * (num.end - num.start) + text[num.end :]
    return [
        w
        for w in text.split()
        if not _UNIT.match(w)
        and not re.fullmatch(r"[\W\d]*|%|€|\$|VAT|\(S\)|EUR|[A-Z]*\d+[A-Z\d]*", w)
    ]


def _item(line: Line, after: list[Line], ctx: DocumentContext, used: set[int]) -> LineItem | None:
    nums = _numbers(line, ctx)
    money = [n for n in nums if n.decimals == 2]
    description = _description(line, nums)
    if sum(ch.isalpha() for ch in description) < 3 or _NOT_ITEM.search(line.text):
        return None
    if is_charge(description) or _price_in_words(line, nums):
        return None
    if money:
        total = money[-1]
        qty, price = _split_qty_price([n for n in nums if n is not total], total.value)
        if qty is not None:
            return _line_item(line, description, qty, price, total.value)
    for nxt in after:
        below = _numbers(nxt, ctx)
        # the row below holds only numbers: the layout (or a skewed scan) put the quantity,
        # price and amount of an item (a row opening with its position or item code) under
        # its description
        bare = _opens_item(line) and sum(ch.isalpha() for ch in _description(nxt, below)) < 3
        for cand in reversed([n for n in below if n.decimals == 2]):
            qty, price = _split_qty_price(nums, cand.value)
            if qty is None and bare and not money:
                qty, price = _split_qty_price([n for n in below if n is not cand], cand.value)
            if qty is not None:
                used.add(nxt.index)
                return _line_item(line, description, qty, price, cand.value)
    if not money:
        return None
    total = money[-1]
    same = [n for n in nums if n is not total and n.value == total.value]
    qty = Decimal(1) if same else None
    return _line_item(line, description, qty, total.value if same else None, total.value)


def _opens_item(line: Line) -> bool:
    """Whether a row opens with a position number or an item code (a token with a digit)."""
    first = line.text.split(maxsplit=1)[0] if line.text.strip() else ""
    return any(ch.isdigit() for ch in first)


def _line_item(line: Line, description: str, qty: Any, price: Any, total: Decimal) -> LineItem:
    conf = ROW_ARITHMETIC if qty is not None else NO_EVIDENCE
    prov = Provenance(
        method=line.method,
        extractor="layout-lines",
        version="1",
        page=line.page,
        bbox=line.bbox,
        raw=line.text[:300],
    )

    def fv(value: Any) -> FieldValue[Any] | None:
        return (
            None
            if value is None
            else FieldValue[Any](value=value, confidence=conf, provenance=prov)
        )

    return LineItem(
        description=fv(description),
        sku=fv(_sku(line)),
        quantity=fv(qty),
        unit_price=fv(price),
        line_total=fv(total),
        page=line.page,
    )


def extract_line_items(lines: list[Line], ctx: DocumentContext) -> list[LineItem]:
    """The invoice lines of a document, in order, stitched across pages."""
    rows = _table_rows(lines, ctx) or _headerless_rows(lines, ctx)
    kinds = [_kind(row, ctx) for row in rows]
    if names_below(kinds):
        found = (_named_below(row, texts, ctx) for row, texts in item_groups(rows, kinds))
        return [item for item in found if item is not None]
    items: list[LineItem] = []
    used: set[int] = set()
    for i, row in enumerate(rows):
        if row.index in used:
            continue
        following = [r for r in rows[i + 1 : i + 3] if r.page == row.page]
        item = _item(row, following, ctx, used)
        if item is not None:
            items.append(_continued(item, following, used, ctx))
    return items


def _price_in_words(line: Line, nums: list[AmountMatch]) -> bool:
    """Whether the row's last amount has words after it ("incl. cartridge at 4.90 each") and
    no quantity and price make it: a wrapped description quoting a price, no item (a line's
    amount stands last, in its own column)."""
    money = [n for n in nums if n.decimals == 2]
    if not money or _split_qty_price([n for n in nums if n is not money[-1]], money[-1].value)[0]:
        return False
    rest = _cells(line)[money[-1].end :]
    return any(sum(ch.isalpha() for ch in w) >= 3 for w in _description_words(rest, []))


def _kind(line: Line, ctx: DocumentContext) -> RowKind:
    """What the row holds; an item code (a word with a digit) and a unit after a number
    ("48 user", "6 pers.") are no words here."""
    nums = _numbers(line, ctx)
    text = _cells(line)
    units = [_AFTER_NUMBER.match(text, n.end) for n in nums]
    for unit in filter(None, units):
        text = text[: unit.start()] + " " * len(unit.group()) + text[unit.end() :]
    kept = [w for w in _description_words(text, nums) if not any(ch.isdigit() for ch in w)]
    words = sum(ch.isalpha() for w in kept for ch in w) >= 3
    if any(n.decimals == 2 for n in nums):
        return RowKind.FULL if words else RowKind.NUMBERS
    return RowKind.TEXT if words else RowKind.NOISE


def _named_below(line: Line, texts: list[Line], ctx: DocumentContext) -> LineItem | None:
    """An item of a names-below table: the numbers (and any words) of its first row, the name
    from the text rows under it."""
    name = " ".join(" ".join(s.text for s in t.segments) if t.segments else t.text for t in texts)
    nums = _numbers(line, ctx)
    own = _description(line, nums) if _kind(line, ctx) is RowKind.FULL else ""
    description = " ".join(filter(None, (own, name.strip(" -|_"))))
    if not description or is_charge(description) or _NOT_ITEM.search(line.text):
        return None
    qty, price, total = _priced_as(nums)
    return None if total is None else _line_item(line, description, qty, price, total)


def _priced_as(nums: list[AmountMatch]) -> tuple[Any, Any, Decimal | None]:
    """Quantity, unit price and line total of a row's numbers: the last money amount is the
    total, two other numbers whose product it is are quantity and price; without them a price
    printed twice reads as one piece."""
    money = [n for n in nums if n.decimals == 2]
    if not money:
        return None, None, None
    total = money[-1]
    qty, price = _split_qty_price([n for n in nums if n is not total], total.value)
    if qty is None and any(n is not total and n.value == total.value for n in nums):
        qty, price = Decimal(1), total.value
    return qty, price, total.value


def _continued(
    item: LineItem, following: list[Line], used: set[int], ctx: DocumentContext
) -> LineItem:
    """A description wrapped onto the next row ("Beamer-" / "Deckenhalterung") joined back;
    a wrapped row may quote a price ("Ersatzkartusche je 4,90 enthalten")."""
    nxt = next((r for r in following if r.index not in used), None)
    if item.description is None or nxt is None or following.index(nxt) != 0:
        return item
    text = nxt.text.strip()
    quoted = _price_in_words(nxt, _numbers(nxt, ctx))
    if (re.search(r"\d", text) and not quoted) or len(text) > 60 or ":" in text:
        return item
    if _NOT_ITEM.search(text) or is_charge(text) or ends_table(text, ctx.decimal_sep):
        return item
    head = item.description.value
    joined = f"{head}{text}" if head.endswith("-") else f"{head} {text}"
    used.add(nxt.index)
    return item.model_copy(
        update={"description": item.description.model_copy(update={"value": joined})}
    )


def with_sum_evidence(items: list[LineItem], lines_sum_close: bool) -> list[LineItem]:
    """The lines with their confidence raised when they add up to the document's subtotal
    (`lines_sum_close`): every line's amount is then confirmed by a total read apart from it."""
    if not lines_sum_close:
        return items
    return [_confirmed(item) for item in items]


def _confirmed(item: LineItem) -> LineItem:
    conf = BOTH_CLOSE if item.quantity is not None else LINES_SUM
    update = {
        name: fv.model_copy(update={"confidence": conf})
        for name in ("description", "sku", "quantity", "unit_price", "line_total")
        if (fv := getattr(item, name)) is not None
    }
    return item.model_copy(update=update)


def credit_lines_positive(items: list[LineItem]) -> list[LineItem]:
    """A credit note's lines as EN 16931 records them: quantities, prices and amounts positive
    (the document type gives the direction). Applied only when the lines' amounts lean
    negative, the way a credit note printing "-10 x 10,00 = -100,00" reads."""
    amounts = [i.line_total.value for i in items if i.line_total is not None]
    if not amounts or sum(amounts, Decimal(0)) >= 0:
        return items
    return [_magnitudes(item) for item in items]


def _magnitudes(item: LineItem) -> LineItem:
    update = {
        name: fv.model_copy(update={"value": -fv.value})
        for name in ("quantity", "unit_price", "line_total")
        if (fv := getattr(item, name)) is not None and fv.value < 0
    }
    return item.model_copy(update=update)
