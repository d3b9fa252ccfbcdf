"""The vendor's address: the lines printed under its name, and what an address line looks like.

The address is read under the vendor's name where it is first printed with an address under
it (the letterhead, a sender line, the footer), split at "·" separators, without the country,
contact lines or the name repeated. The line predicates here also tell the party reading
(`fields_parties`) whether a name has an address under it.
"""

from __future__ import annotations

import re

from extractors.fields.names import CONTACT, REG_NO, clean_name, lead
from extractors.fields.search import Candidate
from extractors.layout.lines import Line

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
_SEPARATORS = re.compile(r"\s+[·•|]\s+|\s+-\s+")


def _address_parts(lines: list[Line], start: Line, name: str = "") -> list[str]:
    """The address lines printed under a name, split at "·" separators, without the country
    (or the name repeated in a sender line: "Name · Street 1 · 12345 Town")."""
    parts: list[str] = []
    for nxt in lines[start.index + 1 : start.index + 7]:
        if nxt.page != start.page or len(parts) >= 3:
            break
        text = lead(nxt)[0].strip()
        if REG_NO.fullmatch(text) or re.fullmatch(r"[\d\s:./-]+|.*\d{1,2}:\d{2}.*", text):
            continue  # a registration number or a date/time line between name and address
        if CONTACT.search(text) or _PAGE_MARK.match(text):
            break
        if not re.search(r"\d", text) and parts and not re.search(r"[A-Z]{3,}", text):
            break
        text = re.sub(r"^(?:anschrift|adresse|address)\s*:\s*", "", text, flags=re.I)
        pieces = [p.strip() for p in _SEPARATORS.split(text) if p.strip()]
        keep = [
            p
            for p in pieces
            if not is_country(p) and not CONTACT.search(p) and clean_name(p).casefold() != name
        ]
        if not keep:
            if parts:
                break
            continue
        parts.extend(keep)
        if len(keep) < len(pieces):
            break  # the country or a contact ends the address
    return parts[:3]


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


def address_candidate(lines: list[Line], vendor: Candidate | None) -> Candidate | None:
    """The vendor's address: the lines printed under its name (where it is printed first with
    an address under it, e.g. the footer when the letterhead is the name alone)."""
    if vendor is None:
        return None
    name = vendor.value.casefold() if isinstance(vendor.value, str) else ""
    starts = [vendor.line] + [
        ln
        for ln in lines
        if ln is not vendor.line
        and name
        and any(clean_name(seg.text).casefold() == name for seg in (ln.segments or []))
    ]
    for start in starts:
        parts = _address_parts(lines, start, name)
        if parts and any(re.search(r"\d", p) for p in parts):
            value = _join_address(parts)
            return Candidate(
                "vendor_address", value, value, vendor.line, vendor.line.bbox, 0.6, 0.8
            )
    return None
