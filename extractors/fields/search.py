"""Label-to-value search: where a label is printed, its value is to the right or just below.

`candidates(...)` walks every line where a field's label is printed, looks at the text right
of the label on the same line (up to the next label) and at the column just below it, and
hands each piece of text to a parser. Every hit becomes a `Candidate` with the evidence the
confidence model uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from extractors.fields.labels import ANY_LABEL, COMPILED
from extractors.layout.lines import Line
from invoices.records import BBox, Method

# "incl. VAT", "excl. USt.": the tax word qualifies another amount, it is not a label
_QUALIFIED = re.compile(r"(?:incl|inkl|excl|exkl|ohne|hors|without|before)\w*\.?\s*\(?\s*$", re.I)

# a label glued to what follows by a hyphen or slash is part of an identifier, not a label
_INSIDE_TOKEN = re.compile(r"[-/_][A-Za-z0-9]")
# a label of two or three letters ("PO", "P.O") and the digits it is glued to
_ABBREVIATION = re.compile(r"[A-Za-z]\.?[A-Za-z]\.?[A-Za-z]?")
_GLUED = re.compile(r"\d")

# parser(text) -> (value, start, end) of the first acceptable value, or None
Parser = Callable[[str], "tuple[Any, int, int] | None"]


@dataclass
class Candidate:
    """One possible value of a field with the evidence for it."""

    field: str
    value: Any
    raw: str
    line: Line
    bbox: BBox | None
    label_weight: float  # 0 when found without a label
    position: float  # 1 right of the label, lower below it or unlabelled
    extra: dict[str, float] = dc_field(default_factory=dict)
    label: tuple[Line, re.Match[str]] | None = None  # the printed label it was found at

    @property
    def score(self) -> float:
        """The raw strength of this candidate before agreement and checks."""
        return self.label_weight * self.position + self.extra.get("bonus", 0.0)


def _word_spans(line: Line) -> list[tuple[int, int]]:
    spans, offset = [], 0
    for word in line.words:
        spans.append((offset, offset + len(word.text)))
        offset += len(word.text) + 1
    return spans


def x_range(line: Line, start: int, end: int) -> tuple[float, float] | None:
    """The horizontal extent of the characters start..end of a line (None without boxes)."""
    if not line.words:
        return None
    xs = [
        (w.bbox[0], w.bbox[2])
        for w, (s, e) in zip(line.words, _word_spans(line), strict=False)
        if s < end and e > start
    ]
    if not xs:
        return None
    return min(x[0] for x in xs), max(x[1] for x in xs)


def text_box(line: Line, start: int, end: int) -> BBox | None:
    """The box of the characters start..end of a line, or the line's box without words."""
    if not line.words:
        return line.bbox
    boxes = [
        w.bbox
        for w, (s, e) in zip(line.words, _word_spans(line), strict=False)
        if s < end and e > start
    ]
    if not boxes:
        return line.bbox
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _column_below(line: Line, span: tuple[float, float] | None) -> tuple[str, int]:
    """The text of `line` in a label's column (under or over it), and its offset in the line."""
    if span is None or not line.words:
        return line.text, 0
    left, right = span
    spans = _word_spans(line)
    picked = [
        i
        for i, w in enumerate(line.words)
        if w.bbox[2] > left - 4 and w.bbox[0] < right + max(40.0, right - left)
    ]
    if not picked:
        return "", 0
    first, last = picked[0], picked[-1]
    return line.text[spans[first][0] : spans[last][1]], spans[first][0]


def _right_text(line: Line, end: int) -> str:
    """The text right of a label, cut at the next printed label."""
    rest = line.text[end:]
    nxt = ANY_LABEL.search(rest, 1)
    return rest[: nxt.start()] if nxt and nxt.start() > 0 else rest


def label_hits(lines: list[Line], name: str) -> Iterator[tuple[Line, re.Match[str], float]]:
    """Every printed label of a field: the line, the match and the label's weight."""
    for line in lines:
        taken: list[tuple[int, int]] = []
        for pattern, weight in COMPILED[name]:
            for match in pattern.finditer(line.text):
                if any(match.start() < end and match.end() > start for start, end in taken):
                    continue
                if _QUALIFIED.search(line.text[: match.start()]):
                    continue
                if match.group(0)[-1:].isalnum() and _INSIDE_TOKEN.match(line.text, match.end()):
                    continue  # "PO-2025-0011": the label word is the start of the value itself
                if _ABBREVIATION.fullmatch(match.group(0)) and _GLUED.match(line.text, match.end()):
                    continue  # "PO4711": an abbreviation glued to digits is the value's prefix
                taken.append(match.span())
                yield line, match, weight


