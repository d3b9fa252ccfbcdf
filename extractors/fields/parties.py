"""Vendor and buyer: party headings, legal forms and the letterhead, without templates.

The vendor is whoever a seller heading ("Verkäufer", "Seller", "Fournisseur") introduces, else
the company with a legal form (GmbH, Ltd, SDN BHD, B.V.) printed outside the buyer's block,
preferring the letterhead and names repeated in the footer, else the first line of the page
(receipts print the merchant on top). Names are cleaned in `fields_names`; the vendor's
address is read in `fields_address`.
"""

from __future__ import annotations

import re

from extractors.fields.address import is_address_line, is_country, is_stamp, is_street
from extractors.fields.blocks import blocks_below, unheaded_buyer
from extractors.fields.labels import ANY_LABEL, COMPILED, LEGAL_FORMS
from extractors.fields.names import (
    CONTACT,
    SALUTATION,
    clean_name,
    is_noise,
    lead,
    name_like,
    party_text,
    umlauts_from_domain,
    web_domains,
)
from extractors.fields.search import Candidate
from extractors.layout.lines import Line, Segment
from invoices.records import Method

# party words that also label the party's number ("Kunde: 12345", "Client : 4711")
_NUMBER_WORD = re.compile(r"(?:kunde|customer|client|klant)\W*$", re.I)


def _labels_a_number(word: str, rest: str) -> bool:
    """Whether a party word is followed by a number ("Kunde: 12345", "Customer K-4711"): it
    labels the customer number, not a block with the customer's name."""
    token = rest.split()[0].strip(":#.,") if rest.split() else ""
    digits = sum(ch.isdigit() for ch in token)
    return bool(_NUMBER_WORD.search(word)) and digits >= 3 and digits >= len(token) / 2


def _heading_hits(lines: list[Line], name: str) -> list[tuple[Line, str]]:
    """Lines that are a party heading of `name`, with any value printed after a colon."""
    hits = []
    for line in lines:
        seg, offset = lead(line)
        for pattern, _ in COMPILED[name]:
            match = pattern.match(seg)
            if match is None or re.match(r"['’`]s\b", seg[match.end() :], re.I):
                continue  # "CUSTOMER'S COPY": a word about the party, not its heading
            rest = line.text[offset + match.end() :].strip()
            if _labels_a_number(match.group(0), rest):
                continue  # "Kunde: 12345", "Client : 4711": the customer number, no heading
            if len(line.segments) > 1 and not seg[match.end() :].strip(" :"):
                rest = ""  # the heading fills its own column; other columns are other fields
            elif rest and rest[0].isalnum() and not match.group(0).rstrip().endswith(":"):
                continue  # the label word is part of a sentence or a name
            hits.append((line, rest if match.group(0).rstrip().endswith(":") else ""))
            break
    return hits


def _value_after_heading(lines: list[Line], line: Line, rest: str) -> tuple[str, Line] | None:
    if rest and name_like(rest):
        return clean_name(rest), line
    for nxt in lines[line.index + 1 : line.index + 6]:
        if nxt.page != line.page:
            break
        if re.match(r"^name\s*:", nxt.text, re.I):
            return _with_continuation(lines, nxt, clean_name(nxt.text)), nxt
        text = lead(nxt)[0]
        if ":" in text or _heading_hits([nxt], "buyer_name") or _heading_hits([nxt], "vendor_name"):
            continue
        if SALUTATION.fullmatch(text.strip()):
            following = lines[nxt.index + 1] if nxt.index + 1 < len(lines) else None
            if following is not None and name_like(following.text):
                return clean_name(f"{text.strip()} {clean_name(following.text)}"), nxt
        if name_like(text):
            return _with_continuation(lines, nxt, clean_name(text)), nxt
    return None


def _with_continuation(lines: list[Line], line: Line, name: str) -> str:
    """A name printed over two lines: the second carries the legal form ("... a.G.", "GmbH")."""
    if LEGAL_FORMS.search(name) or line.index + 1 >= len(lines):
        return name
    nxt = lines[line.index + 1]
    text = lead(nxt)[0]
    if re.match(r"^name\s*:", nxt.text, re.I):
        text = clean_name(nxt.text)
    if (
        nxt.page == line.page
        and LEGAL_FORMS.search(text)
        and name_like(text)
        and not re.search(r"\d", text)
    ):
        return f"{name} {clean_name(text)}"
    return name


def party_from_heading(lines: list[Line], name: str) -> Candidate | None:
    """The party a heading introduces ("Verkäufer", "Bill to"), with the line it sits on."""
    for line, rest in _heading_hits(lines, name):
        found = _value_after_heading(lines, line, rest)
        if found and found[0]:
            value, where = found
            return Candidate(name, value, value, where, where.bbox, 1.0, 0.9)
    return None


