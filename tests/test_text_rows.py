"""Rows of OCR words and the item table among them: when a reading lost the table, and how a
second reading's table replaces it."""

from __future__ import annotations

from extractors.layout import rows
from invoices.records import Word


def _row(y: float, *cells: tuple[float, str]) -> list[Word]:
    words = []
    for x, cell in cells:
        for token in cell.split():
            words.append(Word(text=token, bbox=(x, y, x + 12.0 * len(token), y + 20.0)))
            x += 12.0 * len(token) + 8.0
    return words


HEAD = _row(100, (40, "Description"), (600, "Qty"), (700, "Unit Price"), (900, "Amount"))
TOP = _row(40, (40, "Boreapro LLP"))
ITEMS = [
    _row(140, (40, "Wireless keyboard"), (600, "2"), (700, "69.61"), (900, "139.22")),
    _row(180, (40, "USB-C cable 2m"), (600, "5"), (700, "15.53"), (900, "77.65")),
]
TOTAL = _row(240, (40, "Subtotal"), (900, "216.87"))


def _words(*parts: list[Word]) -> list[Word]:
    return [w for part in parts for w in part]


def test_priced_row_and_percentages() -> None:
    assert rows.priced("Bearing 6204-2RS  12  3.66  20 %  43.92")
    assert not rows.priced("Tax 20%  £293.91")
    assert not rows.priced("Machine maintenance  717.99")


def test_a_complete_table_is_not_lost() -> None:
    assert not rows.table_lost(_words(TOP, HEAD, *ITEMS, TOTAL))


def test_number_columns_dropped_is_a_lost_table() -> None:
    bare = [[w for w in item if w.bbox[0] < 500] for item in ITEMS]
    assert rows.table_lost(_words(TOP, HEAD, *bare, TOTAL))


def test_headerless_amounts_above_the_totals_without_a_complete_row_is_lost() -> None:
    amounts_only = [[w for w in item if not 500 < w.bbox[0] < 880] for item in ITEMS]
    assert rows.table_lost(_words(TOP, *amounts_only, TOTAL))
    assert not rows.table_lost(_words(TOP, *ITEMS, TOTAL)), "complete rows, no header: fine"


def test_a_page_without_totals_is_never_lost() -> None:
    bare = [[w for w in item if w.bbox[0] < 500] for item in ITEMS]
    assert not rows.table_lost(_words(TOP, HEAD, *bare))


def test_table_band_is_taken_from_the_better_reading() -> None:
    bare = [[w for w in item if w.bbox[0] < 500] for item in ITEMS]
    first = _words(TOP, *bare, TOTAL)  # header and number columns lost
    second = _words(_row(40, (40, "B0reapro LLP")), HEAD, *ITEMS, TOTAL)
    merged = rows.with_table_from(first, second)
    assert merged is not None
    texts = [rows.join_line(r) for r in rows.group_lines(merged)]
    assert texts[0].startswith("Boreapro"), "rows outside the table keep the first reading"
    assert sum(rows.priced(t) for t in texts) == 2 and rows.is_header(texts[1])
    assert texts[-1].startswith("Subtotal")
    assert rows.with_table_from(second, first) is None, "a reading with fewer rows never wins"
