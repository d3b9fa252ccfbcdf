"""The vendor's address: the lines printed under its name, and what an address line looks like.

The address is read under the vendor's name where it is first printed with an address under
it (the letterhead, a sender line, the footer), split at "·" separators, without the country,
contact lines or the name repeated. The line predicates here also tell the party reading
(`fields_parties`) whether a name has an address under it.

The candidate carries evidence for the confidence model (`address_evidence`): how much the
value reads as a postal address (a street, a postcode and town), whether it holds what no
address holds (a heading, a label, a date, an item code, a contact), whether its lines are the
buyer's block, whether the seller's ids and contacts are printed on its rows or right under
them (or beside another street: the seller's address is elsewhere), and OCR's confidence in the least sure word of all its lines (not only the name's).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from extractors.fields.names import CONTACT, REG_NO, clean_name, lead
from extractors.fields.search import Candidate
from extractors.layout.lines import Line, Segment

_ADDRESS_LINE = re.compile(
    r"\d.*,|,.*\d|\b\d{4,5}\b|\b(?:jalan|jln|lot|no\.?|str\.|street|road|rue)\b", re.I
)
# a street line: a street word and a house number ("41 avenue Jean Jaurès", "Hauptstraße 172")
_STREET = re.compile(
    r"(?=.*\d)(?:.*(?:stra(?:ß|ss|b)e|str\.|weg\b|allee\b|platz\b|gasse\b|ring\b|avenue|\bav\.|"
    r"boulevard|\bbd\b|\brue\b|chemin|\bplace\b|\bquai\b|\bstreet\b|\bst\.|\broad\b|\brd\.?\b|"
    r"\blane\b|\bdrive\b|\bway\b|park\b|\bjalan\b|\bjln\b|\blorong\b|\btaman\b))",
    re.I,
)
_COUNTRY = re.compile(
    r"(?:deutschland|germany|allemagne|österreich|austria|autriche|schweiz|switzerland|suisse|"
    r"france|frankreich|belgique|belgium|belgien|nederland|netherlands|niederlande|"
    r"luxembourg|luxemburg|italia|italy|italien|espa[ñn]a|spain|spanien|polska|poland|polen|"
    r"united\s+kingdom|great\s+britain|uk|england|ireland|irland|usa|u\.s\.a\.|"
    r"united\s+states(?:\s+of\s+america)?|malaysia|singapore|danmark|denmark|sverige|sweden|"
    r"norge|norway|česko|czech\s+republic|canada|australia)",
    re.I,
)


# a postcode and a town ("10115 Berlin", "F-67000 Strasbourg", "Zürich 8001"), or a UK one
POSTCODE_TOWN = re.compile(
    r"(?:^|\s)(?:[A-Z]{1,2}-)?\d{4,5}\s+[^\W\d_]{2,}|[^\W\d_]{3,}\s+\d{4,5}$|"
    r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b"
)


def is_country(text: str) -> bool:
    """Whether a piece of text is only a country's name."""
    return bool(_COUNTRY.fullmatch(text.strip(" .,")))


def is_address_line(text: str) -> bool:
    """Whether a line reads as an address: a number beside a comma, a postcode, a street
    word ("Jalan", "rue", "Str.") or a street with its house number."""
    return bool(_ADDRESS_LINE.search(text) or _STREET.match(text))


def is_street(text: str) -> bool:
    """Whether a line is a street line: a street word and a house number."""
    return bool(_STREET.match(text))


