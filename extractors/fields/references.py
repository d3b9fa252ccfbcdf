"""Order-like numbers printed anywhere on a document, label or not.

A scan often keeps a PO number legible while its label ("Bestellnummer", "PO") is lost to
noise, or the number lands in a column the field search does not look at. Matching knows the
vendor's purchase orders, so it can recognise one of them among these references (see
`matchers.po`); extraction cannot, so it only collects them: tokens with at least four digits,
and tokens the OCR split ("4500 100001", "PO-US-2025- 00759") joined again.
"""

from __future__ import annotations

import re

from extractors.layout.lines import Line

MAX_REFERENCES = 300
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9/\-.]*[A-Za-z0-9]")
_JOINABLE = re.compile(r"^[A-Z0-9/\-.]+$", re.I)


def _digits(text: str) -> int:
    return sum(ch.isdigit() for ch in text)


def _usable(token: str) -> bool:
    return 5 <= len(token) <= 32 and _digits(token) >= 4


def document_references(lines: list[Line]) -> list[str]:
    """The order-like numbers of a document, in reading order, each once."""
    seen: dict[str, None] = {}
    for line in lines:
        tokens = _TOKEN.findall(line.text)
        for i, token in enumerate(tokens):
            if _usable(token):
                seen.setdefault(token, None)
            joined = token  # a prefix without digits may start one ("PO-BE" "2025-00090")
            for nxt in tokens[i + 1 : i + 3]:  # up to three pieces the OCR split apart
                if not (_JOINABLE.match(nxt) and _digits(nxt) >= 1):
                    break
                joined += nxt
                if _usable(joined) and _digits(joined) >= 6:
                    seen.setdefault(joined, None)
        if len(seen) >= MAX_REFERENCES:
            break
    return list(seen)[:MAX_REFERENCES]
