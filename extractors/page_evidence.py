"""Evidence for the confidence model that no single value's line holds: what kind of document
the values were read from, and whether the amounts' sign agrees with it.

A till receipt records a payment at the counter: it names the cash tendered, the change given,
the cashier, the rounding of a cash total. Receipts are printed on thermal rolls in small type
and photographed or scanned as they come, and their layout has no labelled header: their OCR
errors say little about an invoice printed on a sheet. The calibration therefore weighs the two
kinds apart (`receipt`, and `ocr_receipt` in `extractors.confidence`) instead of letting
receipts set the weight of every scan.

A document's type and the sign of its printed totals are read apart, and each can be read
wrong: an invoice printing its totals negative is a credit note whose title was lost (or a
refund), and a credit note named only in passing whose totals print positive may be an invoice
that mentions one. Either way one of the two readings is wrong and nothing on the page says
which, so the type and the money values carry `sign_conflict` for the calibration to weigh.
"""

from __future__ import annotations

import re

from extractors.fields.doctypes import TITLE_WEIGHT
from extractors.fields.search import Candidate
from extractors.layout.lines import Line
from invoices.records import DocumentType

# words of a payment at the till, in the languages the pipeline reads
TILL_WORDS = re.compile(
    r"\b(?:cash|cashier|change|tendered|tender|rounding|kembalian|tunai|r[üu]ckgeld|"
    r"wechselgeld|kassierer(?:in)?|bargeld|esp[èe]ces)\b",
    re.I,
)
# distinct till words that make a document a receipt (one alone is a mention: "cash discount")
RECEIPT_WORDS = 2
# the values whose sign the document type is checked against, and that carry the outcome
MONEY_FIELDS = ("subtotal", "tax", "total", "amount_due")


def receipt_evidence(lines: list[Line]) -> float:
    """How much the document reads as a till receipt: the distinct till words it prints over
    `RECEIPT_WORDS` (at most 1.0)."""
    found = {m.group(0).casefold() for line in lines for m in TILL_WORDS.finditer(line.text)}
    return min(1.0, len(found) / RECEIPT_WORDS)


def sign_conflict(picked: dict[str, Candidate]) -> bool:
    """Whether the printed sign of the totals contradicts the document type: an invoice
    printing them negative, or a credit note without a title (named in passing) printing them
    positive."""
    kind = picked.get("document_type")
    money = [picked[n] for n in MONEY_FIELDS if n in picked]
    if kind is None or not money:
        return False
    negative = any(c.extra.get("printed_negative") for c in money)
    if kind.value == DocumentType.INVOICE:
        return negative
    return (
        kind.value == DocumentType.CREDIT_NOTE and not negative and kind.label_weight < TITLE_WEIGHT
    )


def add_page_evidence(picked: dict[str, Candidate], lines: list[Line]) -> None:
    """Record the document's kind on every picked candidate (`receipt`), and a contradiction
    between its type and its amounts' sign on the type and the money values (`sign_conflict`)."""
    receipt = receipt_evidence(lines)
    for cand in picked.values():
        cand.extra["receipt"] = receipt
    conflict = 1.0 if sign_conflict(picked) else 0.0
    for name in ("document_type", *MONEY_FIELDS):
        if name in picked:
            picked[name].extra["sign_conflict"] = conflict
