"""Visual rows of words and the item table among them, before any field is extracted.

OCR uses this to notice a reading that lost an item table's columns (tesseract's page layout
analysis drops or scatters the quantity and price columns of some ruled or slightly skewed
tables) and to take the table from a second reading that holds more of it. The line-item
extractor shares the table vocabulary (column words, totals rows).
"""

from __future__ import annotations

import re
import statistics
from decimal import Decimal
from typing import NamedTuple

from extractors.parsing.amounts import AmountMatch, detect_decimal_separator, find_amounts
from invoices.records import Word

CENT = Decimal("0.01")

# Column words of an item table's header row, by column.
COLUMNS = {
    "description": r"beschreibung|bezeichnung|artikel\w*|description|item|produkt|product|"
    r"d[ée]signation|libell[ée]|omschrijving|leistung|name|towar",
    "quantity": r"menge|qty|quantity|anzahl|aantal|quantit[ée]|qt[ée]|ilo[śs][ćc]|stunden|hours",
    "price": r"einzelpreis|preis|unit\s*price|price|rate|prix|prijs|cena|tarif",
    "amount": r"betrag|amount|total|summe|gesamt|montant|nettobetrag|entgelt|bedrag|warto[śs][ćc]",
}
# A row that ends an item table: the totals block, tax, payment terms.
TOTALS = re.compile(
    r"^(?:\W*)(?:summe|zwischensumme|gesamt|total|sub[\s-]?total|rechnungs(?:summe|betrag)|"
    r"positionssumme|nettobetrag|netto\b|umsatzsteuer\w*|steuer\w*|mwst|vat\b|tax\b|"
    r"zahlbetrag|amount\s*due|montant|sous[\s-]total|totaal|exclusief|belegsummen|"
    r"zahlungsbedingungen|bank|payment|net\s+amount)",
    re.I,
)
_LETTER = re.compile(r"[^\W\d_]")
MAX_GAP_SPACES = 12


def group_lines(words: list[Word]) -> list[list[Word]]:
    """Words grouped into visual lines, each sorted left to right, lines top to bottom.

    Words are taken by their vertical centre; a word joins the current line when it overlaps
    the line's band (the median top and bottom of its words) by more than half its height.
    """
    ordered = sorted(words, key=lambda w: (_centre(w), w.bbox[0]))
    lines: list[list[Word]] = []
    band: tuple[float, float] | None = None
    for word in ordered:
        top, bottom = word.bbox[1], word.bbox[3]
        if band is not None:
            overlap = min(bottom, band[1]) - max(top, band[0])
            if overlap > 0.5 * min(bottom - top, band[1] - band[0]):
                lines[-1].append(word)
                band = (
                    statistics.median(w.bbox[1] for w in lines[-1]),
                    statistics.median(w.bbox[3] for w in lines[-1]),
                )
                continue
        lines.append([word])
        band = (top, bottom)
    return [sorted(line, key=lambda w: w.bbox[0]) for line in lines]


def join_line(line: list[Word]) -> str:
    """A visual line's text: a gap wider than about one and a half character widths becomes
    two or more spaces (roughly one per character width), so columns stay apart."""
    widths = [
        (w.bbox[2] - w.bbox[0]) / len(w.text) for w in line if w.text and w.bbox[2] > w.bbox[0]
    ]
    char_width = statistics.median(widths) if widths else 5.0
    parts: list[str] = []
    previous: Word | None = None
    for word in line:
        if previous is not None:
            gap = word.bbox[0] - previous.bbox[2]
            if gap <= 1.5 * char_width:
                parts.append(" ")
            else:
                parts.append(" " * min(MAX_GAP_SPACES, max(2, round(gap / char_width))))
        parts.append(word.text)
        previous = word
    return "".join(parts)


def header_columns(text: str) -> set[str]:
    """The item-table columns whose header words `text` contains."""
    return {name for name, p in COLUMNS.items() if re.search(rf"(?<![\w]){p}", text, re.I)}


def is_header(text: str) -> bool:
    """A table header row: two or more column words and at most one number."""
    return len(header_columns(text)) >= 2 and len(find_amounts(text)) <= 1


def is_totals(text: str, decimal_sep: str | None = None) -> bool:
    """A row of the totals block (subtotal, tax, total...) with its amount."""
    return bool(TOTALS.search(text)) and has_money(text, decimal_sep)


