"""Header fields without per-vendor templates: labels, layout and checksums.

Each field is found where any invoice prints it: right of or below its label (see
`fields_search`), or, for identifiers with a checksum (IBAN, VAT id), anywhere the checksum
holds (see `fields_ids`). The result is one `Candidate` per field with the evidence its
confidence is built from. Money fields are chosen jointly in `fields_money`, parties in
`fields_parties`.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from extractors.fields.doctypes import document_type_candidate
from extractors.fields.ids import bic_candidates, email_candidate, iban_candidates, vat_candidates
from extractors.fields.parties import buyer_block
from extractors.fields.search import (
    Candidate,
    best,
    candidates,
    label_hits,
    label_overlap,
    same_print,
    search_again,
    text_box,
)
from extractors.layout.lines import Line
from extractors.layout.rows import TOTALS, has_money, is_header
from extractors.parsing.amounts import currency_in, detect_decimal_separator
from extractors.parsing.dates import day_first_for, find_dates, proven_order

_ID_TOKEN = re.compile(r"#?[A-Za-z0-9][A-Za-z0-9/_.\-#]*[A-Za-z0-9]|\d")
_ID_STOP = re.compile(r"^(?:nr|no|nummer|number|num|n°|datum|date|vom|du|of|page|seite)\.?$", re.I)


@dataclass(frozen=True)
class DocumentContext:
    """What the whole document says about how to read it: language, country, separators."""

    language: str
    country: str | None
    day_first: bool
    decimal_sep: str | None


_LANG_WORDS = {
    "de": r"\b(?:rechnung|und|der|die|das|betrag|summe|datum|steuer|zahlbar)\b",
    "fr": r"\b(?:facture|et|le|la|les|montant|date|tva|total|payer)\b",
    "en": r"\b(?:invoice|and|the|amount|total|date|tax|due|payment)\b",
    "nl": r"\b(?:factuur|en|het|de|bedrag|totaal|btw|betaling)\b",
}


def document_context(full_text: str) -> DocumentContext:
    """The document's language, country and number conventions, voted over its text."""
    lowered = full_text.lower()
    counts = {lang: len(re.findall(p, lowered)) for lang, p in _LANG_WORDS.items()}
    language = max(counts, key=lambda k: counts[k]) if any(counts.values()) else "en"
    country = None
    if re.search(r"\b(?:usa|united states|u\.s\.a\.)\b", lowered) or (
        re.search(r"\b[A-Z]{2} \d{5}(?:-\d{4})?\b", full_text) and "$" in full_text
    ):
        country = "US"
    day_first = day_first_for(language, country)
    proven = proven_order(full_text)  # "02/23/2025" printed anywhere settles "01/09/2025"
    return DocumentContext(
        language,
        country,
        day_first if proven is None else proven,
        detect_decimal_separator(full_text),
    )


_ID_AFTER_SPECK = re.compile(r"\s+[A-Z]{1,4}[-/]?\d[\w/-]{3,}")


def parse_identifier(text: str) -> tuple[str, int, int] | None:
    """The first token that looks like a document number (has a digit, not a date)."""
    for match in _ID_TOKEN.finditer(text[:80]):
        token = match.group(0).rstrip(".-/")
        if _ID_STOP.match(token):
            continue
        if not re.search(r"\d", token):
            if len(token) <= 2:
                continue
            return None  # a word follows the label: its value is not a number here
        if re.fullmatch(r"\d", token) and _ID_AFTER_SPECK.match(text, match.end()):
            continue  # an OCR speck read as a digit before the number ("0 AV-2025-0457")
        if find_dates(token) or re.fullmatch(r"\d{1,2}", token):
            return None
        return token, match.start(), match.start() + len(token)
    return None


# a structured number OCR broke before a hyphen ("PO-FR-2025 -00038"), or after a letter code
# when the rest completes the number ("PO-BE- 2025-00125"); never after the year
# ("PO-US-2025- 82545"): there the rest is lost and the next column's number follows
_BROKEN_AT_HYPHEN = re.compile(
    r"\b[A-Za-z0-9]+-[A-Za-z0-9-]*?[A-Za-z0-9]( +)(?=-\d)"
    r"|\b[A-Za-z]+-(?:[A-Za-z]+-)*( +)(?=\d{4}-\d)"
)