_PAGE_MARK = re.compile(r"^(?:seite|page|p\.)\s*\d", re.I)
# "·" between a sender line's parts, as printed and as OCR reads it (":", "»", "-", ".")
_SEPARATORS = re.compile(r"\s+[·•|:»«+]\s+|\s+[-.]\s+|\s+-\.?(?=[^\W_])")
# a separator left dangling at the end of a column segment: the line goes on in the next one
_DANGLING = re.compile(r"\s[·•|:»«.-]$")
# the tax id, bank account or e-mail after the address ("N° TVA: BE...", "UID: ATU...",
# "IBAN: DE...", "invoices@..."): the address has ended
_ID_OR_MAIL = re.compile(
    r"@|\b(?:tva|uid|btw|mwst|ust-?id\w*|vat\s*(?:reg|no|id)|iban|bic|swift|id\W{0,3}nr)\b", re.I
)
# a receipt stamp OCR read into the header ("[EINGANG 23. SEP. 2025", "REÇU LE 07/05/2025"),
# or any line with a date: no address line prints one
_STAMP = re.compile(
    r"\b(?:eingang|eingegangen|erhalten|gebucht|bezahlt|received|paid|booked|re[çc]u|pay[ée])\b|"
    r"\b\d{1,2}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{2,4}\b",
    re.I,
)
# specks OCR puts around an address part ("‚Gartenweg 103", "Parkstraße 175 -", "Wien.")
_LEAD_SPECKS = re.compile(r"^[^\w(]+")
_TRAIL_SPECKS = re.compile(r"(?:\s+[^\w)]+|[-:;|»«·•]+)$")


def is_stamp(text: str) -> bool:
    """Whether a line is a receipt stamp's text or carries a date (no address or letterhead
    line prints one)."""
    return bool(_STAMP.search(text)) and not is_street(text)


def _same_name(piece: str, name: str) -> bool:
    """Whether a sender line's piece is the vendor's name, also as OCR misread it
    ("Certromark e.K." for "Centromark e.K.")."""
    piece = clean_name(piece).casefold()
    if not name or re.search(r"\d", piece):
        return piece == name
    head = name[: len(piece)] if len(piece) >= 6 else name  # the legal form lost
    return any(SequenceMatcher(None, piece, whole).ratio() >= 0.8 for whole in (name, head))


_FOLD = str.maketrans("äöüÄÖÜ", "aouAOU")


def _folded(name: str) -> str:
    """A name compared without umlauts: the vendor's may have them back (`fields_names`)
    where OCR dropped them in a repeat of it."""
    return name.casefold().translate(_FOLD)


def _line_text(line: Line) -> str:
    """The text of a line's first column, with the columns after it while a separator is
    left dangling at a column's end ("Name · Street 1 ·   12345 Town": OCR cuts the line at
    the wide gap after a separator)."""
    text, _ = lead(line)
    segments = [s.text for s in line.segments]
    start = next((i for i, seg in enumerate(segments) if text and seg.endswith(text)), None)
    if start is None:
        return text
    for seg in segments[start + 1 :]:
        if not _DANGLING.search(text):
            break
        text = f"{text} {seg}"
    return text


def _clean_part(part: str) -> str:
    """An address part without the specks OCR put around it, and with OCR misreadings of
    "ß" and of UK postcodes read back (`repair_address`). A comma or a full stop ending the
    part is kept: receipts print them ("81200 JOHOR BAHRU, JOHOR."), and a speck cannot be
    told from them by its text; one standing apart (" .") is a speck."""
    part = _TRAIL_SPECKS.sub("", _LEAD_SPECKS.sub("", part.strip()))
    return repair_address(part)


# a UK postcode as OCR reads it: "Gl 1XQ", "G1 IXQ", "MI 1AE" (I, l, i, O read for digits)
_UK_POSTCODE = re.compile(r"\b([A-Z]{1,2})([0-9IilO])([0-9A-Z]?)\s+([0-9IilO])([A-Za-z]{2})$")
_AS_DIGIT = str.maketrans("IilO", "1110")
# "ß" read as "B" (or "8", "G") inside a street word: "IndustriestraBe", "GroBe"
_SHARP_S = re.compile(r"(?<=[a-zäöü])[B8G](?=e\b|en\b|er\b)")
# a postcode split by OCR at a speck: "8 0331 München", "101 15 Berlin"
_SPLIT_POSTCODE = re.compile(r"^(\d{1,4}) (\d{1,4})(?= [^\W\d_]{2,})")


def repair_address(part: str) -> str:
    """An address part with OCR misreadings read back where the format leaves no doubt: a
    UK postcode's digits ("Glasgow Gl 1XQ" -> "Glasgow G1 1XQ"), "ß" read as "B" in a word
    ("IndustriestraBe"), a postcode split in two ("101 15 Berlin")."""
    uk = _UK_POSTCODE.search(part)
    if uk:
        area, digit, rest, inward, unit = uk.groups()
        code = f"{area}{digit.translate(_AS_DIGIT)}{rest} {inward.translate(_AS_DIGIT)}{unit.upper()}"
        town = part[: uk.start()].rstrip()
        part = (town[:-1] if town.endswith(".") else town) + (" " if town else "") + code
    part = _SHARP_S.sub("ß", part)
    split = _SPLIT_POSTCODE.match(part)
    if split and not is_street(part) and 4 <= len(split.group(1) + split.group(2)) <= 5:
        part = split.group(1) + split.group(2) + part[split.end() :]
    return part


