"""Header fields without per-vendor templates: labels, layout and checksums.

Each field is found where any invoice prints it: right of or below its label (see
`fields_search`), or, for identifiers with a checksum (IBAN, VAT id), anywhere the checksum
holds. The result is one `Candidate` per field with the evidence its confidence is built from.
Money fields are chosen jointly in `fields_money`, parties in `fields_parties`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from stdnum import bic as std_bic
from stdnum import iban as std_iban
from stdnum.ch import vat as std_ch_vat
from stdnum.eu import vat as std_vat
from stdnum.gb import vat as std_gb_vat

from extractors.amounts import currency_in, detect_decimal_separator
from extractors.dates import day_first_for, find_dates
from extractors.fields_layout import Line
from extractors.fields_parties import buyer_block
from extractors.fields_search import Candidate, best, candidates, label_hits, text_box
from invoices.records import DocumentType

_ID_TOKEN = re.compile(r"#?[A-Za-z0-9][A-Za-z0-9/_.\-#]*[A-Za-z0-9]|\d")
_ID_STOP = re.compile(r"^(?:nr|no|nummer|number|num|n°|datum|date|vom|du|of|page|seite)\.?$", re.I)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_VAT = re.compile(r"\b(?:[A-Z]{2}|EL)[ ]?[0-9A-Z][0-9A-Z .]{6,16}[0-9A-Z]\b")
# Swiss UID with its VAT suffix ("CHE-123.456.789 MWST"), compacted as the register prints it
_CH_VAT = re.compile(r"\bCHE[-\s]?\d{3}[.\s]{0,2}\d{3}[.\s]{0,2}\d{3}(?:\s?(?:MWST|TVA|IVA))?\b")
_BIC = re.compile(r"\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b")


@dataclass(frozen=True)
class DocumentContext:
    """What the whole document says about how to read it: language, country, separators."""

    language: str
    country: str | None
    day_first: bool
    decimal_sep: str | None


_LANG_WORDS = {
    "de": r"\b(?:rechnung|und|der|die|das|betrag|summe|datum|steuer|zahlbar)\b",
    "fr": r"\b(?:facture|et|le|la|les|montant|date|tva|total|payer)\b",
    "en": r"\b(?:invoice|and|the|amount|total|date|tax|due|payment)\b",
    "nl": r"\b(?:factuur|en|het|de|bedrag|totaal|btw|betaling)\b",
}


def document_context(full_text: str) -> DocumentContext:
    """The document's language, country and number conventions, voted over its text."""
    lowered = full_text.lower()
    counts = {lang: len(re.findall(p, lowered)) for lang, p in _LANG_WORDS.items()}
    language = max(counts, key=lambda k: counts[k]) if any(counts.values()) else "en"
    country = None
    if re.search(r"\b(?:usa|united states|u\.s\.a\.)\b", lowered) or (
        re.search(r"\b[A-Z]{2} \d{5}(?:-\d{4})?\b", full_text) and "$" in full_text
    ):
        country = "US"
    return DocumentContext(
        language, country, day_first_for(language, country), detect_decimal_separator(full_text)
    )


_ID_AFTER_SPECK = re.compile(r"\s+[A-Z]{1,4}[-/]?\d[\w/-]{3,}")


def parse_identifier(text: str) -> tuple[str, int, int] | None:
    """The first token that looks like a document number (has a digit, not a date)."""
    for match in _ID_TOKEN.finditer(text[:80]):
        token = match.group(0).rstrip(".-/")
        if _ID_STOP.match(token):
            continue
        if not re.search(r"\d", token):
            if len(token) <= 2:
                continue
            return None  # a word follows the label: its value is not a number here
        if re.fullmatch(r"\d", token) and _ID_AFTER_SPECK.match(text, match.end()):
            continue  # an OCR speck read as a digit before the number ("0 AV-2025-0457")
        if find_dates(token) or re.fullmatch(r"\d{1,2}", token):
            return None
        return token, match.start(), match.start() + len(token)
    return None


# a structured number OCR broke before a hyphen ("PO-FR-2025 -00038"); not after one
# ("PO-US-2025- 82545"): there the rest is lost and the next column's number follows
_BROKEN_AT_HYPHEN = re.compile(r"\b[A-Za-z0-9]+-[A-Za-z0-9-]*?[A-Za-z0-9] (?=-\d)")


def parse_order(text: str) -> tuple[str, int, int] | None:
    """A purchase-order number; one OCR broke at a hyphen is read whole."""
    broken = _BROKEN_AT_HYPHEN.search(text[:80])
    if broken is None:
        return parse_identifier(text)
    gap = broken.end() - 1  # the space OCR put inside the number
    hit = parse_identifier(text[:gap] + text[gap + 1 :])
    if hit is None:
        return None
    value, start, end = hit
    return value, start + (start > gap), end + (end > gap)


