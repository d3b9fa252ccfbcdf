"""Vendor and buyer: party headings, legal forms and the letterhead, without templates.

The vendor is whoever a seller heading ("Verkäufer", "Seller", "Fournisseur") introduces, else
the company with a legal form (GmbH, Ltd, SDN BHD, B.V.) printed outside the buyer's block,
preferring the letterhead and names repeated in the footer, else the first line of the page
(receipts print the merchant on top).
"""

from __future__ import annotations

import re

from extractors.fields_labels import ANY_LABEL, COMPILED, LEGAL_FORMS
from extractors.fields_layout import Line, Segment
from extractors.fields_search import Candidate
from invoices.records import Method

_CUT = re.compile(r"\s*(?:[●•·|]|\s-\s|,\s*\d).*$")
_NOT_NAME = re.compile(
    r"^(?:nummer|globale|number|tel|fax|phone|e-?mail|www|http|gln|ust|vat|steuer|iban|bic|"
    r"page|seite|datum|date|invoice|rechnung|facture|receipt|tax|gst|reg|co\.?\s*no|no\.|"
    r"attn|to|bill\s*to|ship\s*to|z\.\s*hd|c/o)\b",
    re.I,
)


_CONTACT = re.compile(
    r"\b(?:tel|fax|phone|gst|vat|ust|reg|e-?mail|www|invoice|rechnung|receipt|date|datum|"
    r"steuer-?nr|steuernummer|handelsname|siret|siren|hrb|ansprechpartner)\b",
    re.I,
)


# an e-mail or web address printed under the letterhead ("invoices @ acme.de") is no name
_WEB = re.compile(r"@|\bwww\.|https?:|\w\.(?:com|de|fr|be|at|ch|nl|net|org|eu|lu|uk|it|es|my)\b")


def _name_like(text: str) -> bool:
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return (
        letters >= 3
        and digits <= letters / 3
        and len(text) <= 80
        and not _NOT_NAME.match(text)
        and not _WEB.search(text)
        and not LEGAL_FORMS.fullmatch(text.strip(" .,"))  # "Inc." alone: the name is lost
    )


_SPECKS = " |_.,:;'‘’\"“”~—=-"


def _noise(text: str) -> bool:
    """A segment OCR made of a stamp, a rule or a speck ("=", "|", "oe"): no word in it."""
    return sum(ch.isalnum() for ch in text) < 3


def _lead(line: Line) -> tuple[str, int]:
    """The first segment of a line that is not OCR noise, and its offset in the line's text."""
    offset = 0
    for seg in line.segments:
        if not _noise(seg.text):
            text = seg.text.lstrip(_SPECKS)  # "| Rechnungsempfänger"
            return text, offset + len(seg.text) - len(text)
        offset += len(seg.text) + 1
    return (line.segments[0].text, 0) if line.segments else (line.text, 0)


# OCR misreadings of the Malaysian legal form ("SON BHD", "5DN. BHD") read back as printed
_SDN_BHD = re.compile(
    r"\b(?:s|5)[od0]n\.?\s*(?:b|8)(?:h|e|el|il|ei|l|u)[dpo0]\.?(?![\w])|"
    r"(?<=\bSDN )(?:BH0|BHO|BLD|BUD|BED)(?![\w])",
    re.I,
)
# a registration number printed after the name: "(139386-X)", "(CO. REG 12345)"
_REG_NO = re.compile(r"\s*[(\[]\s*(?:co\.?\s*(?:reg\.?|no\.?)\s*)?\d[\w\s-]*[)\]]?\s*$", re.I)


def _clean(text: str) -> str:
    text = re.sub(r"^name\s*:\s*", "", text.strip(), flags=re.I)
    text = _SDN_BHD.sub(lambda m: "SDN BHD" if m.group(0).isupper() else "Sdn Bhd", text)
    text = _REG_NO.sub("", text)
    # OCR spacing inside brackets: "(KL )SDN" -> "(KL) SDN"
    text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
    text = re.sub(r"\)(?=[^\W\d_])", ") ", text)
    return _CUT.sub("", text).strip(" :,")