def buyer_block(lines: list[Line]) -> set[int]:
    """Indexes of lines in the buyer's address block."""
    block: set[int] = set()
    for line, _ in _heading_hits(lines, "buyer_name"):
        block.update(range(line.index, line.index + 6))
    return block


def _has_legal_form(value: str) -> bool:
    """A company name with a legal form: short forms ("AG", "SE") only in capitals, and a
    name besides the form ("BHD" alone is a fragment)."""
    forms = [m for m in LEGAL_FORMS.finditer(value) if len(m.group(0)) > 2 or m.group(0).isupper()]
    rest = LEGAL_FORMS.sub(" ", value)
    return bool(forms) and sum(ch.isalpha() for ch in rest) >= 4


def _name_pieces(line: Line) -> list[Segment]:
    """The column segments of a line, and for a name split by a wide gap before its legal
    form ("GARDENIA BAKERIES (KL)   SDN BHD"), the segment joined with the form."""
    pieces = list(line.segments)
    for left, right in zip(line.segments, line.segments[1:], strict=False):
        if not _has_legal_form(left.text) and LEGAL_FORMS.match(right.text):
            pieces.append(Segment(f"{left.text} {right.text}", left.bbox, left.confidence))
    return pieces


def _legal_form_candidates(lines: list[Line], buyer: set[int]) -> list[Candidate]:
    found: list[Candidate] = []
    counts: dict[str, int] = {}
    for line in lines:
        for seg in _name_pieces(line):
            if _has_legal_form(seg.text) and name_like(party_text(seg.text, line)):
                key = party_text(seg.text, line).casefold()
                counts[key] = counts.get(key, 0) + 1
    for line in lines:
        if line.index in buyer:
            continue
        for seg in _name_pieces(line):
            value = party_text(seg.text, line)
            if not _has_legal_form(value) or not name_like(value) or ANY_LABEL.search(value):
                continue
            first_page = line.page == lines[0].page
            top = 1.0 if first_page and line.top < 0.2 else 0.7 if first_page else 0.5
            repeats = min(counts.get(value.casefold(), 1), 3)
            first = 0.3 if not found and first_page else 0.0  # the letterhead comes first
            weight = 0.6 + 0.05 * repeats
            extra = {"bonus": first, "address": _address_below(lines, line)}
            found.append(
                Candidate("vendor_name", value, seg.text, line, seg.bbox, weight, top, extra)
            )
    return found


def _address_below(lines: list[Line], line: Line) -> float:
    """1.0 when the line under a name is an address line (a letterhead or sender block)."""
    nxt = lines[line.index + 1] if line.index + 1 < len(lines) else None
    if nxt is None or nxt.page != line.page:
        return 0.0
    return 1.0 if is_address_line(nxt.text) else 0.0


_CONNECTOR = re.compile(r"^(?:&|\+|and|und|et|en)$", re.I)


def _words(name: str) -> list[str]:
    return name.casefold().split()


def _fragment(words: list[str]) -> bool:
    """Whether OCR lost a word of a name: it starts with a connector ("& Krüger GmbH"), a
    connector has no name after it ("Durand and EURL"), or the form is cut ("... Gmb")."""
    if not words:
        return False
    if _CONNECTOR.match(words[0]):
        return True
    for word, nxt in zip(words, [*words[1:], ""], strict=True):
        if _CONNECTOR.match(word) and (not nxt or LEGAL_FORMS.fullmatch(nxt)):
            return True
    return (
        not LEGAL_FORMS.fullmatch(words[-1])
        and len(words[-1]) >= 3
        and any(form.startswith(words[-1]) for form in ("gmbh", "ltd.", "inc.", "corp.", "bhd."))
    )


def _covers(whole: list[str], part: list[str]) -> bool:
    """Whether the words of `part` are in `whole`, in order, ending with its last word (the
    last one may be cut short)."""
    if len(whole) <= len(part) or len(whole) > len(part) + 2:
        return False
    if not (whole[-1] == part[-1] or (len(part[-1]) >= 3 and whole[-1].startswith(part[-1]))):
        return False
    pos = 0
    for word in part[:-1]:
        while pos < len(whole) - 1 and whole[pos] != word:
            pos += 1
        if pos >= len(whole) - 1:
            return False
        pos += 1
    return True


