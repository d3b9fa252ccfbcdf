"""Money fields chosen jointly: subtotal + tax = total, tax per rate = base x rate.

Each of subtotal, tax, total and amount due has labelled candidates; the combination that
makes the arithmetic hold wins over the strongest single labels, so a "Gesamtbetrag der
Zuschläge" does not become the total. The per-rate tax breakdown is found without labels:
any row with a rate, a base and an amount where base x rate = amount.
"""

from __future__ import annotations

import itertools
import re
from decimal import Decimal
from typing import Any

from extractors.fields.header import DocumentContext
from extractors.fields.labels import NET_TOTAL, NOT_TOTAL
from extractors.fields.search import Candidate, candidates
from extractors.layout.lines import Line
from extractors.layout.rows import priced
from extractors.parsing.amounts import find_amounts
from extractors.validation import PLAUSIBLE_RATES
from invoices.records import TaxLine

_PERCENT = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")
_INCLUDED = re.compile(
    r"\b(?:incl\w*|inkl\w*|including|ttc|with|zzgl\w*|zuzügl\w*)\.?(?:\s*[\w%.,]+){0,3}", re.I
)
CENT = Decimal("0.01")
_CURRENCY_BEFORE = re.compile(r"(?:[€$£₹]|\b(?:rs\.?|rm|eur|usd|inr|gbp|chf|pln|myr))\s?$", re.I)
# Rates printed without a % sign are only believed when they are a VAT/GST rate in use somewhere.
# (the plausible rates less zero and a few single-country reduced rates)
COMMON_RATES = PLAUSIBLE_RATES - {Decimal(r) for r in ("0", "2.6", "3.7", "3.8", "25.5", "28")}
TOP = 6
ARITHMETIC_BONUS = 1.2
ROUNDING = Decimal("0.05")  # cash rounding to 5 sen / 5 cents
_ROUNDED = re.compile(r"round|rundung|arrondi|afronding", re.I)


def money_parser(ctx: DocumentContext):
    """A parser that reads the last two-decimal amount of a text (never a percentage)."""

    def parse(text: str) -> tuple[Any, int, int] | None:
        hits = [
            a
            for a in find_amounts(text, ctx.decimal_sep)
            if (a.decimals == 2 or (a.decimals == 0 and _CURRENCY_BEFORE.search(text[: a.start])))
            and not text[a.end : a.end + 2].strip().startswith("%")
        ]
        if not hits:
            return None
        last = hits[-1]
        return last.value, last.start, last.end

    return parse


def _not_about(cand: Candidate, words: re.Pattern[str]) -> bool:
    """Whether a candidate's line talks about another quantity (discounts, tax, quantities)."""
    text = _INCLUDED.sub(" ", cand.line.text)
    return not words.search(text)


def tax_lines(lines: list[Line], ctx: DocumentContext) -> list[TaxLine]:
    """The tax breakdown: rows where base x rate / 100 = amount, one per rate."""
    found: dict[Decimal, TaxLine] = {}
    for line in lines:
        rates = {Decimal(r.replace(",", ".")) for r in _PERCENT.findall(line.text)}
        amounts = [a for a in find_amounts(line.text, ctx.decimal_sep) if a.decimals == 2]
        bare = [a.value for a in find_amounts(line.text, ctx.decimal_sep) if a.decimals <= 2]
        rates |= {v for v in bare if v in COMMON_RATES}
        for base, amount in itertools.permutations(amounts, 2):
            if base.value <= 0 or abs(amount.value) >= abs(base.value) or amount.start < base.start:
                continue
            for rate in rates:
                if rate <= 0 or rate in found:
                    continue
                expected = (base.value * rate / 100).quantize(CENT)
                if abs(expected - amount.value) <= CENT and amount.value != 0:
                    found[rate] = TaxLine(rate=rate, base=base.value, amount=amount.value)
    return sorted(found.values(), key=lambda t: t.rate or 0)


def _grand_total(found: list[Candidate]) -> Decimal | None:
    """The largest total printed, or the cash-rounded amount printed after it (7.72 -> 7.70)."""
    if not found:
        return None
    largest = max(found, key=lambda c: c.value)
    later = [
        c
        for c in found
        if c.line.index > largest.line.index and 0 < largest.value - c.value <= ROUNDING
    ]
    return later[-1].value if later else largest.value


