"""Evidence for the confidence model that no single value's line holds: what kind of document
the values were read from.

A till receipt records a payment at the counter: it names the cash tendered, the change given,
the cashier, the rounding of a cash total. Receipts are printed on thermal rolls in small type
and photographed or scanned as they come, and their layout has no labelled header: their OCR
errors say little about an invoice printed on a sheet. The calibration therefore weighs the two
kinds apart (`receipt`, and `ocr_receipt` in `extractors.confidence`) instead of letting
receipts set the weight of every scan.
"""

from __future__ import annotations

import re

from extractors.fields.search import Candidate
from extractors.layout.lines import Line

# words of a payment at the till, in the languages the pipeline reads
TILL_WORDS = re.compile(
    r"\b(?:cash|cashier|change|tendered|tender|rounding|kembalian|tunai|r[üu]ckgeld|"
    r"wechselgeld|kassierer(?:in)?|bargeld|esp[èe]ces)\b",
    re.I,
)
# distinct till words that make a document a receipt (one alone is a mention: "cash discount")
RECEIPT_WORDS = 2


def receipt_evidence(lines: list[Line]) -> float:
    """How much the document reads as a till receipt: the distinct till words it prints over
    `RECEIPT_WORDS` (at most 1.0)."""
    found = {m.group(0).casefold() for line in lines for m in TILL_WORDS.finditer(line.text)}
    return min(1.0, len(found) / RECEIPT_WORDS)


def add_page_evidence(picked: dict[str, Candidate], lines: list[Line]) -> None:
    """Record the document's kind on every picked candidate (`receipt`)."""
    receipt = receipt_evidence(lines)
    for cand in picked.values():
        cand.extra["receipt"] = receipt
