"""Identifiers read anywhere a checksum holds or after their label: VAT id, IBAN, BIC, e-mail.

A VAT id or an IBAN whose checksum holds is taken wherever it is printed, more surely after
its label. After its label, a well-formed VAT id is taken without its checksum, and a VAT id
or IBAN that OCR garbled is read through the noise (marked as repaired); a BIC only after its
label. The buyer's own VAT id ("Ihre USt-IdNr.") is left out; the e-mail is the first one
printed outside the buyer's block.
"""

from __future__ import annotations

import re
from typing import Any

from stdnum import bic as std_bic
from stdnum import iban as std_iban
from stdnum.ch import vat as std_ch_vat
from stdnum.eu import vat as std_vat
from stdnum.gb import vat as std_gb_vat

from extractors.fields.search import Candidate, candidates, label_hits, text_box
from extractors.layout.lines import Line

_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_VAT = re.compile(r"\b(?:[A-Z]{2}|EL)[ ]?[0-9A-Z][0-9A-Z .]{6,16}[0-9A-Z]\b")
# Swiss UID with its VAT suffix ("CHE-123.456.789 MWST"), compacted as the register prints it
_CH_VAT = re.compile(r"\bCHE[-\s]?\d{3}[.\s]{0,2}\d{3}[.\s]{0,2}\d{3}(?:\s?(?:MWST|TVA|IVA))?\b")
_BIC = re.compile(r"\b[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\b")


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


# letters OCR reads for digits, with the digits each can stand for ("S" for 5 or 8)
_DIGIT_READS = {"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "i": "1", "Z": "2",
                "S": "58", "B": "8", "G": "6"}  # fmt: skip


def _digit_readings(compact: str) -> list[str]:
    """The VAT id with letters in its number read as the digits they resemble ("ATUSS815088"
    -> "ATU55815088", "ATU88815088", ...); at most four such letters, else none."""
    head = 3 if compact.startswith("ATU") else 2
    body = compact[head:]
    spots = [i for i, ch in enumerate(body) if ch in _DIGIT_READS]
    if not spots or len(spots) > 4:
        return []
    readings = [body]
    for i in spots:
        readings = [r[:i] + d + r[i + 1 :] for r in readings for d in _DIGIT_READS[body[i]]]
    return [compact[:head] + r for r in readings]


def _repaired_vat(compact: str) -> str | None:
    """A labelled VAT id that fails its checksum as read, made valid by reading letters in its
    number as the digits they resemble (the one reading whose checksum holds) or by dropping
    letters OCR glued to its end ("GB349945893RER"); None when neither does."""
    if vat_valid(compact):
        return None
    trimmed = re.sub(r"[A-Z]+$", "", compact)
    for base in (compact, trimmed):
        valid = {v for v in _digit_readings(base) if len(v) >= 8 and vat_valid(v)}
        if len(valid) == 1:
            return valid.pop()
    if trimmed != compact and len(trimmed) >= 8 and vat_valid(trimmed):
        return trimmed
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
_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9OoDIlSZB]{2}(?=[\s.,:;'`_|\-]*[A-Za-z0-9])")
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