# OCR reads a zero as "@" or "O" between digits ("14/1@/2017"); same length, so offsets hold
_OCR_ZERO = re.compile(r"(?<=[\d./-])[@Oo](?=[\d./-])")


# OCR specks glued to the front of a value ("|.04/18/2025", "‘04/18/2025"): blanked, same length
_SPECKS = re.compile(r"(?<!\S)[|.,'‘’\"“\[(]+(?=\d)")


def _blank_specks(text: str) -> str:
    return _SPECKS.sub(lambda m: " " * len(m.group(0)), text)


def _date_parser(ctx: DocumentContext):
    def parse(text: str) -> tuple[Any, int, int] | None:
        found = find_dates(_blank_specks(_OCR_ZERO.sub("0", text[:60])), ctx.day_first)
        return (found[0].value, found[0].start, found[0].end) if found else None

    return parse


def _checked(lines: list[Line], name: str, pattern: re.Pattern[str], valid) -> list[Candidate]:
    """Values with a checksum anywhere in the text, stronger where a label precedes them."""
    labelled = {(ln.index) for ln, _, _ in label_hits(lines, name)}
    found = []
    for line in lines:
        for match in pattern.finditer(line.text):
            compact = re.sub(r"[ .]", "", match.group(0))
            if not valid(compact):
                continue
            weight = 1.0 if line.index in labelled else 0.7
            found.append(
                Candidate(
                    name,
                    compact,
                    match.group(0),
                    line,
                    text_box(line, match.start(), match.end()),
                    weight,
                    1.0,
                    {"checksum": 1.0},
                )
            )
    return found


_BUYER_WORDS = re.compile(r"\b(?:ihre|your|votre|uw|kunde|customer|client|buyer|k[äa]ufer)\b", re.I)


def _buyer_context(line: Line) -> bool:
    """Whether a line names the buyer's own identifiers ("Ihre USt-IdNr.", "your VAT no.")."""
    return bool(_BUYER_WORDS.search(line.text))


def _vat_format(compact: str) -> bool:
    return bool(re.fullmatch(r"(?:[A-Z]{2}|EL)[0-9A-Z]{8,12}", compact)) and bool(
        re.search(r"\d{6}", compact)
    )


def vat_valid(compact: str) -> bool:
    """Whether a compact VAT id's checksum holds (EU member states and the United Kingdom)."""
    if compact.startswith("GB"):
        return std_gb_vat.is_valid(compact)
    return std_vat.is_valid(compact)


def _repaired_vat(compact: str) -> str | None:
    """A labelled VAT id that fails its checksum as read, made valid by reading "O" as zero
    or by dropping letters OCR glued to its end ("GB349945893RER"); None when neither does."""
    if vat_valid(compact):
        return None
    digits = compact[:2] + compact[2:].replace("O", "0").replace("o", "0")
    for value in (digits, re.sub(r"[A-Z]+$", "", compact), re.sub(r"[A-Z]+$", "", digits)):
        if value != compact and len(value) >= 8 and vat_valid(value):
            return value
    return None


def vat_candidates(lines: list[Line]) -> list[Candidate]:
    """Seller VAT ids: checksum-valid, or well-formed after a VAT label (not the buyer's)."""
    found = _checked(lines, "vendor_vat_id", _VAT, vat_valid)
    for swiss in _checked(lines, "vendor_vat_id", _CH_VAT, std_ch_vat.is_valid):
        swiss.value = std_ch_vat.compact(swiss.value)
        found.append(swiss)
    seen = {(c.line.index, c.value) for c in found}

    def parse(text: str) -> tuple[Any, int, int] | None:
        match = _VAT.search(text[:40])
        if match and _vat_format(re.sub(r"[ .]", "", match.group(0))):
            compact = re.sub(r"[ .]", "", match.group(0))
            return _repaired_vat(compact) or compact, match.start(), match.end()
        return None

    for cand in candidates(lines, "vendor_vat_id", parse, below=1):
        if (cand.line.index, cand.value) in seen:
            continue
        if cand.value != re.sub(r"[ .]", "", cand.raw):  # valid once OCR noise was read over
            cand.extra.update(checksum=1.0, skipped=1.0)
        cand.label_weight *= 0.8
        found.append(cand)
    return [c for c in found if not _buyer_context(c.line)]


def iban_candidates(lines: list[Line]) -> list[Candidate]:
    """IBANs whose checksum holds: anywhere as printed, and after an IBAN label read through
    the separators and misread digits OCR puts inside the groups (marked as repaired)."""
    found = _checked(lines, "iban", _IBAN, std_iban.is_valid)
    seen = {(c.line.index, c.value) for c in found}
    for cand in candidates(lines, "iban", read_iban, below=1):
        if (cand.line.index, cand.value) not in seen:
            cand.extra.update(checksum=1.0, skipped=1.0)
            found.append(cand)
    return found