def _address_parts(
    lines: list[Line], start: Line, name: str = ""
) -> tuple[list[str], list[Line]]:
    """The address lines printed under a name, split at "·" separators, without the country
    (or the name repeated in a sender line: "Name · Street 1 · 12345 Town"); a receipt stamp
    or a date line between them is passed over, a tax id or an e-mail ends them. Also the
    lines they were read from."""
    parts: list[str] = []
    used: list[Line] = []
    for nxt in lines[start.index + 1 : start.index + 7]:
        if nxt.page != start.page or len(parts) >= 3:
            break
        text = _line_text(nxt).strip()
        if REG_NO.fullmatch(text) or re.fullmatch(r"[\d\s:./-]+|.*\d{1,2}:\d{2}.*", text):
            continue  # a registration number or a date/time line between name and address
        if is_stamp(text):
            continue  # a receipt stamp over the header
        if CONTACT.search(text) or _PAGE_MARK.match(text) or _ID_OR_MAIL.search(text):
            break
        if not re.search(r"\d", text) and parts and not re.search(r"[A-Z]{3,}", text):
            break
        text = re.sub(r"^(?:anschrift|adresse|address)\s*:\s*", "", text, flags=re.I)
        pieces = [_clean_part(p) for p in _SEPARATORS.split(text)]
        pieces = [p for p in pieces if p]
        keep = [
            p
            for p in pieces
            if not is_country(p)
            and not CONTACT.search(p)
            and not _ID_OR_MAIL.search(p)
            and not _same_name(p, name)
        ]
        if not keep:
            if parts:
                break
            continue
        parts.extend(keep)
        used.append(nxt)
        if len(keep) < len(pieces):
            break  # the country or a contact ends the address
    return parts[:3], used


def _join_address(parts: list[str]) -> str:
    """Address lines on one line: ", " between them, no doubled comma. An address that
    sets its own commas without spaces ("7/4,Kawasan", as receipts print) is running text
    wrapped at the paper's edge: its lines are joined with a space."""
    wrapped = any(re.search(r",\S", part) for part in parts)
    out = parts[0]
    for part in parts[1:]:
        glue = wrapped or out.endswith(",") or part.startswith(",")
        out += (" " if glue else ", ") + part
    return out


def address_candidate(
    lines: list[Line], vendor: Candidate | None, buyer: Candidate | None = None
) -> Candidate | None:
    """The vendor's address: the lines printed under its name (where it is printed first with
    an address under it, e.g. the footer when the letterhead is the name alone), with the
    evidence of `address_evidence` (`buyer`: the buyer's name as read, if any)."""
    if vendor is None:
        return None
    name = vendor.value.casefold() if isinstance(vendor.value, str) else ""
    starts = [vendor.line] + [
        ln
        for ln in lines
        if ln is not vendor.line
        and name
        and any(_folded(clean_name(seg.text)) == _folded(name) for seg in (ln.segments or []))
    ]
    for start in starts:
        parts, used = _address_parts(lines, start, name)
        if parts and any(re.search(r"\d", p) for p in parts):
            value = _join_address(parts)
            extra = address_evidence(lines, parts, used, buyer)
            return Candidate(
                "vendor_address", value, value, vendor.line, vendor.line.bbox, 0.6, 0.8, extra
            )
    return None