def priced(text: str, decimal_sep: str | None = None) -> bool:
    """Whether a row reads as a complete item: a money amount (two decimals) that two other
    numbers of the row multiply to, within a cent (quantity x unit price = line total)."""
    nums = row_numbers(text, decimal_sep)
    for total in nums:
        if total.decimals != 2:
            continue
        others = [n for n in nums if n is not total and n.value != 0]
        for i, a in enumerate(others):
            for b in others[i + 1 :]:
                if abs((a.value * b.value).quantize(CENT) - total.value) <= CENT:
                    return True
    return False


def table_lost(words: list[Word]) -> bool:
    """Whether a page's reading lost (part of) an item table it evidently has.

    Evidence of a table: a header row, or else a totals row (with its amount) and money amounts
    above it. It was lost when no row between the header (or the page top) and the totals reads
    as a complete item, or some row there has a description and an amount but no quantity and
    price that make it although the header names a quantity or price column.
    """
    texts = [join_line(row) for row in group_lines(words)]
    sep = detect_decimal_separator("\n".join(texts))
    header = next((i for i, t in enumerate(texts) if is_header(t)), None)
    start = 0 if header is None else header + 1
    end = next((i for i in range(start, len(texts)) if is_totals(texts[i], sep)), None)
    if end is None:
        return False
    body = [t for t in texts[start:end] if len(_LETTER.findall(t)) >= 3 or row_numbers(t, sep)]
    complete = [t for t in body if priced(t, sep)]
    if header is None:
        return not complete and any(has_money(t, sep) for t in body)
    if not complete:
        return bool(body)
    promised = header_columns(texts[header]) & {"quantity", "price"}
    unpriced = [t for t in body if has_money(t, sep) and _LETTER.search(t) and t not in complete]
    return bool(promised and unpriced)


def with_table_from(first: list[Word], second: list[Word]) -> list[Word] | None:
    """`first` with the band of rows holding the item table taken from `second` (a reading of
    the same image), when `second` has more complete item rows; else None.

    The band runs from the header row just above the first complete row of `second` (or that
    row) down to the totals after its last complete row; words of `first` whose centre lies
    in it give way.
    """
    mine, theirs = _Table.of(first), _Table.of(second)
    if len(theirs.complete) <= len(mine.complete):
        return None
    rows, texts, complete, header = theirs.rows, theirs.texts, theirs.complete, theirs.header
    top_row = header if header is not None and complete[0] - header <= 2 else complete[0]
    after = range(complete[-1] + 1, len(rows))
    end = next((i for i in after if is_totals(texts[i], theirs.sep)), complete[-1] + 1)
    top = min(w.bbox[1] for w in rows[top_row])
    bottom = max(w.bbox[3] for w in rows[end - 1])
    kept = [w for w in first if not top <= _centre(w) <= bottom]
    taken = [w for w in second if top <= _centre(w) <= bottom]
    return sorted(kept + taken, key=lambda w: (_centre(w), w.bbox[0]))


class _Table(NamedTuple):
    """A reading's rows, their texts and decimal separator, the indexes of its complete item
    rows and of the last header row above the first of them."""

    rows: list[list[Word]]
    texts: list[str]
    sep: str | None
    complete: list[int]
    header: int | None

    @classmethod
    def of(cls, words: list[Word]) -> _Table:
        rows = group_lines(words)
        texts = [join_line(row) for row in rows]
        sep = detect_decimal_separator("\n".join(texts))
        complete = [i for i, t in enumerate(texts) if priced(t, sep)]
        first = complete[0] if complete else len(texts)
        header = next((i for i in range(first - 1, -1, -1) if is_header(texts[i])), None)
        return cls(rows, texts, sep, complete, header)


def row_numbers(text: str, decimal_sep: str | None = None) -> list[AmountMatch]:
    """The numbers of a row, without percentages (a tax rate is no quantity)."""
    return [
        a
        for a in find_amounts(text, decimal_sep)
        if not text[a.end : a.end + 2].strip().startswith("%")
    ]


def has_money(text: str, decimal_sep: str | None = None) -> bool:
    """Whether `text` holds a money amount (a number with two decimals, not a percentage)."""
    return any(n.decimals == 2 for n in row_numbers(text, decimal_sep))


def _centre(word: Word) -> float:
    return (word.bbox[1] + word.bbox[3]) / 2