def candidates(
    lines: list[Line], name: str, parse: Parser, below: int = 2, left: bool = False
) -> list[Candidate]:
    """The values a parser finds right of, over (as its caption) or below each label of a
    field (with `left`, also the lone value printed before a label that ends its line, as
    column layouts OCR'd do)."""
    found: list[Candidate] = []
    by_index = {ln.index: ln for ln in lines}
    for line, match, weight in label_hits(lines, name):
        cand = _announced(line, match, weight, name, parse, by_index, below, left)
        if cand is not None:
            cand.label = (line, match)
            found.append(cand)
    return found


def search_again(
    cand: Candidate, parse: Parser, lines: list[Line], below: int = 2
) -> Candidate | None:
    """The value the label of `cand` announces when read with another parser (None without
    a label or a value)."""
    if cand.label is None:
        return None
    line, match = cand.label
    by_index = {ln.index: ln for ln in lines}
    again = _announced(line, match, cand.label_weight, cand.field, parse, by_index, below)
    if again is not None:
        again.label = cand.label
    return again


def _announced(
    line: Line,
    match: re.Match[str],
    weight: float,
    name: str,
    parse: Parser,
    by_index: dict[int, Line],
    below: int,
    left: bool = False,
) -> Candidate | None:
    """The value a label announces: right of it, (with `left`) before it, over it where its
    column prints captions, else below it."""
    cand = _right_of(line, match, weight, name, parse)
    if cand is None and left:
        cand = _left_of(line, match, weight, name, parse)
    if cand is not None:
        return cand
    captions = _captions(line, match, by_index)
    if captions is not False:
        cand = _captioned(line, match, weight, name, parse, by_index, captions is True)
    if cand is None and captions is not True:
        cand = _below(line, match, weight, name, parse, by_index, below)
    return cand


def same_print(a: Candidate, b: Candidate) -> bool:
    """Whether two candidates were read from the same printed characters."""
    if a.line.index != b.line.index or a.bbox is None or b.bbox is None:
        return a.line.index == b.line.index and a.raw == b.raw
    return a.bbox[0] < b.bbox[2] and b.bbox[0] < a.bbox[2]


def label_overlap(cand: Candidate) -> float:
    """How much of the value's width lies under (or beside, on its line) its label: 1 right of
    the label, else the share of the value's width the label's columns cover."""
    if cand.label is None or cand.bbox is None:
        return 0.0
    line, match = cand.label
    if line.index == cand.line.index:
        return 1.0
    span = x_range(line, match.start(), match.end())
    if span is None:
        return 0.0
    width = max(cand.bbox[2] - cand.bbox[0], 1.0)
    return max(0.0, min(span[1], cand.bbox[2]) - max(span[0], cand.bbox[0])) / width


def _right_of(
    line: Line, match: re.Match[str], weight: float, name: str, parse: Parser
) -> Candidate | None:
    right = _right_text(line, match.end())
    hit = parse(right)
    if hit is None and len(right) < len(line.text) - match.end():
        right = line.text[match.end() :]  # the next "label" was a word inside this one's text
        hit = parse(right)
    if hit is None:
        return None
    value, start, end = hit
    box = text_box(line, match.end() + start, match.end() + end)
    return Candidate(
        name, value, right[start:end].strip(), line, box, weight, 1.0, _skipped(right[:start])
    )


# specks, one value, specks and at most a short word (an OCR'd "Ihre" read "thre") before a label
_LONE_LEFT = re.compile(r"^[\W_]*(\S+)[\W_]*(?:[A-Za-z1|]{1,4}[\W_]*)?$")


