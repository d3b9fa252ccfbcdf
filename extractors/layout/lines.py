"""Lines and column segments rebuilt from a page's words, for label-to-value extraction.

A `Line` is a row of words at the same height; its `segments` are runs of words separated by
a wide gap (a column boundary). When a page has no words (plain text only), lines come from
the text and segments from runs of two or more spaces, without boxes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from invoices.records import BBox, DocumentText, Method, PageText, Word


@dataclass
class Segment:
    """A run of words on one line with no column gap inside."""

    text: str
    bbox: BBox | None
    confidence: float = 1.0


@dataclass
class Line:
    """One printed line of a page with its column segments."""

    page: int
    index: int  # order within the document
    text: str
    segments: list[Segment]
    bbox: BBox | None
    method: Method
    confidence: float = 1.0
    page_height: float = 0.0
    page_width: float = 0.0
    words: list[Word] = field(default_factory=list)

    @property
    def top(self) -> float:
        """The relative vertical position on the page (0 top, 1 bottom), 0 when unknown."""
        if self.bbox is None or not self.page_height:
            return 0.0
        return self.bbox[1] / self.page_height


def _union(boxes: list[BBox]) -> BBox:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _upright(words: list[Word], ocr: bool = False) -> list[Word]:
    """The words of normal height: rotated watermarks and margin text form tall boxes.

    OCR boxes are looser (a speck or a rule's remnant can stretch one): there a word up to
    four times the median height stays when it runs clearly across, as printed text does.
    """
    heights = sorted(w.bbox[3] - w.bbox[1] for w in words)
    if not heights:
        return []
    median = heights[len(heights) // 2]

    def normal(w: Word) -> bool:
        height, width = w.bbox[3] - w.bbox[1], w.bbox[2] - w.bbox[0]
        if height <= 2.5 * median + 1:
            return True
        return ocr and height <= 4 * median and width >= 2 * height

    return [w for w in words if normal(w) and w.text.strip()]


def _rows(words: list[Word], ocr: bool = False) -> list[list[Word]]:
    """Words grouped into rows by their vertical centre."""
    rows: list[list[Word]] = []
    by_centre = sorted(_upright(words, ocr), key=lambda w: ((w.bbox[1] + w.bbox[3]) / 2, w.bbox[0]))
    for word in by_centre:
        centre = (word.bbox[1] + word.bbox[3]) / 2
        height = max(1.0, word.bbox[3] - word.bbox[1])
        if rows:
            last = rows[-1]
            last_centre = sum((w.bbox[1] + w.bbox[3]) / 2 for w in last) / len(last)
            last_height = max(1.0, max(w.bbox[3] - w.bbox[1] for w in last))
            if abs(centre - last_centre) <= 0.45 * max(height, last_height):
                last.append(word)
                continue
        rows.append([word])
    return [_unspaced(_glue(sorted(row, key=lambda w: w.bbox[0]))) for row in rows]


def _glue(row: list[Word]) -> list[Word]:
    """Words that touch (no gap at all) are one word split by the PDF's glyph runs."""
    out: list[Word] = []
    for word in row:
        if out:
            prev = out[-1]
            height = max(1.0, prev.bbox[3] - prev.bbox[1])
            if 0 <= word.bbox[0] - prev.bbox[2] < 0.05 * height:
                out[-1] = Word(
                    text=prev.text + word.text,
                    bbox=_union([prev.bbox, word.bbox]),
                    confidence=min(prev.confidence, word.confidence),
                )
                continue
        out.append(word)
    return out


def _unspaced(row: list[Word]) -> list[Word]:
    """Letter-spaced words ("I n v o i c e  N o") joined again: runs of one-character words
    closer together than a space, where the row has such a run of three or more letters."""
    runs: list[list[Word]] = []
    for word in row:
        last = runs[-1][-1] if runs else None
        height = max(1.0, word.bbox[3] - word.bbox[1])
        if (
            last is not None
            and len(last.text) == len(word.text) == 1
            and word.bbox[0] - last.bbox[2] <= 0.5 * height
        ):
            runs[-1].append(word)
        else:
            runs.append([word])
    if not any(len(run) >= 3 and all(w.text.isalpha() for w in run) for run in runs):
        return row
    return [
        Word(
            text="".join(w.text for w in run),
            bbox=_union([w.bbox for w in run]),
            confidence=min(w.confidence for w in run),
        )
        if len(run) > 1
        else run[0]
        for run in runs
    ]


_SPACED = re.compile(r"(?<!\S)(?:[^\W\d_] ){2,}[^\W\d_](?!\S)")
_SPACED_PAIR = re.compile(r"(?<!\S)[^\W\d_] [^\W\d_](?!\S)")


def _unspaced_text(part: str, spaced_row: bool) -> str:
    """A column part of a text line with its letter-spaced words joined again (a two-letter
    run only where the row has a longer one: "N o" beside "I n v o i c e")."""
    part = _SPACED.sub(lambda m: m.group(0).replace(" ", ""), part)
    if spaced_row:
        part = _SPACED_PAIR.sub(lambda m: m.group(0).replace(" ", ""), part)
    return part


def _segments(row: list[Word]) -> list[Segment]:
    """A row of words split at gaps wider than about two characters."""
    groups: list[list[Word]] = [[row[0]]]
    for prev, word in zip(row, row[1:], strict=False):
        char = max(1.0, (prev.bbox[2] - prev.bbox[0]) / max(1, len(prev.text)))
        height = max(1.0, prev.bbox[3] - prev.bbox[1])
        gap = word.bbox[0] - prev.bbox[2]
        if gap > max(2.2 * char, 0.9 * height):
            groups.append([word])
        else:
            groups[-1].append(word)
    return [
        Segment(
            " ".join(w.text for w in g),
            _union([w.bbox for w in g]),
            min(w.confidence for w in g),
        )
        for g in groups
    ]


def _page_lines_from_words(page: PageText, start: int) -> list[Line]:
    lines = []
    for offset, row in enumerate(_rows(page.words, page.method == Method.OCR)):
        segments = _segments(row)
        lines.append(
            Line(
                page=page.number,
                index=start + offset,
                text=" ".join(w.text for w in row),
                segments=segments,
                bbox=_union([w.bbox for w in row]),
                method=page.method,
                confidence=sum(w.confidence for w in row) / len(row),
                page_height=page.height,
                page_width=page.width,
                words=row,
            )
        )
    return lines


def _page_lines_from_text(page: PageText, start: int) -> list[Line]:
    lines: list[Line] = []
    for raw in page.text.splitlines():
        if not raw.strip():
            continue
        parts = [p for p in re.split(r"\s{2,}|\t", raw.strip()) if p]
        spaced = bool(_SPACED.search(raw))
        parts = [_unspaced_text(p, spaced) for p in parts]
        lines.append(
            Line(
                page=page.number,
                index=start + len(lines),
                text=" ".join(parts),
                segments=[Segment(p, None) for p in parts],
                bbox=None,
                method=page.method,
                confidence=page.ocr_confidence if page.ocr_confidence is not None else 1.0,
            )
        )
    return lines


def document_lines(text: DocumentText) -> list[Line]:
    """Every line of a document, page by page, top to bottom."""
    lines: list[Line] = []
    for page in text.pages:
        if page.words:
            lines.extend(_page_lines_from_words(page, len(lines)))
        else:
            lines.extend(_page_lines_from_text(page, len(lines)))
    return lines
