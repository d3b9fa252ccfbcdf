"""Totals printed as a table: the money labels are column heads, one row per tax rate, then
an unlabelled sum row ("VAT rate | Net | VAT | Gross", "Taux TVA | HT | TVA | TTC").

A label search reads such a table wrongly: the head "VAT" finds the first rate row below it,
and the sum row has no label at all. Here the table is read as a table: each amount goes to
the head above it, and the document's figures are the sum row (the row that equals the sum
of the rows above it), or the only row when there is one rate.
"""

from __future__ import annotations

import re
from decimal import Decimal

from extractors.fields.search import Candidate, text_box, x_range
from extractors.layout.lines import Line
from extractors.parsing.amounts import AmountMatch, find_amounts

# column heads by the field they head; the rate head first, so "Taux TVA" is not a tax head
_HEADS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"(?:{pattern})(?![\w])\.?", re.I))
    for kind, pattern in (
        (
            "rate",
            r"(?:(?:vat|tax|gst|ust|mwst|tva|btw)\.?[\s-]*)?(?:rate|satz|taux|tarif|%)"
            r"(?:[\s-]*(?:tva|btw))?|steuersatz|%",
        ),
        (
            "subtotal",
            r"net(?:to)?(?:[\s-]*(?:amount|betrag|value|wert))?|montant\s*ht|total\s*ht|ht|"
            r"taxable(?:\s*amount)?|base(?:\s*ht)?|bemessungsgrundlage|sub[\s-]?total",
        ),
        (
            "tax",
            r"(?:sales\s*)?tax(?:\s*amount)?|vat(?:\s*amount)?|gst|sst|montant\s*tva|tva|"
            r"ust\.?(?:[\s-]*betrag)?|mwst\.?(?:[\s-]*betrag)?|steuer(?:betrag)?|btw",
        ),
        (
            "total",
            r"gross(?:\s*amount)?|brutto(?:betrag)?|montant\s*ttc|total\s*ttc|ttc|total|"
            r"gesamt(?:betrag)?|amount",
        ),
    )
)
_SEPARATOR = re.compile(r"[\s|:/]*")
_MISREAD = re.compile(r"[^\s\d]{1,4}(?=\s|$)")  # a short head OCR garbled, never a number
# a row of the table: numbers, percentages, signs and currency marks only
_NUMERIC_ROW = re.compile(r"^[\s\d.,'%()+\-\u2212€$£¥₹|]*(?:[A-Z]{3})?[\s€$£]*$")
MAX_ROWS = 8


def table_heads(line: Line) -> list[tuple[str, re.Match[str]]] | None:
    """The column heads of a totals table printed on `line`, left to right, or None when the
    line is not such a header (every word a head, two of net, tax and gross among them)."""
    heads: list[tuple[str, re.Match[str]]] = []
    pos = _SEPARATOR.match(line.text).end()  # type: ignore[union-attr]
    while pos < len(line.text):
        hits = [(kind, m) for kind, p in _HEADS if (m := p.match(line.text, pos)) and m.end() > pos]
        misread = _MISREAD.match(line.text, pos)
        if not hits and misread is not None:
            hits = [("?", misread)]
        if not hits:
            return None
        kind, match = max(hits, key=lambda h: h[1].end())
        heads.append((kind, match))
        pos = _SEPARATOR.match(line.text, match.end()).end()  # type: ignore[union-attr]
    return _complete(heads)


def _complete(heads: list[tuple[str, re.Match[str]]]) -> list[tuple[str, re.Match[str]]] | None:
    """The heads with one misread head named after the money column the others lack (OCR
    reads "USt." as "os"); None unless two of net, tax and gross are read."""
    kinds = [k for k, _ in heads if k not in ("rate", "?")]
    unread = [k for k, _ in heads if k == "?"]
    if len(set(kinds)) < 2 or len(kinds) != len(set(kinds)) or len(unread) > 1:
        return None
    if unread:
        missing = {"subtotal", "tax", "total"} - set(kinds)
        if len(missing) != 1:
            return None
        heads = [(missing.pop() if k == "?" else k, m) for k, m in heads]
    return heads