def _left_of(
    line: Line, match: re.Match[str], weight: float, name: str, parse: Parser
) -> Candidate | None:
    if line.text[match.end() :].strip(" :.|_-"):
        return None  # the label does not end its line
    lone = _LONE_LEFT.match(line.text[: match.start()])
    if lone is None or ANY_LABEL.search(line.text[: match.start()]):
        return None
    hit = parse(lone.group(1))
    if hit is None:
        return None
    value, start, end = hit
    offset = lone.start(1)
    box = text_box(line, offset + start, offset + end)
    return Candidate(name, value, lone.group(1)[start:end], line, box, weight, 0.8)


def _skipped(before: str) -> dict[str, float]:
    """Evidence that the parser passed over printed text between label and value ("No: # X",
    "nr: F 123"): the value may be only part of what the label announces."""
    return {"skipped": 1.0} if before.strip(" :") else {}


def _below(
    line: Line,
    match: re.Match[str],
    weight: float,
    name: str,
    parse: Parser,
    by_index: dict[int, Line],
    below: int,
) -> Candidate | None:
    span = x_range(line, match.start(), match.end())
    for step, nxt in enumerate(_lines_below(line, by_index, below), start=1):
        text, offset = _column_below(nxt, span)
        hit = parse(text)
        if hit is not None:
            value, start, end = hit
            box = text_box(nxt, offset + start, offset + end)
            position = 0.85 if step == 1 else 0.6
            return Candidate(
                name,
                value,
                text[start:end].strip(),
                nxt,
                box,
                weight,
                position,
                _skipped(text[:start]),
            )
    return None


def _captioned(
    line: Line,
    match: re.Match[str],
    weight: float,
    name: str,
    parse: Parser,
    by_index: dict[int, Line],
    sure: bool = False,
) -> Candidate | None:
    """The value a label captions: printed just over the label in its column, nearer to it
    than anything printed under it ("R0079323" over a small "Invoice no."; `sure`: its column
    is known to print captions, see `_captions`), and not itself the value of a label beside
    it on its own line."""
    span = x_range(line, match.start(), match.end())
    label_box = text_box(line, match.start(), match.end())
    if span is None or label_box is None:
        return None
    found = _over_in_column(line, span, by_index)
    if found is None:
        return None
    over, text, offset = found
    hit = parse(text)
    if hit is None or ANY_LABEL.search(f"{text[: hit[1]]} {text[hit[2] :]}"):
        return None  # a label beside the value in its column ("PO-…" is a value, not one)
    value, start, end = hit
    box = text_box(over, offset + start, offset + end)
    if box is None or _beside_label(over, offset + start):
        return None
    gap = label_box[1] - box[3]
    under = _next_in_column(line, span, by_index)
    height = label_box[3] - label_box[1]
    if not (-1.0 <= gap <= max(height, 2.0)):
        return None  # not tight over the label
    if not sure and under is not None and under - label_box[3] <= gap:
        return None  # the label is as near to what follows it
    return Candidate(
        name, value, text[start:end].strip(), over, box, weight, 0.85, _skipped(text[:start])
    )


def _captions(line: Line, match: re.Match[str], by_index: dict[int, Line]) -> bool | None:
    """Whether a label's column prints captions under values (True) or headings over them
    (False), read from the ends of the tight stack of lines it stands in: a stack that starts
    with a value (a digit in it) and ends with a label is captioned, one that starts with a
    label and ends with a value is headed. None when the stack does not tell."""
    span = x_range(line, match.start(), match.end())
    box = text_box(line, match.start(), match.end())
    if span is None or box is None:
        return None
    stack = [*reversed(list(_stacked(line, span, box, by_index, -1))), match.group(0)]
    stack += list(_stacked(line, span, box, by_index, 1))
    if len(stack) < 2:
        return None
    first, last = (bool(re.search(r"\d", text)) for text in (stack[0], stack[-1]))
    if first and not last:
        return True
    if last and not first:
        return False
    return None


def _stacked(
    line: Line, span: tuple[float, float], box: BBox, by_index: dict[int, Line], step: int
) -> Iterator[str]:
    """The column texts of the lines stacked tight over (step -1) or under (step 1) a label
    (at `box`) in its column: each less than about a line's height from the one before."""
    index = line.index
    while True:
        for skip in range(1, 4):
            nxt = by_index.get(index + step * skip)
            if nxt is None or nxt.page != line.page:
                return
            text, offset = _column_below(nxt, span)
            if text.strip():
                break
        else:
            return
        near = text_box(nxt, offset, offset + len(text))
        if near is None:
            return
        gap = near[1] - box[3] if step > 0 else box[1] - near[3]
        if gap > 1.2 * max(near[3] - near[1], box[3] - box[1]):
            return
        yield text
        index, box = nxt.index, near


