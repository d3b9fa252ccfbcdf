"""Address blocks printed without a heading: the buyer in the address window.

Many invoices print the recipient's address with no "Bill to" over it: in the window at the
top left (under a small sender line), or as a block beside the seller's. Such a block is a
name with a street or a postcode-and-town line under it, in one column. The seller's own block
(its name is the vendor's; it carries its VAT id, e-mail or phone) is not the buyer's, nor is a
block under a heading of another party ("Ship to", "Lieferadresse"). Only when one such block
is left is it taken: a wrong buyer is worse than none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from extractors.fields.address import POSTCODE_TOWN as _POSTCODE_TOWN
from extractors.fields.address import is_country, is_street
from extractors.fields.labels import ANY_LABEL
from extractors.fields.names import CONTACT, SALUTATION, clean_name, is_noise, name_like, party_text
from extractors.fields.search import Candidate
from extractors.layout.lines import Line, Segment

# the top part of the first page, where the parties are printed
PARTY_ZONE = 0.5
_WEB = re.compile(r"@|\bwww\.|https?:")
_OTHER_PARTY = re.compile(
    r"ship|deliver|liefer|versand|livraison|exp[ée]di|leverings|absender|sender|exp[ée]diteur",
    re.I,
)


@dataclass
class _Block:
    name: str
    line: Line
    seg: Segment
    below: list[str]


def _column(line: Line, x: float) -> Segment | None:
    """The segment of a line that starts where `x` does (one column of the page)."""
    for seg in line.segments:
        if seg.bbox is not None and abs(seg.bbox[0] - x) <= 6.0:
            return seg
    return None


def _height(seg: Segment) -> float:
    return seg.bbox[3] - seg.bbox[1] if seg.bbox is not None else 0.0


def _gap(upper: Line, lower: Line) -> float:
    if upper.bbox is None or lower.bbox is None:
        return 0.0
    return lower.bbox[1] - upper.bbox[3]


def _under(lines: list[Line], line: Line, seg: Segment) -> list[str]:
    """The texts printed right under a segment in its column, line by line."""
    assert seg.bbox is not None
    texts: list[str] = []
    prev = line
    for nxt in lines[line.index + 1 : line.index + 8]:
        if nxt.page != line.page or _gap(prev, nxt) > 1.2 * max(_height(seg), 6.0):
            break
        below = _column(nxt, seg.bbox[0])
        if below is None:
            if any(s.bbox is not None and s.bbox[0] < seg.bbox[0] - 6.0 for s in nxt.segments):
                break  # a wider line crosses the column: the block has ended
            continue
        texts.append(below.text)
        prev = nxt
        if len(texts) >= 4:
            break
    return texts


def _headed_above(lines: list[Line], line: Line, seg: Segment) -> bool:
    """Whether a line of the same column sits right above the name (a heading or the block's
    own first line: the name is then not where the block starts)."""
    assert seg.bbox is not None
    for prev in reversed(lines[max(0, line.index - 2) : line.index]):
        if prev.page != line.page or _gap(prev, line) > 1.2 * max(_height(seg), 6.0):
            return False
        above = _column(prev, seg.bbox[0])
        if above is not None and _height(above) >= 0.85 * _height(seg):
            return True
    return False


def _is_block_name(text: str) -> bool:
    return (
        name_like(text)
        and not is_noise(text)
        and not ANY_LABEL.search(text)
        and not CONTACT.search(text)
        and not is_street(text)
        and not is_country(text)
        and not _POSTCODE_TOWN.search(text)
        and not re.search(r"\d", text)
        and not _OTHER_PARTY.search(text)
    )


def _address_under(below: list[str]) -> bool:
    """Whether the lines under a name read as its postal address: a street or a postcode and
    town within the first three, and no contact line (the seller prints those)."""
    head = below[:3]
    return any(is_street(t) or _POSTCODE_TOWN.search(t) for t in head) and not any(
        CONTACT.search(t) or _WEB.search(t) for t in below
    )


def address_blocks(lines: list[Line]) -> list[_Block]:
    """Blocks of a name and its postal address in the top part of the first page."""
    if not lines:
        return []
    first = lines[0].page
    found: list[_Block] = []
    for line in lines:
        if line.page != first or line.top >= PARTY_ZONE:
            break
        for seg in line.segments:
            if seg.bbox is None:
                continue
            text = party_text(seg.text, line)
            if not _is_block_name(text) or _headed_above(lines, line, seg):
                continue
            below = _under(lines, line, seg)
            if SALUTATION.fullmatch(text) and below and _is_block_name(below[0]):
                text, below = clean_name(f"{text} {clean_name(below[0])}"), below[1:]
            if below and _address_under(below):
                found.append(_Block(text, line, seg, below))
    return found


def _same_name(a: str, b: str) -> bool:
    a, b = re.sub(r"\W", "", a.casefold()), re.sub(r"\W", "", b.casefold())
    if not a or not b:
        return False
    return a in b or b in a or SequenceMatcher(None, a, b).ratio() >= 0.85


def blocks_below(lines: list[Line], top: Line, name: str) -> set[int]:
    """Indexes of the name lines of address blocks printed below `top` (a letterhead) under
    another name: the recipients' blocks, never the seller's."""
    return {
        b.line.index
        for b in address_blocks(lines)
        if b.line.index > top.index and not _same_name(b.name, name)
    }


def unheaded_buyer(lines: list[Line], vendor: Candidate | None) -> Candidate | None:
    """The buyer printed with no heading: the one address block that is not the seller's,
    printed below or beside the seller's name."""
    if vendor is None or not isinstance(vendor.value, str) or vendor.line.page != lines[0].page:
        return None
    blocks = [
        b
        for b in address_blocks(lines)
        if b.line is not vendor.line
        and not _same_name(b.name, vendor.value)
        and b.line.index > vendor.line.index
    ]
    if len(blocks) != 1:
        return None
    block = blocks[0]
    return Candidate("buyer_name", block.name, block.seg.text, block.line, block.seg.bbox, 0.6, 0.8)
