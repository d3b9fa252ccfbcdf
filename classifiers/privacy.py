"""Masking of personal and banking data before a prompt leaves the process.

Applied to every prompt sent to an endpoint not marked local. Each kind of datum is replaced by
a typed placeholder (`[IBAN]`, `[EMAIL]`, ...) so the model still sees that something was there.
Names are found by their context (a salutation, a title, a contact label, or a common given
name followed by a capitalised word): masking a word too many is cheap, leaking a name is not.
"""

from __future__ import annotations

import re

_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = re.compile(r"(?:(?<=\s)|^|(?<=[:(]))(?:\+|00)?\d[\d ()/.-]{6,}\d\b")
_ACCOUNT = re.compile(
    r"\b(?:account|acct|konto|kto|compte|a/c)(?:[ .-]*(?:no|nr|number|nummer|n°))?"
    r"[ .:#]*\d[\d -]{4,}\d",
    re.IGNORECASE,
)
_LONG_DIGITS = re.compile(r"\b\d{9,}\b")
_CARD = re.compile(r"\b(?:\d{4}[ -]){3}\d{4}\b")
_UPPER = r"[A-ZÄÖÜÉÈ][a-zäöüßéèêëïîôç'-]+"
_SALUTATION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Herr|Herrn|Frau|M\.|Mme|Mlle|Monsieur|Madame)\.?\s+"
    rf"(?:{_UPPER}\s+)?{_UPPER}"
)
_CONTACT = re.compile(
    r"\b(?:attn|attention|contact|z\.\s?hd\.?|zu händen|ansprechpartner(?:in)?|"
    r"bearbeiter(?:in)?|sachbearbeiter(?:in)?|geschäftsführer(?:in)?|managing director|"
    rf"signed|unterschrift)\s*[:.]?\s*{_UPPER}(?:\s+{_UPPER})?",
    re.IGNORECASE,
)
_GIVEN_NAMES = frozenset(
    "anna andreas thomas michael peter maria sabine stefan hans klaus petra julia laura "
    "markus martin christian daniel david john james robert mary patricia jennifer linda "
    "elizabeth william richard joseph susan jessica sarah karen nancy paul mark george "
    "jean pierre marie michel philippe nathalie isabelle sophie claire nicolas francois "
    "emma lukas leon felix max paul sophie mia hannah lena jan tim tom".split()
)
_NAME_PAIR = re.compile(rf"\b({_UPPER})\s+({_UPPER})\b")


def mask_personal_data(text: str) -> str:
    """The text with IBANs, account and card numbers, e-mails, phones and names masked."""
    out = _IBAN.sub("[IBAN]", text)
    out = _EMAIL.sub("[EMAIL]", out)
    out = _ACCOUNT.sub("[ACCOUNT]", out)
    out = _CARD.sub("[ACCOUNT]", out)
    out = _PHONE.sub(_phone_or_keep, out)
    out = _LONG_DIGITS.sub("[ACCOUNT]", out)
    out = _SALUTATION.sub("[NAME]", out)
    out = _CONTACT.sub(_keep_label, out)
    return _NAME_PAIR.sub(_given_name_pair, out)


def _phone_or_keep(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(0))
    # Dates, amounts and short codes have few digits or a decimal point; phones have 7+.
    if len(digits) < 7 or re.search(r"\d[.,]\d{2}$", match.group(0)):
        return match.group(0)
    return "[PHONE]"


def _keep_label(match: re.Match[str]) -> str:
    text = match.group(0)
    label = re.match(r"^[^:.]*?[:.]\s*|^\S+\s+", text)
    prefix = label.group(0) if label else ""
    return f"{prefix}[NAME]"


def _given_name_pair(match: re.Match[str]) -> str:
    if match.group(1).lower() in _GIVEN_NAMES:
        return "[NAME]"
    return match.group(0)