def _over_in_column(
    line: Line, span: tuple[float, float], by_index: dict[int, Line]
) -> tuple[Line, str, int] | None:
    """The nearest line over a label with text in its column: the line, that text (the
    whole run of words, which may reach beyond the label: "26 avril 2025" over "Fait le")
    and its offset in the line."""
    for index in range(line.index - 1, max(line.index - 4, -1), -1):
        over = by_index.get(index)
        if over is None or over.page != line.page:
            return None
        text, offset = _column_below(over, span)
        if text.strip() and over.words:
            return over, *_whole_run(over, offset, offset + len(text))
    return None


def _whole_run(line: Line, start: int, end: int) -> tuple[str, int]:
    """The characters start..end of a line widened to the words they run into without a
    column gap; the text and its offset."""
    spans = _word_spans(line)
    inside = [i for i, (s, e) in enumerate(spans) if s < end and e > start]
    first, last = inside[0], inside[-1]

    def joined(a: int, b: int) -> bool:
        left, right = line.words[a].bbox, line.words[b].bbox
        return right[0] - left[2] <= 0.9 * max(1.0, left[3] - left[1])

    while first > 0 and joined(first - 1, first):
        first -= 1
    while last + 1 < len(spans) and joined(last, last + 1):
        last += 1
    return line.text[spans[first][0] : spans[last][1]], spans[first][0]


def _beside_label(line: Line, start: int) -> bool:
    """Whether a label (a colon or a field's label word) is printed just before the value at
    `start` of a line, in the same column: then the value is that label's, not a caption's."""
    before = line.text[:start]
    if line.words:
        spans = [s for s in _word_spans(line) if s[1] <= start]
        words = line.words[: len(spans)]
        first = len(words)
        while first > 0:  # the words run into the value without a column gap
            nxt = line.words[first] if first < len(line.words) else None
            word = words[first - 1]
            if nxt is not None and nxt.bbox[0] - word.bbox[2] > 2 * (word.bbox[3] - word.bbox[1]):
                break
            first -= 1
        before = line.text[spans[first][0] : start] if first < len(spans) else ""
    before = before.rstrip()
    if before.endswith(":"):
        return True
    ends = [m.end() for m in ANY_LABEL.finditer(before)]
    return bool(ends) and len(before) - ends[-1] <= 2


def _next_in_column(
    line: Line, span: tuple[float, float], by_index: dict[int, Line]
) -> float | None:
    """The top of the first text printed under a label in its column (None: nothing)."""
    for nxt in _lines_below(line, by_index, 3):
        text, offset = _column_below(nxt, span)
        if text.strip():
            box = text_box(nxt, offset, offset + len(text))
            return box[1] if box is not None else None
    return None


def _speck(line: Line) -> bool:
    """A line OCR made of a rule or a speck ("_", ">"): no character of a value in it."""
    return sum(ch.isalnum() for ch in line.text) < 2


def _lines_below(line: Line, by_index: dict[int, Line], count: int) -> Iterator[Line]:
    """The next `count` lines under a line on its page, passing over OCR specks."""
    index = line.index
    while count > 0:
        index += 1
        nxt = by_index.get(index)
        if nxt is None or nxt.page != line.page:
            return
        if nxt.method == Method.OCR and _speck(nxt) and index - line.index <= 4:
            continue
        count -= 1
        yield nxt


def best(found: list[Candidate]) -> Candidate | None:
    """The strongest candidate, with the agreement of the others recorded on it."""
    if not found:
        return None
    totals: dict[Any, float] = {}
    for cand in found:
        totals[cand.value] = totals.get(cand.value, 0.0) + cand.score
    winner = max(found, key=lambda c: (totals[c.value], c.score, -c.line.index))
    whole = sum(totals.values()) or 1.0
    winner.extra["agreement"] = totals[winner.value] / whole
    winner.extra["support"] = float(sum(1 for c in found if c.value == winner.value))
    return winner