# OCR reads the hyphen after the year of a structured number as ":" or "." ("PO-BE-2025:00027")
_YEAR_SEPARATOR = re.compile(r"(?<=[A-Za-z]-\d{4})[:.](?=\d{3})")

# a number that names itself an order ("PO-US-2025-00047"), found even where OCR lost its label
_SELF_NAMED_ORDER = re.compile(r"(?<![\w-])PO-[A-Z0-9][A-Z0-9-]*\d{3,}(?![\w-])")

# an order number of a well-known shape past OCR noise right of its label ("bis ___.: 45001")
_ORDER_SHAPE = re.compile(r"(?<![\w-])(?:\d{8,12}|PO-[A-Z0-9][A-Z0-9-]*\d{3,})(?![\w-])")


def parse_order(text: str) -> tuple[str, int, int] | None:
    """A purchase-order number; one OCR broke at a hyphen is read whole."""
    text = _YEAR_SEPARATOR.sub("-", text[:80])
    broken = _BROKEN_AT_HYPHEN.search(text)
    if broken is None:
        return parse_identifier(text) or _order_past_noise(text)
    gap, width = broken.span(1) if broken.group(1) else broken.span(2)
    width -= gap  # the spaces OCR put inside the number
    hit = parse_identifier(text[:gap] + text[gap + width :])
    if hit is None:
        return None
    value, start, end = hit
    return value, start + width * (start > gap), end + width * (end > gap)


def _order_past_noise(text: str) -> tuple[str, int, int] | None:
    """The first token of an order number's shape when noise stopped the plain reading."""
    match = _ORDER_SHAPE.search(text)
    if match is None or re.search(r"\d", text[: match.start()]):
        return None  # a number or date came first: the noise was no noise
    return match.group(0), match.start(), match.end()


# OCR reads a zero as "@" or "O" between digits ("14/1@/2017"); same length, so offsets hold
_OCR_ZERO = re.compile(r"(?<=[\d./-])[@Oo](?=[\d./-])")


# OCR specks glued to the front of a value ("|.04/18/2025", "‘04/18/2025"): blanked, same length
_SPECKS = re.compile(r"(?<!\S)[|.,'‘’\"“\[(]+(?=\d)")


def _blank_specks(text: str) -> str:
    return _SPECKS.sub(lambda m: " " * len(m.group(0)), text)


def _date_parser(ctx: DocumentContext, avoid: Any = None):
    def parse(text: str) -> tuple[Any, int, int] | None:
        found = find_dates(_blank_specks(_OCR_ZERO.sub("0", text[:60])), ctx.day_first)
        found = [m for m in found if m.value != avoid]
        return (found[0].value, found[0].start, found[0].end) if found else None

    return parse


def currency_candidate(lines: list[Line]) -> Candidate | None:
    """The invoice currency: ISO codes and symbols printed, voted by frequency."""
    votes: Counter[str] = Counter()
    first: dict[str, Line] = {}
    for line in lines:
        for code in re.findall(
            r"\b(EUR|USD|GBP|CHF|INR|PLN|MYR|JPY|SEK|NOK|DKK|CZK|CAD|AUD|SGD)\b", line.text
        ):
            votes[code] += 2
            first.setdefault(code, line)
        symbol = currency_in(re.sub(r"\b[A-Z]{3}\b", "", line.text))
        if symbol:
            votes[symbol] += 1
            first.setdefault(symbol, line)
    if not votes:
        return None
    code, count = votes.most_common(1)[0]
    share = count / sum(votes.values())
    line = first[code]
    return Candidate(
        "currency", code, code, line, line.bbox, 0.6 + 0.4 * share, 1.0, {"agreement": share}
    )


