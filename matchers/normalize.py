"""Normalising the keys that matching compares: names, VAT ids, IBANs, e-mail domains, numbers.

Every comparison in `matchers` goes through these functions, so a vendor master row and an
extracted invoice are always reduced the same way before they meet.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Legal-form suffixes and other words that carry no identity (compared after case folding).
LEGAL_FORMS: frozenset[str] = frozenset(
    {
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "gbr",
        "ug",
        "ev",
        "ek",
        "og",
        "eg",
        "se",
        "co",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "plc",
        "company",
        "sa",
        "sas",
        "sarl",
        "sasu",
        "eurl",
        "snc",
        "srl",
        "spa",
        "bv",
        "nv",
        "vof",
        "ab",
        "as",
        "asa",
        "oy",
        "oyj",
        "aps",
        "sl",
        "slu",
        "sdn",
        "bhd",
        "pty",
        "pte",
        "kft",
        "sro",
        "zrt",
        "and",
        "und",
        "et",
        "the",
        "cie",
        "ltda",
    }
)

# E-mail domains that many unrelated senders share: no evidence of identity.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "t-online.de",
        "icloud.com",
        "aol.com",
        "orange.fr",
        "free.fr",
        "proton.me",
        "protonmail.com",
        "mail.com",
    }
)

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


@lru_cache(maxsize=262_144)
def fold(text: str) -> str:
    """Case-folded ASCII text (accents stripped, ß as ss), whitespace collapsed."""
    if text.isascii():
        return _SPACES.sub(" ", text.lower()).strip()
    text = text.replace("ß", "ss").replace("ø", "o").replace("æ", "ae").replace("œ", "oe")
    decomposed = unicodedata.normalize("NFKD", text)
    ascii_text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", ascii_text.casefold()).strip()


_INITIALS = re.compile(r"(?<![0-9a-z])((?:[a-z]\.){2,}[a-z]?)")


def _join_initials(folded: str) -> str:
    """'s.a.r.l.' -> 'sarl', 'e.k.' -> 'ek': dotted initials are one word."""
    return _INITIALS.sub(lambda m: m.group(1).replace(".", ""), folded)


def name_tokens(name: str) -> list[str]:
    """The identifying words of a company name: folded, punctuation split, legal forms dropped."""
    folded = _join_initials(fold(name)).replace("&", " and ")
    tokens = [t for t in _NON_ALNUM.split(folded) if t]
    kept = [t for t in tokens if t not in LEGAL_FORMS]
    return kept or tokens


@lru_cache(maxsize=262_144)
def normalize_name(name: str | None) -> str:
    """A company name reduced for comparison ('' for None)."""
    return " ".join(name_tokens(name)) if name else ""


# Legal forms as words (after folding, dots dropped, "&" dropped), long forms and abbreviations
# mapped to one canonical form. A different legal form is a different company: "Meyer GmbH" and
# "Meyer AG" share every identifying word of the name, not the entity.
_LEGAL_FORM_PHRASES: dict[tuple[str, ...], str] = {
    ("gmbh", "co", "kg"): "gmbh & co kg",
    ("gesellschaft", "mit", "beschrankter", "haftung"): "gmbh",
    ("gmbh",): "gmbh",
    ("mbh",): "gmbh",
    ("aktiengesellschaft",): "ag",
    ("ag",): "ag",
    ("kgaa",): "kgaa",
    ("kg",): "kg",
    ("ohg",): "ohg",
    ("og",): "og",
    ("ug",): "ug",
    ("ek",): "ek",
    ("se",): "se",
    ("sarl",): "sarl",
    ("sas",): "sas",
    ("sasu",): "sasu",
    ("sa",): "sa",
    ("eurl",): "eurl",
    ("snc",): "snc",
    ("srl",): "srl",
    ("sc",): "sc",
    ("spa",): "spa",
    ("bv",): "bv",
    ("nv",): "nv",
    ("public", "limited", "company"): "plc",
    ("plc",): "plc",
    ("limited",): "ltd",
    ("ltd",): "ltd",
    ("llp",): "llp",
    ("llc",): "llc",
    ("incorporated",): "inc",
    ("inc",): "inc",
    ("corporation",): "corp",
    ("corp",): "corp",
    ("co",): "co",
    ("company",): "co",
    ("ab",): "ab",
    ("oy",): "oy",
    ("aps",): "aps",
    ("pty",): "pty",
}
_LONGEST_FORM = max(len(k) for k in _LEGAL_FORM_PHRASES)


@lru_cache(maxsize=262_144)
def legal_form(name: str | None) -> str:
    """The canonical legal form a company name ends with ('' when it names none).

    "Meyer GmbH", "MEYER GMBH" and "Meyer Gesellschaft mit beschränkter Haftung" are all
    `gmbh`; "Dupont S.A.R.L." is `sarl`. Only the end of the name is read, and a name must keep
    a word before the form.
    """
    if not name:
        return ""
    tokens = [t for t in _NON_ALNUM.split(_join_initials(fold(name))) if t]
    for size in range(min(_LONGEST_FORM, len(tokens) - 1), 0, -1):
        form = _LEGAL_FORM_PHRASES.get(tuple(tokens[-size:]))
        if form:
            return form
    return ""


def normalize_address(address: str | None) -> str:
    """An address folded to lower-case alphanumeric words ('' for None)."""
    if not address:
        return ""
    folded = fold(address).replace("strasse", "str").replace("street", "st")
    return " ".join(t for t in _NON_ALNUM.split(folded) if t)


def compact_id(value: str | None) -> str:
    """A VAT id or IBAN without spaces, dots or dashes, upper case ('' for None)."""
    if not value:
        return ""
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def normalize_vat_id(value: str | None) -> str:
    """A VAT id compacted, without the Swiss `MWST`/`TVA`/`IVA` suffix ('' for None)."""
    compact = compact_id(value)
    return re.sub(r"(?<=\d)(?:MWST|TVA|IVA)$", "", compact)


def email_domain(email: str | None) -> str:
    """The lower-case domain of an e-mail address, '' when absent or a free-mail provider."""
    if not email or "@" not in email:
        return ""
    domain = email.rsplit("@", 1)[1].strip().strip(">").lower()
    return "" if domain in FREE_MAIL_DOMAINS else domain


def country_of(vat_id: str | None, iban: str | None) -> str:
    """The ISO country implied by a VAT id or IBAN prefix ('' when neither has one)."""
    for value in (compact_id(vat_id), compact_id(iban)):
        if len(value) >= 2 and value[:2].isalpha():
            return "GR" if value[:2] == "EL" else value[:2]
    return ""


# Characters that OCR and typing confuse; both sides map to the same canonical character.
_CONFUSABLE = str.maketrans(
    {
        "O": "0",
        "Q": "0",
        "D": "0",
        "I": "1",
        "L": "1",
        "|": "1",
        "S": "5",
        "B": "8",
        "Z": "2",
        "G": "6",
    }
)
_NUMBER_PREFIX = re.compile(
    r"^(?:INVOICE|INV|RECHNUNG|RECHNUNGSNR|RE|RG|FACTURE|FACT|FA|FAC|BILL|NO|NR|NUM|N)+(?=\d)"
)


@lru_cache(maxsize=262_144)
def normalize_invoice_number(number: str | None) -> str:
    """An invoice number reduced for duplicate detection.

    Upper case, separators dropped, a leading word prefix (INV, RE, No) dropped, leading zeros
    of the numeric part dropped. Confusable letters are kept here; see `confusable_key`.
    """
    if not number:
        return ""
    compact = re.sub(r"[^0-9A-Z]", "", fold(number).upper())
    stripped = _NUMBER_PREFIX.sub("", compact)
    return stripped.lstrip("0") or stripped or compact


@lru_cache(maxsize=262_144)
def confusable_key(number: str | None) -> str:
    """The invoice number with O/0, I/1, S/5 and similar confusions mapped together."""
    return normalize_invoice_number(number).translate(_CONFUSABLE).lstrip("0")


def digits_only(number: str | None) -> str:
    """The digits of an invoice or PO number, leading zeros dropped."""
    return re.sub(r"\D", "", number or "").lstrip("0")


_PO_MISREAD = re.compile(r"^\s*P[0D](?=[-\s/.:])")  # "P0-US-2025-00759": the OCR's "PO-"


def po_citation(number: str | None) -> str:
    """A PO number as cited on an invoice, with an OCR-misread "P0-" prefix read as "PO-"."""
    return _PO_MISREAD.sub("PO", number or "")


@lru_cache(maxsize=262_144)
def normalize_po_number(number: str | None) -> str:
    """A PO number reduced for lookup: upper case, no separators, no 'PO'/'Order' prefix."""
    if not number:
        return ""
    compact = re.sub(r"[^0-9A-Z]", "", fold(number).upper())
    compact = re.sub(r"^(?:PURCHASEORDER|PO|ORDER|BESTELLUNG|BESTELLNR|BEST|NR|NO)+", "", compact)
    return compact.lstrip("0") or compact