# what OCR puts between the groups of an IBAN: spaces, stray punctuation, a hyphen
_IBAN_GLUE = re.compile(r"[\s.,:;'`_|\-]")
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9OoIl]{2}(?=[\s.,:;'`_|\-]*[A-Za-z0-9])")
# OCR misreadings of digits, repaired only where the country's format wants a digit
_AS_DIGIT = str.maketrans("OoDIl|SZB", "001111528")


def _iban_length(country: str) -> int | None:
    """The length of an IBAN of this country (None for a country without IBANs)."""
    info = std_iban._ibandb.info(country)  # noqa: SLF001 - the registry stdnum validates with
    structure = info[0][1].get("bban") if info and info[0][1] else None
    if not structure:
        return None
    return 4 + sum(int(n) for n in re.findall(r"(\d+)!?[nac]", structure))


def read_iban(text: str) -> tuple[str, int, int] | None:
    """The IBAN right of a label read through OCR noise: the country's length of characters
    after the country code, separators skipped, digits misread as letters repaired where the
    country's format has digits; accepted only when the checksum holds."""
    start = _IBAN_START.search(text[:20])
    if start is None:
        return None
    length = _iban_length(start.group(0)[:2])
    if length is None:
        return None
    chars: list[str] = []
    end = start.start()
    for pos in range(start.start(), len(text)):
        if len(chars) == length:
            break
        if text[pos].isalnum():
            chars.append(text[pos])
            end = pos + 1
        elif not _IBAN_GLUE.match(text[pos]):
            return None
    raw = "".join(chars)
    if len(raw) != length:
        return None
    for value in (raw, _digits_where_numeric(raw)):
        if value and std_iban.is_valid(value) and not text[end : end + 1].isalnum():
            return value, start.start(), end
    return None


def _digits_where_numeric(iban: str) -> str | None:
    """The IBAN with letters read back as digits where its country's format has only digits."""
    info = std_iban._ibandb.info(iban[:2])  # noqa: SLF001
    structure = info[0][1].get("bban", "") if info and info[0][1] else ""
    if not re.fullmatch(r"(?:\d+!?n)+", structure):
        return None
    return iban[:2] + iban[2:].translate(_AS_DIGIT)


def bic_candidates(lines: list[Line]) -> list[Candidate]:
    """BICs printed after a BIC/SWIFT label."""

    def parse(text: str) -> tuple[Any, int, int] | None:
        match = _BIC.search(text[:40])
        if match and std_bic.is_valid(match.group(0)):
            return match.group(0), match.start(), match.end()
        return None

    return candidates(lines, "bic", parse, below=1)


# an e-mail address as OCR reads it: spaces around "@", inside the domain ("at laspoint .fr")
# and a colon for its last dot; the local part may be lost ("@ acme.de")
_EMAIL = re.compile(
    r"(?<![\w.+-])([\w.+-]*)\s?@\s?([a-z][a-z0-9-]+(?:\.[a-z0-9-]+)*(?:\s[a-z0-9-]+){0,2})"
    r"\s?[.:]\s?([a-z]{2,4})(?![\w.])"
)


def email_candidate(lines: list[Line], buyer: set[int]) -> Candidate | None:
    """The vendor's e-mail address: the first one printed outside the buyer's block (the
    letterhead or the footer), read through the spaces and specks OCR puts into it."""
    for line in lines:
        if line.index in buyer:
            continue
        match = _EMAIL.search(line.text)
        if match is None:
            continue
        local, domain, tld = match.groups()
        value = f"{local}@{domain.replace(' ', '')}.{tld}".lower()
        repaired = value != match.group(0).lower() or not local
        weight = 0.6 if repaired else 0.7  # read through OCR spaces, or its user part lost
        return Candidate("vendor_email", value, match.group(0), line, line.bbox, weight, 1.0)
    return None


def currency_candidate(lines: list[Line]) -> Candidate | None:
    """The invoice currency: ISO codes and symbols printed, voted by frequency."""
    votes: Counter[str] = Counter()
    first: dict[str, Line] = {}
    for line in lines:
        for code in re.findall(
            r"\b(EUR|USD|GBP|CHF|INR|PLN|MYR|JPY|SEK|NOK|DKK|CZK|CAD|AUD|SGD)\b", line.text
        ):
            votes[code] += 2
            first.setdefault(code, line)
        symbol = currency_in(re.sub(r"\b[A-Z]{3}\b", "", line.text))
        if symbol:
            votes[symbol] += 1
            first.setdefault(symbol, line)
    if not votes:
        return None
    code, count = votes.most_common(1)[0]
    share = count / sum(votes.values())
    line = first[code]
    return Candidate(
        "currency", code, code, line, line.bbox, 0.6 + 0.4 * share, 1.0, {"agreement": share}
    )


_DOC_TYPES = [
    (DocumentType.CREDIT_NOTE, r"gutschrift|credit\s*note|avoir|creditnota|korekta|storno"),
    (
        DocumentType.CORRECTION,
        r"rechnungskorrektur|korrekturrechnung|corrected\s*invoice|facture\s*rectificative",
    ),
    (DocumentType.REMINDER, r"zahlungserinnerung|mahnung|payment\s*reminder|relance"),
    (DocumentType.STATEMENT, r"kontoauszug|statement\s*of\s*account|relev[ée]\s*de\s*compte"),
    (DocumentType.INVOICE, r"rechnung|invoice|facture|factuur|faktura|bill\b|fattura"),
    (DocumentType.RECEIPT, r"receipt|quittung|kassenbon|re[çc]u|cash\s*sale|tax\s*invoice"),
]


def document_type_candidate(lines: list[Line]) -> Candidate | None:
    """The document type named by the first type word in the upper part of the first page."""
    head = [ln for ln in lines if ln.page == lines[0].page][:40] if lines else []
    for line in head:
        for doc_type, pattern in _DOC_TYPES:
            if re.search(rf"(?<![\w]){pattern}", line.text, re.I):
                return Candidate(
                    "document_type", doc_type, line.text[:60], line, line.bbox, 0.9, 1.0
                )
    if lines:
        return Candidate("document_type", DocumentType.INVOICE, "", lines[0], None, 0.3, 1.0)
    return None


def payment_terms_candidate(lines: list[Line]) -> Candidate | None:
    """The payment terms: a line that states them ("Zahlbar innerhalb 30 Tagen"), else the
    text after a "Payment terms:" label on its line."""
    hits = list(label_hits(lines, "payment_terms"))
    for line, _, weight in hits:
        if weight < 1.0:  # the pattern is the terms sentence itself
            return Candidate(
                "payment_terms", line.text[:200], line.text[:200], line, line.bbox, weight, 1.0
            )
    for line, match, weight in hits:
        rest = line.text[match.end() :].strip(" :")
        if len(rest) > 3:
            return Candidate("payment_terms", rest[:200], rest[:200], line, line.bbox, weight, 1.0)
    return None


def simple_fields(lines: list[Line], ctx: DocumentContext) -> dict[str, Candidate]:
    """Identifiers, dates, bank details, currency, type and terms of a document."""
    picked: dict[str, Candidate | None] = {}
    numbers = candidates(lines, "invoice_number", parse_identifier)
    picked["invoice_number"] = best(numbers)
    dates = candidates(lines, "invoice_date", _date_parser(ctx))
    if not dates:
        dates = _unlabelled_dates(lines, ctx)
    picked["invoice_date"] = best(dates)
    picked["due_date"] = best(candidates(lines, "due_date", _date_parser(ctx)))
    po = [c for c in candidates(lines, "po_number", parse_order) if not _is_number_of(c, picked)]
    for cand in po:
        if " " in cand.raw:  # read whole across a break OCR put inside it: less sure
            cand.position *= 0.85
    picked["po_number"] = best(po)
    picked["vendor_vat_id"] = best(_in_seller_block(lines, vat_candidates(lines)))
    picked["iban"] = best(iban_candidates(lines))
    picked["vendor_email"] = email_candidate(lines, buyer_block(lines))
    picked["bic"] = best(bic_candidates(lines))
    picked["currency"] = currency_candidate(lines)
    picked["document_type"] = document_type_candidate(lines)
    picked["payment_terms"] = payment_terms_candidate(lines)
    return {k: v for k, v in picked.items() if v is not None}


def _in_seller_block(lines: list[Line], found: list[Candidate]) -> list[Candidate]:
    """Prefer identifiers printed in the block a seller heading ("Verkäufer", "Seller") opens."""
    starts = [ln.index for ln, m, _ in label_hits(lines, "vendor_name") if m.start() == 0]
    for cand in found:
        if any(0 < cand.line.index - start <= 12 for start in starts):
            cand.extra["bonus"] = cand.extra.get("bonus", 0.0) + 0.5
    return found


def _is_number_of(cand: Candidate, picked: dict[str, Candidate | None]) -> bool:
    number = picked.get("invoice_number")
    return number is not None and number.value == cand.value


def _unlabelled_dates(lines: list[Line], ctx: DocumentContext) -> list[Candidate]:
    """Without a date label: the first dates of the first page, weakly."""
    found: list[Candidate] = []
    for line in lines[:60]:
        for match in find_dates(line.text, ctx.day_first):
            found.append(
                Candidate(
                    "invoice_date",
                    match.value,
                    match.raw,
                    line,
                    text_box(line, match.start, match.end),
                    0.35,
                    1.0 if not found else 0.5,
                )
            )
    return found[:3]