# what no postal address holds: a party heading, a document label, a date, an e-mail, an
# item code or reference ("ELB-E001", "PO-2025-0042"), a VAT or tax number
_FOREIGN = re.compile(
    r"\b(?:destinataire|empf[äa]nger|rechnungsempf[äa]nger|bill\s+to|sold\s+to|invoice\s+to|"
    r"customer|kunde|client|factur[ée]\s+[àa]|re[çc]u\s+le|eingegangen|received)\b|"
    r"\b\d{1,2}\s*([./])\s*\d{1,2}\s*\1\s*\d{2,4}\b|\b\d{1,2}-\d{1,2}-\d{4}\b|@|\bwww\.|"
    r"(?-i:\b[A-Z]{3,}-[A-Z]*\d{2,}\b|\b[A-Z]{2,}-[A-Z]+\d{2,}\b)|"
    r"\b(?:uid|vat|tva|ust|ust-?id|gst|btw|mwst|siret|hrb|tel|fax|phone|iban|bic)\b",
    re.I,
)
# the seller's ids and contacts, printed beside or under its address
_SELLER_MARK = re.compile(
    r"@|\bwww\.|https?:|\b(?:tel|t[ée]l[ée]phone|telefon|phone|fax|mobile)\b|"
    r"\b(?:vat|tva|ust|uid|gst|btw|mwst|siret|siren|hrb|iban|bic|swift)\b|steuer|"
    r"\+\d{2}\s?\d",
    re.I,
)


def address_evidence(
    lines: list[Line], parts: list[str], used: list[Line], buyer: Candidate | None
) -> dict[str, float]:
    """The evidence of an address read from `used` lines as `parts`:

    - `address_form`: a street line (0.5) and a postcode with its town (0.5) among the parts;
    - `address_foreign`: a part holds what no address does (`_FOREIGN`);
    - `address_buyer`: a line of it is the buyer's name or one of the four lines under it;
    - `address_seller`: the seller's ids or contacts (`_SELLER_MARK`) on its rows (any
      column) or on the two lines under it, or its street printed again on such a row;
    - `address_other_seller`: another street is printed on a row with the seller's ids (the
      seller's own address is elsewhere: this one may be the buyer's);
    - `value_confidence`: OCR's least sure word over the address's own text on every line.
    """
    form = 0.5 * any(is_street(p) for p in parts) + 0.5 * any(
        POSTCODE_TOWN.search(p) for p in parts
    )
    foreign = any(_FOREIGN.search(p) for p in parts)
    rows = {ln.index for ln in used}
    near_buyer = False
    if buyer is not None and used and buyer.line.page == used[0].page:
        near_buyer = bool(rows & set(range(buyer.line.index, buyer.line.index + 5)))
    last = used[-1].index if used else -1
    after = [ln for ln in lines[last + 1 : last + 3] if used and ln.page == used[0].page]
    seller = any(_SELLER_MARK.search(ln.text) for ln in [*used, *after])
    # streets printed elsewhere on a row with the seller's ids (a footer, a sender block)
    own = {ln.index for ln in used}
    streets = [
        _key(seg.text)
        for ln in lines
        if ln.index not in own and _SELLER_MARK.search(ln.text)
        for seg in ln.segments
        if is_street(seg.text)
    ]
    mine = [_key(p) for p in parts if is_street(p)]
    repeated = any(_alike(a, b) for a in mine for b in streets)
    return {
        "address_form": form,
        "address_foreign": 1.0 if foreign else 0.0,
        "address_buyer": 1.0 if near_buyer else 0.0,
        "address_seller": 1.0 if seller or repeated else 0.0,
        "address_other_seller": 1.0 if streets and not repeated else 0.0,
        "value_confidence": _least_word(used),
    }


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text).casefold()


def _alike(a: str, b: str) -> bool:
    """Two printings of one street, allowing a misread character or two."""
    return a == b or (min(len(a), len(b)) >= 6 and SequenceMatcher(None, a, b).ratio() >= 0.85)


def _least_word(used: list[Line]) -> float:
    """The least OCR confidence among the words of the address's own text (the first column
    of each line it was read from); 1.0 when no line has words."""
    found = [
        w.confidence
        for ln in used
        for w in ln.words
        if (seg := _lead_segment(ln)) is None
        or seg.bbox is None
        or (w.bbox[0] < seg.bbox[2] and w.bbox[2] > seg.bbox[0])
    ]
    return min(found) if found else 1.0


def _lead_segment(line: Line) -> Segment | None:
    """The segment `lead` reads a line's text from (the first that is not OCR noise)."""
    text = lead(line)[0]
    for seg in line.segments:
        if text and text in seg.text:
            return seg
    return None