def _repeated(found: list[Candidate], lines: list[Line], ctx: DocumentContext) -> None:
    """A total printed again elsewhere (paid, cash, tax summary) is more likely the total."""
    counts: dict[Decimal, int] = {}
    for line in lines:
        for amount in find_amounts(line.text, ctx.decimal_sep):
            if amount.decimals == 2:
                counts[amount.value] = counts.get(amount.value, 0) + 1
    grand = _grand_total(found)
    for cand in found:
        if grand is not None and cand.value == grand:
            cand.extra["bonus"] = cand.extra.get("bonus", 0.0) + 0.3
        extra = min(counts.get(cand.value, 1) - 1, 3)
        cand.extra["bonus"] = cand.extra.get("bonus", 0.0) + 0.1 * max(0, extra)
        cand.extra["support"] = float(counts.get(cand.value, 1))


def _top(found: list[Candidate]) -> list[Candidate | None]:
    merged: dict[Decimal, Candidate] = {}
    for cand in sorted(found, key=lambda c: -c.score):
        merged.setdefault(cand.value, cand)
    return [*sorted(merged.values(), key=lambda c: -c.score)[:TOP], None]


def _combo_score(
    s: Candidate | None, t: Candidate | None, g: Candidate | None, tol: Decimal
) -> float:
    score = sum(c.score for c in (s, t, g) if c is not None)
    if s is not None and t is not None and g is not None:
        if abs(s.value + t.value - g.value) <= tol:
            score += ARITHMETIC_BONUS
        else:
            score -= 1.0
    elif s is not None and g is not None and s.value > g.value:
        score -= 1.0
    return score


def _breakdown_candidates(breakdown: list[TaxLine], lines: list[Line]) -> tuple[Any, Any]:
    """The tax and the subtotal the per-rate breakdown adds up to (weak, derived)."""
    if not breakdown or not lines:
        return None, None
    tax = sum((t.amount or Decimal(0)) for t in breakdown)
    base = sum((t.base or Decimal(0)) for t in breakdown)
    return (
        Candidate("tax", tax, str(tax), lines[0], None, 0.75, 1.0, {"derived": 1.0}),
        Candidate("subtotal", base, str(base), lines[0], None, 0.5, 1.0, {"derived": 1.0}),
    )


def _item_below_heading(cand: Candidate, ctx: DocumentContext) -> bool:
    """A value read below its label from a row that reads as a complete item (quantity x
    price = amount): the label was a column heading ("excl. VAT" over the price column, "Tax"
    over a per-line tax column), not a total's label."""
    return cand.position < 1.0 and priced(cand.line.text, ctx.decimal_sep)


def _before_tax(cand: Candidate, totals: list[Candidate], tax: list[Candidate]) -> bool:
    """An English "net total" with tax printed under it and no other total over it is the
    amount before tax, not the total (a receipt's "net total" after the rounding is)."""
    if cand.label is None or not NET_TOTAL.search(cand.label[1].group(0)):
        return False
    over = any(o.line.index < cand.line.index for o in totals if o is not cand)
    return not over and any(t.line.index > cand.line.index for t in tax)


def money_fields(
    lines: list[Line], ctx: DocumentContext, tolerance: Decimal = Decimal("0.02")
) -> tuple[dict[str, Candidate], list[TaxLine]]:
    """Subtotal, tax, total and amount due that agree with each other, plus the tax breakdown."""
    parse = money_parser(ctx)

    def found(name: str) -> list[Candidate]:
        return [c for c in candidates(lines, name, parse) if not _item_below_heading(c, ctx)]

    subtotal = found("subtotal")
    tax = [c for c in found("tax") if c.value >= 0]
    total = [c for c in found("total") if _not_about(c, NOT_TOTAL)]
    total = [c for c in total if not _before_tax(c, total, tax)]
    _repeated(total, lines, ctx)
    breakdown = tax_lines(lines, ctx)
    derived_tax, derived_base = _breakdown_candidates(breakdown, lines)
    if derived_tax is not None:
        tax.append(derived_tax)
        subtotal.append(derived_base)
    if any(_ROUNDED.search(line.text) for line in lines):
        tolerance = max(tolerance, ROUNDING)  # a printed rounding adjustment: totals may differ
    best_combo = max(
        itertools.product(_top(subtotal), _top(tax), _top(total)),
        key=lambda combo: _combo_score(combo[0], combo[1], combo[2], tolerance),
    )
    picked: dict[str, Candidate] = {}
    holds = all(c is not None for c in best_combo) and _combo_score(
        best_combo[0], best_combo[1], best_combo[2], tolerance
    ) > sum(c.score for c in best_combo if c is not None)
    for name, cand in zip(("subtotal", "tax", "total"), best_combo, strict=True):
        if cand is not None:
            cand.field = name
            cand.extra["arithmetic"] = 1.0 if holds else 0.0
            picked[name] = cand
    due = candidates(lines, "amount_due", parse)
    if due:
        picked["amount_due"] = max(due, key=lambda c: (c.score, c.line.index))
    return picked, breakdown
