"""Locale-aware money amounts: "1.234,56", "1,234.56", "1'234.56", "-12,00", "12,00-".

The public tools read "27,80" as 2780 because they guess the decimal separator per number.
Here a number is read with the document's decimal separator when the number alone is
ambiguous ("1,234" is a thousand in an English invoice and one-point-two in a German one), and
every result is a `Decimal`: no float ever touches money.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# A number as printed on invoices: optional sign or parenthesis, digits with optional
# thousands groups (dot, comma, apostrophe, thin or normal space), optional decimals, an
# optional trailing minus. Currency symbols or codes around it are ignored by the caller.
_NUMBER = re.compile(
    r"(?:(?<![\w.,'])|(?<=\bRM)|(?<=\bRs)|(?<=\bRs\.)|(?<=\bEUR)|(?<=\bUSD)|(?<=\bMYR)|(?<=\bINR)|(?<=\bGBP)|(?<=\bCHF)|(?<=\bPLN))"
    r"(?P<open>\()?"
    r"(?P<sign>[-\u2212\u2013+])?\s?"
    r"(?P<body>\d{1,3}(?:(?:[.,'\u2019]|[ \u00a0\u202f](?=\d{3}\b))\d{3})+(?:[.,]\d{1,4})?"
    r"|\d+(?:[.,]\d{1,4})?)"
    r"(?P<trail>-(?!\d))?"
    r"(?P<close>\))?"
    r"(?![\w]|[.,]\d)"
)

_THOUSANDS_CHARS = "'\u2019 \u00a0\u202f"

CURRENCY_SYMBOLS = {
    "€": "EUR",
    "$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "zł": "PLN",
    "RM": "MYR",
    "CHF": "CHF",
    "Rs": "INR",
    "Fr.": "CHF",
}


@dataclass(frozen=True)
class AmountMatch:
    """One amount found in a text: its value, where it is and the characters it came from."""

    value: Decimal
    start: int
    end: int
    raw: str
    decimals: int  # digits after the decimal separator (0 when none)


def _split_decimal(body: str, decimal_hint: str | None) -> tuple[str, str]:
    """The integer digits and the decimal digits of a number body."""
    seps = [c for c in body if not c.isdigit()]
    if not seps:
        return body, ""
    last = seps[-1]
    head, _, tail = body.rpartition(last)
    if last in _THOUSANDS_CHARS:
        return body, ""
    distinct = set(seps)
    if len(distinct) > 1:
        return head, tail  # both kinds: the last one is the decimal separator
    if seps.count(last) > 1:
        return body, ""  # "1.234.567": thousands only
    if len(tail) == 3 and len(head.lstrip("-")) <= 3:
        # "1,234" / "1.234": ambiguous; the document's separator decides, thousands by default
        if decimal_hint == last:
            return head, tail
        return body, ""
    return head, tail


def parse_amount(text: str, decimal_hint: str | None = None) -> Decimal | None:
    """The single amount in `text` (currency signs allowed), or None when there is none or several.

    `decimal_hint` is the document's decimal separator ("," or "."), used only when the
    number alone cannot tell ("1,234").
    """
    matches = find_amounts(text, decimal_hint)
    if len(matches) != 1:
        return None
    rest = (text[: matches[0].start] + text[matches[0].end :]).strip()
    if re.search(r"\d", rest):
        return None
    return matches[0].value


def _to_decimal(match: re.Match[str], decimal_hint: str | None) -> tuple[Decimal, int] | None:
    body = match.group("body")
    head, tail = _split_decimal(body, decimal_hint)
    digits = re.sub(r"\D", "", head)
    try:
        value = Decimal(f"{digits}.{tail}" if tail else digits)
    except InvalidOperation:
        return None
    negative = bool(match.group("sign") and match.group("sign") != "+") or bool(
        match.group("trail")
    )
    if match.group("open") and match.group("close"):
        negative = True
    return (-value if negative else value), len(tail)


def find_amounts(text: str, decimal_hint: str | None = None) -> list[AmountMatch]:
    """Every number in `text` read as an amount, left to right."""
    found: list[AmountMatch] = []
    for match in _NUMBER.finditer(text):
        parsed = _to_decimal(match, decimal_hint)
        if parsed is None:
            continue
        value, decimals = parsed
        start, end = match.span()
        if match.group("open") and not match.group("close"):
            start += 1
        found.append(AmountMatch(value, start, end, text[start:end].strip(), decimals))
    return found


def detect_decimal_separator(text: str) -> str | None:
    """The decimal separator a document uses, voted over its unambiguous numbers."""
    votes: Counter[str] = Counter()
    for match in re.finditer(r"\d(?P<sep>[.,])(?P<dec>\d{1,4})(?![\d.,]*\d)", text):
        if len(match.group("dec")) == 2:
            votes[match.group("sep")] += 1
    for match in re.finditer(r"\d(?P<sep>[.,])\d{3}(?P<other>[.,])\d{2}\b", text):
        if match.group("sep") != match.group("other"):
            votes[match.group("other")] += 3
    if not votes:
        return None
    return votes.most_common(1)[0][0]


def format_amount(value: Decimal, decimal_sep: str = ".", thousands_sep: str = "") -> str:
    """`value` printed with two decimals in a given locale (used by tests and reports)."""
    quantized = value.quantize(Decimal("0.01"))
    sign = "-" if quantized < 0 else ""
    integer, _, decimals = f"{abs(quantized):f}".partition(".")
    groups: list[str] = []
    while len(integer) > 3:
        groups.insert(0, integer[-3:])
        integer = integer[:-3]
    groups.insert(0, integer)
    return f"{sign}{thousands_sep.join(groups)}{decimal_sep}{decimals}"


def currency_in(text: str) -> str | None:
    """The ISO 4217 code a text names by code or symbol, or None."""
    code = re.search(r"\b(EUR|USD|GBP|CHF|INR|PLN|MYR|JPY|SEK|NOK|DKK|CZK|HUF|CAD|AUD|SGD)\b", text)
    if code:
        return code.group(1)
    for symbol, iso in CURRENCY_SYMBOLS.items():
        if symbol.isalpha():
            if re.search(rf"(?<![A-Za-z]){re.escape(symbol)}(?=\.?\s?[-\d])", text):
                return iso
        elif symbol in text:
            return iso
    return None
