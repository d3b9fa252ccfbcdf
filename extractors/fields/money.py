"""Money fields chosen jointly: subtotal + tax = total, tax per rate = base x rate.

Each of subtotal, tax, total and amount due has labelled candidates; the combination that
makes the arithmetic hold wins over the strongest single labels, so a "Gesamtbetrag der
Zuschläge" does not become the total. The per-rate tax breakdown is found without labels:
any row with a rate, a base and an amount where base x rate = amount.

Totals printed as a table under column heads are read by `totals_table`. Amounts are chosen
with one sign (a credit note printed negative is read negated and recorded positive), and the
amount due is total - prepaid + rounding (EN 16931) when a prepayment or a rounding is printed.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from extractors.fields.header import DocumentContext
from extractors.fields.labels import COMPILED, NET_TOTAL, NOT_TOTAL
from extractors.fields.search import Candidate, candidates, text_box
from extractors.fields.totals_table import rate_rows, table_candidates
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
LARGEST_ROUNDING = Decimal("0.50")  # a rounding line adjusts by less (to 0.05, 0.10 or 1.00)
_ROUNDED = re.compile(r"round|rundung|arrondi|afronding", re.I)
# an amount already paid, to be taken off the total (not cash tendered at a till)
_PREPAID = re.compile(
    r"(?<![\w])(?:already\s*paid|(?<!be\s)(?<!un)paid(?:\s*(?:on\s*account|in\s*advance))?|"
    r"amount\s*paid|less\s*paid|(?:less\s*)?payments?\s*(?:received|on\s*account)|deposit(?:\s*paid)?|"
    r"pre-?paid|pre-?payment|advance\s*(?:payment|received)|amount\s*received|"
    r"bereits\s*(?:bezahlt|gezahlt|geleistet|erhalten)|geleistete\s*(?:an)?zahlung\w*|"
    r"erhaltene\s*(?:voraus|an|ab)?zahlung\w*|(?:voraus|an|ab|abschlags?)zahlung\w*|"
    r"acomptes?(?:\s*d[ée]j[àa]\s*(?:vers[ée]|r[ée]gl[ée]|pay[ée]))?|d[ée]j[àa]\s*(?:r[ée]gl[ée]|pay[ée]|vers[ée])|"
    r"paiements?\s*re[çc]us?|avance\s*re[çc]ue|versement\s*re[çc]u)(?![\w])",
    re.I,
)


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
            if (
                base.value == 0
                or (amount.value < 0) != (base.value < 0)  # a credit prints both negative
                or abs(amount.value) >= abs(base.value)
                or amount.start < base.start
            ):
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


def _repeated(found: list[Candidate], lines: list[Line], ctx: DocumentContext, sign: int) -> None:
    """A total printed again elsewhere (paid, cash, tax summary) is more likely the total."""
    counts: dict[Decimal, int] = {}
    for line in lines:
        for amount in find_amounts(line.text, ctx.decimal_sep):
            if amount.decimals == 2:
                counts[amount.value * sign] = counts.get(amount.value * sign, 0) + 1
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


@dataclass(frozen=True)
class Sums:
    """How closely subtotal + tax must make the total: within `exact`, or with the printed
    `rounding` added (a receipt's rounded total), or within `loose` when the page talks of
    rounding (a rounding whose amount was not read)."""

    exact: Decimal
    loose: Decimal
    rounding: Decimal = Decimal(0)


def _combo_score(
    s: Candidate | None, t: Candidate | None, g: Candidate | None, sums: Sums
) -> float:
    score = sum(c.score for c in (s, t, g) if c is not None)
    if s is not None and t is not None and g is not None:
        gap = s.value + t.value - g.value
        rounded = sums.rounding and abs(gap + sums.rounding) <= sums.exact
        if abs(gap) <= sums.loose or rounded:
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


def _pick(
    subtotal: list[Candidate], tax: list[Candidate], total: list[Candidate], sums: Sums
) -> dict[str, Candidate]:
    """The subtotal, tax and total whose arithmetic and labels together score best, each
    marked with whether subtotal + tax = total held (`arithmetic`)."""
    best_combo = max(
        itertools.product(_top(subtotal), _top(tax), _top(total)),
        key=lambda combo: _combo_score(combo[0], combo[1], combo[2], sums),
    )
    holds = all(c is not None for c in best_combo) and _combo_score(
        best_combo[0], best_combo[1], best_combo[2], sums
    ) > sum(c.score for c in best_combo if c is not None)
    picked: dict[str, Candidate] = {}
    for name, cand in zip(("subtotal", "tax", "total"), best_combo, strict=True):
        if cand is not None:
            cand.field = name
            cand.extra["arithmetic"] = 1.0 if holds else 0.0
            picked[name] = cand
    return picked


def money_fields(
    lines: list[Line],
    ctx: DocumentContext,
    tolerance: Decimal = Decimal("0.02"),
    *,
    credit_note: bool = False,
) -> tuple[dict[str, Candidate], list[TaxLine]]:
    """Subtotal, tax, total and amount due that agree with each other, plus the tax breakdown.

    The choice is made on amounts of one sign: a document printing its totals negative (a
    credit note or a correction, "-119.00" or "119.00-") is read with every amount negated, so
    "the largest total" and "subtotal <= total" keep their sense, and its values are recorded
    positive when the document is a credit note (EN 16931: a credit note's amounts are
    positive, its document type gives the direction). Any other document printing negative
    totals (a refund receipt, a correction typed as an invoice) keeps the printed sign: the
    sign is the only record of its direction then, and a bill must never carry a refund's
    amount as a charge. Each value records the printed sign (`printed_negative`), which the
    document type is checked against (`extractors.page_evidence`)."""
    parse = money_parser(ctx)

    def found(name: str) -> list[Candidate]:
        return [c for c in candidates(lines, name, parse) if not _item_below_heading(c, ctx)]

    table = table_candidates(lines, ctx.decimal_sep)
    in_table = rate_rows(table)
    subtotal, tax, total, due = (
        [c for c in found(name) if c.line.index not in in_table]
        for name in ("subtotal", "tax", "total", "amount_due")
    )
    total = [c for c in total if _not_about(c, NOT_TOTAL)]
    for cand in table:
        {"subtotal": subtotal, "tax": tax, "total": total}[cand.field].append(cand)
    sign = _direction(total or subtotal)
    for cand in (*subtotal, *tax, *total, *due):
        cand.value = cand.value * sign
    # a tax read on an item's own row is that item's tax (a per-line tax column), not the total's
    tax = [c for c in tax if c.value >= 0 and not priced(c.line.text, ctx.decimal_sep)]
    total = [c for c in total if not _before_tax(c, total, tax)]
    adjust = adjustments(lines, parse, sign)
    total = _before_adjustments(total, adjust)
    _repeated(total, lines, ctx, sign)
    breakdown = [_signed(t, sign) for t in tax_lines(lines, ctx)]
    derived_tax, derived_base = _breakdown_candidates(breakdown, lines)
    if derived_tax is not None:
        tax.append(derived_tax)
        subtotal.append(derived_base)
    loose = max(tolerance, ROUNDING) if any(_ROUNDED.search(ln.text) for ln in lines) else tolerance
    picked = _pick(subtotal, tax, total, Sums(tolerance, loose, adjust.rounding))
    amount_due = _amount_due(lines, parse, picked.get("total"), due, adjust, sign)
    if amount_due is not None:
        picked["amount_due"] = amount_due
    for cand in picked.values():
        cand.extra["printed_negative"] = 1.0 if sign < 0 else 0.0
    if sign < 0 and not credit_note:  # chosen on one sign, recorded as printed
        for cand in {id(c): c for c in picked.values()}.values():
            cand.value = -cand.value
        breakdown = [_signed(t, sign) for t in breakdown]
    return picked, breakdown


def _direction(found: list[Candidate]) -> int:
    """-1 when the document prints its totals negative, else 1: the side its candidates lean
    to, weighted by their strength."""
    lean = sum(c.score if c.value > 0 else -c.score for c in found if c.value != 0)
    return -1 if lean < 0 else 1


def _signed(line: TaxLine, sign: int) -> TaxLine:
    if sign > 0:
        return line
    return TaxLine(
        rate=line.rate,
        base=None if line.base is None else -line.base,
        amount=None if line.amount is None else -line.amount,
    )


@dataclass(frozen=True)
class Adjustments:
    """What stands between the total and the amount due: amounts already paid (taken off)
    and a cash rounding (signed, added), and the last line printing one of them."""

    prepaid: Decimal = Decimal(0)
    rounding: Decimal = Decimal(0)
    last_line: int | None = None


def adjustments(lines: list[Line], parse: Any, sign: int = 1) -> Adjustments:
    """The prepayments and the rounding printed on a page ("Already paid 100.00", "Anzahlung
    -50,00", "Acompte 20,00"; "Rounding -0.02", "Arrondi 0,03"), with the document's sign."""
    prepaid, rounding, last = Decimal(0), Decimal(0), None
    for line in lines:
        paid, rounded = _PREPAID.search(line.text), _ROUNDED.search(line.text)
        label = rounded or paid
        hit = parse(line.text[label.end() :]) if label else None
        if label is None or hit is None:
            continue
        value = hit[0] * sign
        if rounded and abs(value) <= LARGEST_ROUNDING:
            rounding += value
        elif paid and not rounded:
            prepaid += abs(value)  # printed as received or as taken off: it is taken off
        else:
            continue
        last = line.index
    return Adjustments(prepaid, rounding, last)


def _payable(cand: Candidate) -> bool:
    """Whether a candidate's label also names the amount to pay ("Net à payer", "Amount due")."""
    return any(p.search(cand.line.text) for p, _ in COMPILED["amount_due"])


def _before_adjustments(total: list[Candidate], adjust: Adjustments) -> list[Candidate]:
    """The total candidates less those a payable label printed below a prepayment or a rounding
    names: that is the amount due (EN 16931: total - prepaid + rounding), not the total. A
    total labelled plainly below a rounding that it adds to a total above is a receipt's
    rounded total, and the stronger for it."""
    if adjust.last_line is None:
        return total
    below = [c for c in total if c.line.index > adjust.last_line]
    kept = [c for c in total if not (c in below and _payable(c))]
    above = {c.value for c in total if c.line.index < adjust.last_line}
    for cand in below:
        if adjust.rounding and cand.value - adjust.rounding in above and not _payable(cand):
            cand.extra["bonus"] = cand.extra.get("bonus", 0.0) + 0.5
    return kept or total


def _amount_due(
    lines: list[Line],
    parse: Any,
    total: Candidate | None,
    due: list[Candidate],
    adjust: Adjustments,
    sign: int,
) -> Candidate | None:
    """The amount due: with a prepayment or rounding printed, the amount printed below them
    that is total - prepaid + rounding (labelled or not); else the strongest labelled one."""
    if total is not None and adjust.last_line is not None and adjust.prepaid < total.value:
        expected = total.value - adjust.prepaid + adjust.rounding
        for cand in sorted(due, key=lambda c: -c.score):
            if abs(cand.value - expected) <= CENT:
                return _closing(cand, total)
        for line in lines:
            if line.index <= adjust.last_line or NOT_TOTAL.search(line.text):
                continue
            hit = parse(line.text)
            if hit is not None and abs(hit[0] * sign - expected) <= CENT:
                value, start, end = hit
                box = text_box(line, start, end)
                cand = Candidate(
                    "amount_due", value * sign, line.text[start:end], line, box, 0.6, 1.0
                )
                return _closing(cand, total)
    if not due:
        return None
    return max(due, key=lambda c: (c.score, c.line.index))


def _closing(due: Candidate, total: Candidate) -> Candidate:
    """An amount due the total, prepayments and rounding close around: as sure as the total's
    own arithmetic."""
    due.extra["arithmetic"] = total.extra.get("arithmetic", 0.0)
    return due