# OCR specks before a name: tokens without letters ("0.0.", "__") and short lower-case
# fragments ("a", "re ou") in front of a capitalised word; name particles ("de", "van") stay
_PARTICLES = "de|da|di|du|del|der|den|des|la|le|van|von|zu|het|el|al|y"
_NOISE_TOKEN = r"(?:(?![&+]\s)[\W\d_]*[\W_][\W\d_]*|(?!(?:" + _PARTICLES + r")\s)[a-zäöüéè]{1,3})"
_LEAD_NOISE = re.compile(rf"^(?:{_NOISE_TOKEN}\s+)+(?=[A-ZÄÖÜÀ-Ý])")
# a detached speck after a name ("GmbH .", "Inc. —") or attached junk ("Gartenweg -")
_TRAILING_NOISE = re.compile(r"(?:\s+[\W_]+|[-_:;|'\"~—=]+)$")
# the legal form with its last letter lost at the edge of a stamp or the page ("... GMB")
_GMBH_CUT = re.compile(r"(?<=\w )(?:GMB|Gmb)$")
_TRAILING_TITLE = re.compile(
    r"\s+(?:RECHNUNG|INVOICE|FACTURE|FACTUUR|GUTSCHRIFT|AVOIR|CREDIT NOTE|RECEIPT)\W*$"
)


def _party_text(text: str, line: Line) -> str:
    """A name as printed, cleaned; on OCR lines also without the specks OCR put around it."""
    value = _clean(text)
    if line.method != Method.OCR:
        return value
    value = _TRAILING_TITLE.sub("", _LEAD_NOISE.sub("", value.lstrip(_SPECKS)))
    value = _GMBH_CUT.sub(lambda m: m.group(0) + "H", value)
    return _TRAILING_NOISE.sub("", value).strip()


def _heading_hits(lines: list[Line], name: str) -> list[tuple[Line, str]]:
    """Lines that are a party heading of `name`, with any value printed after a colon."""
    hits = []
    for line in lines:
        seg, offset = _lead(line)
        for pattern, _ in COMPILED[name]:
            match = pattern.match(seg)
            if match is None or re.match(r"['’`]s\b", seg[match.end() :], re.I):
                continue  # "CUSTOMER'S COPY": a word about the party, not its heading
            rest = line.text[offset + match.end() :].strip()
            if len(line.segments) > 1 and not seg[match.end() :].strip(" :"):
                rest = ""  # the heading fills its own column; other columns are other fields
            elif rest and rest[0].isalnum() and not match.group(0).rstrip().endswith(":"):
                continue  # the label word is part of a sentence or a name
            hits.append((line, rest if match.group(0).rstrip().endswith(":") else ""))
            break
    return hits


def _value_after_heading(lines: list[Line], line: Line, rest: str) -> tuple[str, Line] | None:
    if rest and _name_like(rest):
        return _clean(rest), line
    for nxt in lines[line.index + 1 : line.index + 6]:
        if nxt.page != line.page:
            break
        if re.match(r"^name\s*:", nxt.text, re.I):
            return _with_continuation(lines, nxt, _clean(nxt.text)), nxt
        text = _lead(nxt)[0]
        if ":" in text or _heading_hits([nxt], "buyer_name") or _heading_hits([nxt], "vendor_name"):
            continue
        if re.fullmatch(
            r"(?:herrn?|frau|mr\.?|mrs\.?|ms\.?|m\.|mme|monsieur|madame)", text.strip(), re.I
        ):
            following = lines[nxt.index + 1] if nxt.index + 1 < len(lines) else None
            if following is not None and _name_like(following.text):
                return _clean(f"{text.strip()} {_clean(following.text)}"), nxt
        if _name_like(text):
            return _with_continuation(lines, nxt, _clean(text)), nxt
    return None


