"""Items printed on two (or more) rows: the code and the numbers first, the name under them.

Each table row is one of four kinds: NUMBERS (an amount, but no words: a position, an item
code, quantity, price, amount), FULL (words and an amount), TEXT (words, no amount) and NOISE
(neither: a rule's remnant, a stray mark). The layout prints an item's name under its numbers
when the table opens with a numbers row and a text row follows it: the pattern's period is
then a numbers row and the text rows up to the next item, and each text row belongs to the
numbers row ABOVE it. (The other way round, a name row with its numbers under it, the table
opens with a text row; items.py reads that layout.) The last item's name takes no more rows
than the longest name above it, so a note after the items does not become part of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TypeVar

Row = TypeVar("Row")


class RowKind(Enum):
    """What a table row holds, for finding the period of an item layout."""

    NUMBERS = "numbers"
    FULL = "full"
    TEXT = "text"
    NOISE = "noise"


def names_below(kinds: Sequence[RowKind]) -> bool:
    """Whether the table prints each item's name under its numbers: its first row (past any
    noise) holds numbers only, a text row follows it, and numbers rows are most of the items."""
    seen = [k for k in kinds if k is not RowKind.NOISE]
    if len(seen) < 2 or seen[0] is not RowKind.NUMBERS or seen[1] is not RowKind.TEXT:
        return False
    return seen.count(RowKind.NUMBERS) >= seen.count(RowKind.FULL)


def item_groups(rows: Sequence[Row], kinds: Sequence[RowKind]) -> list[tuple[Row, list[Row]]]:
    """The items of a names-below table: each numbers or full row with the text rows under it
    (up to the next item); the last item's text rows at most as many as any item's above."""
    groups: list[tuple[Row, list[Row]]] = []
    for row, kind in zip(rows, kinds, strict=True):
        if kind in (RowKind.NUMBERS, RowKind.FULL):
            groups.append((row, []))
        elif kind is RowKind.TEXT and groups:
            groups[-1][1].append(row)
    if len(groups) > 1:
        longest = max(len(texts) for _, texts in groups[:-1])
        last, texts = groups[-1]
        groups[-1] = (last, texts[: max(1, longest)])
    return groups