def payment_terms_candidate(lines: list[Line]) -> Candidate | None:
    """The payment terms: a line that states them ("Zahlbar innerhalb 30 Tagen"), else the
    text after a "Payment terms:" label on its line."""
    hits = list(label_hits(lines, "payment_terms"))
    for line, _, weight in hits:
        if weight < 1.0:  # the pattern is the terms sentence itself
            return Candidate(
                "payment_terms", line.text[:200], line.text[:200], line, line.bbox, weight, 1.0
            )
    for line, match, weight in hits:
        rest = line.text[match.end() :].strip(" :")
        if len(rest) > 3:
            return Candidate("payment_terms", rest[:200], rest[:200], line, line.bbox, weight, 1.0)
    return None


def simple_fields(lines: list[Line], ctx: DocumentContext) -> dict[str, Candidate]:
    """Identifiers, dates, bank details, currency, type and terms of a document."""
    picked: dict[str, Candidate | None] = {}
    numbers = candidates(lines, "invoice_number", parse_identifier)
    picked["invoice_number"] = best(numbers)
    picked["invoice_date"], picked["due_date"] = _date_fields(lines, ctx)
    po = candidates(lines, "po_number", parse_order, left=True) or _self_named_orders(lines)
    items = _item_rows(lines, ctx)
    po = [c for c in po if not _is_number_of(c, picked) and _label_line(c).index not in items]
    for cand in po:
        if " " in cand.raw:  # read whole across a break OCR put inside it: less sure
            cand.position *= 0.85
    picked["po_number"] = best(po)
    picked["vendor_vat_id"] = best(_in_seller_block(lines, vat_candidates(lines)))
    picked["iban"] = best(iban_candidates(lines))
    picked["vendor_email"] = email_candidate(lines, buyer_block(lines))
    picked["bic"] = best(bic_candidates(lines))
    picked["currency"] = currency_candidate(lines)
    picked["document_type"] = document_type_candidate(lines)
    picked["payment_terms"] = payment_terms_candidate(lines)
    return {k: v for k, v in picked.items() if v is not None}


def _in_seller_block(lines: list[Line], found: list[Candidate]) -> list[Candidate]:
    """Prefer identifiers printed in the block a seller heading ("Verkäufer", "Seller") opens."""
    starts = [ln.index for ln, m, _ in label_hits(lines, "vendor_name") if m.start() == 0]
    for cand in found:
        if any(0 < cand.line.index - start <= 12 for start in starts):
            cand.extra["bonus"] = cand.extra.get("bonus", 0.0) + 0.5
    return found


def _self_named_orders(lines: list[Line]) -> list[Candidate]:
    """Without a readable order label: numbers that name themselves an order ("PO-…"), weakly."""
    found: list[Candidate] = []
    for line in lines:
        for match in _SELF_NAMED_ORDER.finditer(line.text):
            box = text_box(line, match.start(), match.end())
            found.append(
                Candidate("po_number", match.group(0), match.group(0), line, box, 0.5, 1.0)
            )
    return found


def _item_rows(lines: list[Line], ctx: DocumentContext) -> set[int]:
    """The lines of item tables (after a header row, before the totals), but a first row
    without an amount: an order named there heads all the items ("Ihre Bestellung 4711 vom
    ..."), one named in a later row is that item's order, not the document's."""
    rows: set[int] = set()
    first = False
    inside = False
    for line in lines:
        if is_header(line.text):
            inside = first = True
            continue
        if inside and TOTALS.search(line.text):
            inside = False
        if inside and not (first and not has_money(line.text, ctx.decimal_sep)):
            rows.add(line.index)
        first = False
    return rows


def _label_line(cand: Candidate) -> Line:
    """The line a candidate's label is printed on (its own line without a label)."""
    return cand.label[0] if cand.label is not None else cand.line


def _is_number_of(cand: Candidate, picked: dict[str, Candidate | None]) -> bool:
    number = picked.get("invoice_number")
    return number is not None and number.value == cand.value