def _whole_name(chosen: Candidate, lines: list[Line], buyer: set[int]) -> Candidate:
    """Where OCR lost a word of the chosen name and the document prints it whole elsewhere
    (the sender line, the footer), the whole name, with the evidence of the fragment."""
    part = _words(chosen.value) if isinstance(chosen.value, str) else []
    if chosen.line.method != Method.OCR or not _fragment(part):
        return chosen
    for line in lines:
        if line.index in buyer:
            continue
        for seg in _name_pieces(line):
            text = party_text(seg.text, line)
            if name_like(text) and not ANY_LABEL.search(text) and _covers(_words(text), part):
                extra = {**chosen.extra, "skipped": 1.0}
                return Candidate(
                    "vendor_name",
                    text,
                    seg.text,
                    line,
                    seg.bbox,
                    chosen.label_weight,
                    chosen.position,
                    extra,
                )
    return chosen


def vendor_candidate(lines: list[Line]) -> Candidate | None:
    """The vendor's name: seller heading, else a legal-form company, else the letterhead;
    on a scan with the umlauts OCR dropped put back from the vendor's domain."""
    found = _vendor_candidate(lines)
    if found is None or found.line.method != Method.OCR or not isinstance(found.value, str):
        return found
    domains = web_domains("\n".join(ln.text for ln in lines))
    found.value = umlauts_from_domain(found.value, domains)
    return found


def _vendor_candidate(lines: list[Line]) -> Candidate | None:
    headed = party_from_heading(lines, "vendor_name")
    if headed is not None:
        headed.field = "vendor_name"
        return headed
    buyer = buyer_block(lines)
    letterhead = _letterhead(lines, buyer)
    if letterhead is not None and letterhead.extra.get("address"):
        # the address blocks under a letterhead with its address are the recipients'
        buyer |= blocks_below(lines, letterhead.line, str(letterhead.value))
    found = _legal_form_candidates(lines, buyer)
    if letterhead is not None and letterhead.extra.get("address"):
        found.append(letterhead)
    if found:
        return _whole_name(max(found, key=lambda c: (c.score, -c.line.index)), lines, buyer)
    return _whole_name(letterhead, lines, buyer) if letterhead is not None else None


# a document title printed beside the letterhead ("INVOICE    Aquatronic")
_TITLE = re.compile(
    r"(?:tax\s+|commercial\s+|proforma\s+|pro\s+forma\s+)?(?:invoice|rechnung|facture|factuur|"
    r"gutschrift|credit\s+note|avoir|receipt|quittung|zahlungserinnerung|relance|statement|"
    r"kontoauszug|relev[ée]\s+de\s+compte|payment\s+reminder|rechnungskorrektur|"
    r"facture\s+rectificative)",
    re.I,
)


def _letterhead_text(line: Line) -> str:
    """The first segment of a line that is not a document title (nor OCR noise)."""
    for seg in line.segments or []:
        if not _TITLE.fullmatch(seg.text.strip(" :")) and not is_noise(seg.text):
            return party_text(seg.text, line)
    return party_text(line.text, line) if not line.segments else ""


def _letterhead(lines: list[Line], buyer: set[int] | None = None) -> Candidate | None:
    """The name printed on top of the first page: a clean line right above an address line
    (never a line of the buyer's block)."""
    first_page = [ln for ln in lines[:10] if ln.page == lines[0].page] if lines else []
    best: Candidate | None = None
    for i, line in enumerate(first_page):
        if buyer and line.index in buyer:
            continue
        text = _letterhead_text(line)
        words = [w for w in re.findall(r"[^\W\d_][\w'&.-]{2,}", text)]
        below = first_page[i + 1 : i + 3]
        address = any(is_address_line(b.text) for b in below[:1])
        if (
            not name_like(text)
            or ANY_LABEL.search(text)
            or not (len(words) >= 2 or (address and words and len(words[0]) >= 4))
            or CONTACT.search(text)
            or is_street(text)
            or is_country(text)
            or is_stamp(text)
        ):
            continue
        cand = Candidate(
            "vendor_name",
            text,
            text,
            line,
            line.bbox,
            0.4,
            1.0,
            {"bonus": (0.35 if address else 0.0) - 0.03 * i, "address": 1.0 if address else 0.0},
        )
        if best is None or cand.score > best.score:
            best = cand
    return best


def buyer_candidate(lines: list[Line], vendor: Candidate | None = None) -> Candidate | None:
    """The buyer's name under a buyer heading ("Rechnungsempfänger", "Bill to"), else the one
    address block printed without a heading that is not the vendor's (`fields_blocks`)."""
    headed = party_from_heading(lines, "buyer_name")
    if headed is not None or not lines:
        return headed
    return unheaded_buyer(lines, vendor)
