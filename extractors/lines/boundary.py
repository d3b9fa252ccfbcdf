"""Where an item table ends, and the rows inside it that are no items, in en/de/fr.

After the last item the totals block starts: a summary row (subtotal, total, amount payable),
a tax row ("VAT 19% on 100.00"), or the column heads of a tax breakdown ("Rate  Net  Tax
Gross"). None of them is an item, and a description never runs on into them. Allowance and
charge rows (discount, freight) sit among the items but are no items either: the record has no
place for them, and their amounts are not the lines' amounts.
"""

from __future__ import annotations

import re

from extractors.fields.labels import SUMMARY_START
from extractors.layout.rows import TOTALS, has_money, priced

# A tax line: a rate and the base it applies to ("19% on 100.00", "20 % sur 1 200,00").
_TAX_ON = re.compile(r"\d\s*%\s*(?:on|of|auf|von|sur|de)\s+\S*\d", re.I)
# The column heads of a tax breakdown under the items: rate, net, tax, gross.
_BREAKDOWN_WORD = re.compile(
    r"^(?:net|netto|nett|ht|tax|vat|tva|ust|mwst|steuer\w*|gross|brutto|ttc|rate|satz|"
    r"taux|base|basis|amount|betrag|montant|total|code|%)$",
    re.I,
)
# An allowance or a charge, named at the row's start ("Rabatt 5 %", "Frais de port").
_CHARGE = re.compile(
    r"^(?:discount|rebate|allowance|rabatt|nachlass|skonto|abschlag|remise|escompte|ristourne|"
    r"freight|fracht\w*|shipping|postage|carriage|delivery\s*charge|surcharge|"
    r"versand\w*|porto|verpackung\w*|zuschlag|frais\s*de\s*(?:port|livraison|transport|"
    r"dossier)|emballage|eco[\s-]?participation)",
    re.I,
)
_LEAD = re.compile(r"^[\W\d_]*")
CHARGE_WORDS = 6  # a row naming a charge in more words than this is a described service


def _letters_start(text: str) -> str:
    return _LEAD.sub("", text.strip())


def ends_table(text: str, decimal_sep: str | None = None) -> bool:
    """Whether a row inside an item table is the start of the totals block: a summary or tax
    row (a label of the totals, `labels.SUMMARY_START`; not a complete item: quantity x price
    = amount never holds for those), a tax line with its base, or the column heads of a tax
    breakdown."""
    if TOTALS.search(text):
        return True
    if _TAX_ON.search(text) and has_money(text, decimal_sep):
        return True
    head = _letters_start(text)
    if SUMMARY_START.match(head) and not priced(text, decimal_sep):
        return True
    words = re.findall(r"[^\W_]+|%", text)
    heads = [w for w in words if _BREAKDOWN_WORD.match(w)]
    return len(heads) >= 3 and len(heads) == len(words)


def is_charge(text: str) -> bool:
    """Whether a row names an allowance or a charge (discount, freight) rather than an item."""
    head = _letters_start(text)
    return bool(_CHARGE.match(head)) and len(re.findall(r"[^\W\d_]{2,}", head)) <= CHARGE_WORDS