def _date_fields(lines: list[Line], ctx: DocumentContext) -> tuple[Candidate | None, ...]:
    """The invoice and due dates; a printed date both labels claim goes to the nearer label,
    and the other label is read again past it."""
    dates = [c for c in candidates(lines, "invoice_date", _date_parser(ctx)) if not _other_date(c)]
    due = candidates(lines, "due_date", _date_parser(ctx))
    for i, cand in enumerate(dates):
        for j, other in enumerate(due):
            if cand.value != other.value or not same_print(cand, other):
                continue
            near = (cand.position, label_overlap(cand)) > (other.position, label_overlap(other))
            group, k = (due, j) if near else (dates, i)
            again = search_again(group[k], _date_parser(ctx, avoid=cand.value), lines)
            group[k] = again if again is not None else group[k]
            group[k].extra["drop"] = float(again is None)
    dates = [c for c in dates if not c.extra.get("drop")]
    due = [c for c in due if not c.extra.get("drop")]
    if dates:
        return best(dates), best(due)
    guesses = _unlabelled_dates(lines, ctx, due)
    guess = best(guesses)
    if guess is not None:  # no label announced it: as unsure as a value read past noise
        guess.extra["skipped"] = 1.0
        guess.extra["agreement"] = min(guess.extra["agreement"], 1.0 / len(guesses))
    return guess, best(due)


# what a date is of when it is not the invoice's: "Delivery date", "Version 3 vom", "Stand:"
_OTHER_EVENT = re.compile(
    r"(?:deliver\w*|shipp?\w*|dispatch\w*|liefer\w*|versand\w*|livraison|exp[ée]dition|"
    r"order|bestell\w*|auftrags?|commande|service|leistungs?\w*|prestation|performance|"
    r"version|rev(?:ision)?|stand|print\w*|druck\w*|valid\w*|g[üu]ltig\w*|period|zeitraum|"
    r"p[ée]riode|due|payment|zahlungs?|paiement|[ée]ch[ée]ance)\W{0,3}(?:\S+\W{1,3})?"
    r"(?:date|datum|vom|du|of|le|am|on)?\W*$",
    re.I,
)


def _other_date(cand: Candidate) -> bool:
    """Whether a date's bare label ("Date", "vom") belongs to another event printed before it
    on its line ("Delivery date", "Version 2 vom"): that date is none of the invoice's."""
    if cand.label is None:
        return False
    line, match = cand.label
    if not re.fullmatch(r"\W*(?:datum|date|dated|tarikh)\W*", match.group(0), re.I):
        return False
    return bool(_OTHER_EVENT.search(line.text[max(0, match.start() - 30) : match.start()]))


# an inbound mail stamp before a date: "EINGANG 04. JAN. 2025", "REÇU LE", "RECEIVED"
_RECEIVED = re.compile(
    r"(?:eingang|eingegangen|erhalten|re[çc]u\s*l?\s*e?|received|rec'?d)\W{0,3}(?:am|on|le)?\W*$",
    re.I,
)


def _unlabelled_dates(
    lines: list[Line], ctx: DocumentContext, due: list[Candidate]
) -> list[Candidate]:
    """Without a date label: the first dates of the first page, weakly. A date a due-date
    label announces or a received stamp holds is none; of the first two, the earlier is the
    invoice date when they share a header row (it comes before its due date)."""
    found: list[Candidate] = []
    for line in lines[:60]:
        for match in find_dates(line.text, ctx.day_first):
            before = line.text[max(0, match.start - 30) : match.start]
            if _RECEIVED.search(before[-16:]) or _OTHER_EVENT.search(before):
                continue
            box = text_box(line, match.start, match.end)
            cand = Candidate("invoice_date", match.value, match.raw, line, box, 0.35, 0.5)
            if not any(d.value == cand.value and same_print(cand, d) for d in due):
                found.append(cand)
    found = found[:3]
    pair = found[:2]
    if len(pair) == 2 and pair[1].line.index - pair[0].line.index > 1:
        pair = pair[:1]  # far apart: the later one is some other date, not its due date
    if pair:
        min(pair, key=lambda c: c.value).position = 1.0
    return found