def _with_continuation(lines: list[Line], line: Line, name: str) -> str:
    """A name printed over two lines: the second carries the legal form ("... a.G.", "GmbH")."""
    if LEGAL_FORMS.search(name) or line.index + 1 >= len(lines):
        return name
    nxt = lines[line.index + 1]
    text = _lead(nxt)[0]
    if re.match(r"^name\s*:", nxt.text, re.I):
        text = _clean(nxt.text)
    if (
        nxt.page == line.page
        and LEGAL_FORMS.search(text)
        and _name_like(text)
        and not re.search(r"\d", text)
    ):
        return f"{name} {_clean(text)}"
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
            if _has_legal_form(seg.text) and _name_like(_party_text(seg.text, line)):
                key = _party_text(seg.text, line).casefold()
                counts[key] = counts.get(key, 0) + 1
    for line in lines:
        if line.index in buyer:
            continue
        for seg in _name_pieces(line):
            value = _party_text(seg.text, line)
            if not _has_legal_form(value) or not _name_like(value) or ANY_LABEL.search(value):
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
    return 1.0 if _ADDRESS_LINE.search(nxt.text) or _STREET.match(nxt.text) else 0.0


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
            text = _party_text(seg.text, line)
            if _name_like(text) and not ANY_LABEL.search(text) and _covers(_words(text), part):
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
    """The vendor's name: seller heading, else a legal-form company, else the letterhead."""
    headed = party_from_heading(lines, "vendor_name")
    if headed is not None:
        headed.field = "vendor_name"
        return headed
    buyer = buyer_block(lines)
    found = _legal_form_candidates(lines, buyer)
    letterhead = _letterhead(lines, buyer)
    if letterhead is not None and letterhead.extra.get("address"):
        found.append(letterhead)
    if found:
        return _whole_name(max(found, key=lambda c: (c.score, -c.line.index)), lines, buyer)
    return _whole_name(letterhead, lines, buyer) if letterhead is not None else None


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
# a document title printed beside the letterhead ("INVOICE    Aquatronic")
_TITLE = re.compile(
    r"(?:tax\s+|commercial\s+|proforma\s+|pro\s+forma\s+)?(?:invoice|rechnung|facture|factuur|"
    r"gutschrift|credit\s+note|avoir|receipt|quittung|zahlungserinnerung|relance|statement|"
    r"kontoauszug|relev[ée]\s+de\s+compte|payment\s+reminder|rechnungskorrektur|"
    r"facture\s+rectificative)",
    re.I,
)


def is_country(text: str) -> bool:
    """Whether a piece of text is only a country's name."""
    return bool(_COUNTRY.fullmatch(text.strip(" .,")))


def _letterhead_text(line: Line) -> str:
    """The first segment of a line that is not a document title (nor OCR noise)."""
    for seg in line.segments or []:
        if not _TITLE.fullmatch(seg.text.strip(" :")) and not _noise(seg.text):
            return _party_text(seg.text, line)
    return _party_text(line.text, line) if not line.segments else ""


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
        address = any(_ADDRESS_LINE.search(b.text) or _STREET.match(b.text) for b in below[:1])
        if (
            not _name_like(text)
            or ANY_LABEL.search(text)
            or not (len(words) >= 2 or (address and words and len(words[0]) >= 4))
            or _CONTACT.search(text)
            or _STREET.match(text)
            or is_country(text)
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


def buyer_candidate(lines: list[Line]) -> Candidate | None:
    """The buyer's name under a buyer heading ("Rechnungsempfänger", "Bill to")."""
    return party_from_heading(lines, "buyer_name")


_PAGE_MARK = re.compile(r"^(?:seite|page|p\.)\s*\d", re.I)
_SEPARATORS = re.compile(r"\s+[·•|]\s+|\s+-\s+")


def _address_parts(lines: list[Line], start: Line, name: str = "") -> list[str]:
    """The address lines printed under a name, split at "·" separators, without the country
    (or the name repeated in a sender line: "Name · Street 1 · 12345 Town")."""
    parts: list[str] = []
    for nxt in lines[start.index + 1 : start.index + 7]:
        if nxt.page != start.page or len(parts) >= 3:
            break
        text = _lead(nxt)[0].strip()
        if _REG_NO.fullmatch(text) or re.fullmatch(r"[\d\s:./-]+|.*\d{1,2}:\d{2}.*", text):
            continue  # a registration number or a date/time line between name and address
        if _CONTACT.search(text) or _PAGE_MARK.match(text):
            break
        if not re.search(r"\d", text) and parts and not re.search(r"[A-Z]{3,}", text):
            break
        text = re.sub(r"^(?:anschrift|adresse|address)\s*:\s*", "", text, flags=re.I)
        pieces = [p.strip() for p in _SEPARATORS.split(text) if p.strip()]
        keep = [
            p
            for p in pieces
            if not is_country(p) and not _CONTACT.search(p) and _clean(p).casefold() != name
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
        and any(_clean(seg.text).casefold() == name for seg in (ln.segments or []))
    ]
    for start in starts:
        parts = _address_parts(lines, start, name)
        if parts and any(re.search(r"\d", p) for p in parts):
            value = _join_address(parts)
            return Candidate(
                "vendor_address", value, value, vendor.line, vendor.line.bbox, 0.6, 0.8
            )
    return None