def _closes(row: dict[str, AmountMatch]) -> bool:
    """Whether a row's net and tax make its gross."""
    if set(row) != {"subtotal", "tax", "total"}:
        return False
    gap = row["subtotal"].value + row["tax"].value - row["total"].value
    return abs(gap) <= Decimal("0.01")


def _row_amounts(line: Line, decimal_sep: str | None) -> list[AmountMatch]:
    """The money amounts of a table row (two decimals, not a percentage)."""
    return [
        a
        for a in find_amounts(line.text, decimal_sep)
        if a.decimals == 2 and not line.text[a.end : a.end + 2].strip().startswith("%")
    ]


def _assign(
    line: Line,
    amounts: list[AmountMatch],
    heads: list[tuple[str, re.Match[str]]],
    header: Line,
) -> dict[str, AmountMatch] | None:
    """Each amount under the money head whose column it sits in (by position when the words
    have boxes, else in order when there are as many amounts as money heads)."""
    money = [(k, m) for k, m in heads if k != "rate"]
    spans = [x_range(header, m.start(), m.end()) for _, m in money]
    if line.words and header.words and all(s is not None for s in spans):
        row: dict[str, AmountMatch] = {}
        for amount in amounts:
            box = x_range(line, amount.start, amount.end)
            if box is None:
                return None
            gaps = [max(s[0] - box[1], box[0] - s[1], 0.0) for s in spans if s is not None]
            kind = money[gaps.index(min(gaps))][0]
            if kind in row:
                return None
            row[kind] = amount
        return row
    if len(amounts) != len(money):
        return None
    return {k: a for (k, _), a in zip(money, amounts, strict=True)}


def _sum_row(rows: list[dict[str, AmountMatch]]) -> bool:
    """Whether the last row is the column sums of the rows above it."""
    if len(rows) < 2:
        return False
    *parts, last = rows
    return all(
        abs(sum((r[k].value for r in parts if k in r), Decimal(0)) - last[k].value)
        <= Decimal("0.01") * len(parts)
        for k in last
    )


def table_candidates(lines: list[Line], decimal_sep: str | None) -> list[Candidate]:
    """The subtotal, tax and total a totals table states (empty without such a table): its
    only row, or its last row when that adds up the rows above it or is the one row without
    a rate under rate rows (a sum printed wrong is still the document's figure)."""
    by_index = {ln.index: ln for ln in lines}
    for header in lines:
        heads = table_heads(header)
        if heads is None:
            continue
        rows: list[dict[str, AmountMatch]] = []
        row_lines: list[Line] = []
        for index in range(header.index + 1, header.index + 1 + MAX_ROWS):
            nxt = by_index.get(index)
            if nxt is None or nxt.page != header.page or not _NUMERIC_ROW.match(nxt.text):
                break
            amounts = _row_amounts(nxt, decimal_sep)
            row = _assign(nxt, amounts, heads, header) if amounts else None
            if not row:
                break
            rows.append(row)
            row_lines.append(nxt)
        unrated = len(rows) > 1 and "%" not in row_lines[-1].text
        if (
            len(rows) == 1
            or _sum_row(rows)
            or (unrated and all("%" in r.text for r in row_lines[:-1]))
        ):
            guessed = any(m.re is _MISREAD for _, m in heads)
            if not guessed or _closes(rows[-1]):  # a guessed head must add up
                return _candidates(header, heads, rows[-1], row_lines[-1])
    return []


def _candidates(
    header: Line,
    heads: list[tuple[str, re.Match[str]]],
    row: dict[str, AmountMatch],
    line: Line,
) -> list[Candidate]:
    """The figures of the row that states the document's sums, labelled by their heads."""
    labels = dict(heads)
    found = []
    for kind, amount in row.items():
        cand = Candidate(
            kind,
            amount.value,
            amount.raw,
            line,
            text_box(line, amount.start, amount.end),
            1.0,
            0.85,
            {"bonus": 0.3},
        )
        cand.label = (header, labels[kind])
        found.append(cand)
    return found


def rate_rows(found: list[Candidate]) -> set[int]:
    """The line indexes of the rate rows above a table's sum row (none with a single row)."""
    if not found or found[0].label is None:
        return set()
    return set(range(found[0].label[0].index + 1, found[0].line.index))
