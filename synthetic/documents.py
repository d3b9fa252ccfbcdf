"""Planning single documents: invoices with their PO and receipts, credit notes, statements.

Every function takes the corpus `random.Random` and returns new frozen records; anomalies
are planted here, where the numbers are made, so the truth always describes what is printed.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal

from synthetic import identity, master, orders
from synthetic.catalog import CATEGORY_BY_NAME
from synthetic.identity import Address
from synthetic.locales import money, word
from synthetic.model import (
    Anomaly,
    DocSpec,
    Line,
    OpenItem,
    Party,
    PurchaseOrder,
    Receipt,
    Totals,
    Vendor,
)

BUYERS = {
    "DE": ("Helios Industrietechnik GmbH", Address("Werkstraße 1", "30159", "Hannover", "DE")),
    "AT": ("Helios Austria GmbH", Address("Industriezeile 12", "4020", "Linz", "AT")),
    "CH": ("Helios Schweiz AG", Address("Bahnhofplatz 3", "8001", "Zürich", "CH")),
    "FR": ("Helios Industrie SAS", Address("14 avenue de l'Europe", "69002", "Lyon", "FR")),
    "BE": (
        "Helios Benelux SA",
        Address("22 boulevard du Roi Albert II", "1000", "Bruxelles", "BE"),
    ),
    "GB": ("Helios Industrial Ltd", Address("5 Canal Street", "M1 1AE", "Manchester", "GB")),
    "US": ("Helios Industrial Inc.", Address("800 Market Street", "OH 43215", "Columbus", "US")),
}
PO_PREFIX = {
    "DE": "4500",
    "AT": "4510",
    "CH": "4520",
    "FR": "PO-FR-",
    "BE": "PO-BE-",
    "GB": "PO-",
    "US": "PO-US-",
}
CREDIT_PREFIX = {"de": "GS-", "fr": "AV-", "en": "CN-"}
PREPAID_SHARE = 0.04


@dataclass
class Book:
    """Mutable state of a corpus plan: issued numbers, orders, receipts, counters."""

    rng: random.Random
    orders: list[PurchaseOrder] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    issued: dict[str, list[OpenItem]] = field(default_factory=lambda: defaultdict(list))
    po_seq: int = 0
    receipt_seq: int = 0

    def next_number(self, vendor: Vendor, when: date) -> str:
        """The vendor's next invoice number in its own pattern."""
        if vendor.vendor_id not in self.counters:
            self.counters[vendor.vendor_id] = self.rng.randint(100, 90000)
        self.counters[vendor.vendor_id] += self.rng.choice((1, 1, 1, 2, 3, 7))
        return vendor.number_pattern.format(y=when.year, n=self.counters[vendor.vendor_id])

    def next_po(self, country: str, when: date) -> str:
        """The buyer's next purchase-order number (SAP style in DACH, prefixed elsewhere)."""
        self.po_seq += 1
        prefix = PO_PREFIX[country]
        if prefix.isdigit():
            return f"{prefix}{self.po_seq + 100000:06d}"
        return f"{prefix}{when.year}-{self.po_seq:05d}"

    def receipt(self, po: str, line_no: int, qty: Decimal, when: date) -> None:
        """Record a goods receipt."""
        self.receipt_seq += 1
        self.receipts.append(Receipt(f"GR{self.receipt_seq:07d}", po, line_no, qty, when))


def compute_totals(lines: tuple[Line, ...], prepaid: Decimal = Decimal("0.00")) -> Totals:
    """Subtotal, tax per rate and total from the printed line totals."""
    bases: dict[Decimal, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for ln in lines:
        bases[ln.tax_rate] += ln.total
    tax_lines = tuple(
        (rate, base, money(base * rate / 100)) for rate, base in sorted(bases.items())
    )
    subtotal = sum((b for _, b, _ in tax_lines), Decimal("0.00"))
    tax = sum((t for _, _, t in tax_lines), Decimal("0.00"))
    total = subtotal + tax
    return Totals(subtotal, tax_lines, tax, total, total - prepaid, prepaid)


def approval_route(total: Decimal, has_po: bool) -> str:
    """Who approves: small PO-backed invoices pass, larger ones climb the hierarchy."""
    if has_po and total < 5000:
        return "auto"
    if total < 1000:
        return "auto"
    if total < 10000:
        return "cost_centre_manager"
    return "director"


def _line_count(rng: random.Random, multipage_share: float) -> int:
    if rng.random() < multipage_share:
        return rng.randint(22, 48)
    return rng.choices((1, 2, 3, 4, 5, 6, 8, 10), weights=(20, 20, 18, 14, 10, 8, 6, 4))[0]


def _make_lines(rng: random.Random, vendor: Vendor, n: int) -> list[Line]:
    """Invoice lines from the vendor's catalogue; a repeated item keeps its price and names
    the delivery note it was shipped with, as long invoices do."""
    items = CATEGORY_BY_NAME[vendor.category].items
    picks = rng.sample(items, n) if n <= len(items) else [rng.choice(items) for _ in range(n)]
    repeated = n > len(items)
    prices: dict[str, Decimal] = {}
    note = word("delivery_note", identity.language(vendor.locale))
    lines = []
    for i, item in enumerate(picks, start=1):
        gl, cc = master.coding(vendor, item)
        price = prices.setdefault(item.code, master.unit_price(rng, item))
        desc = master.describe(vendor, item)
        if repeated:
            desc = f"{desc} ({note} {rng.randint(100000, 999999)})"
        lines.append(
            Line(
                i,
                master.sku(vendor, item),
                desc,
                master.quantity(rng, item),
                master.unit(vendor, item),
                price,
                master.tax_rate(vendor, item),
                gl,
                cc,
            )
        )
    return lines


def _arithmetic_error(rng: random.Random, lines: list[Line]) -> tuple[list[Line], Totals, Anomaly]:
    where = rng.choice(("total", "line", "tax"))
    if where == "line":
        i = rng.randrange(len(lines))
        good = lines[i].total
        bad = good + rng.choice(
            (Decimal("10.00"), Decimal("1.00"), Decimal("-0.10"), Decimal("100.00"))
        )
        lines[i] = replace(lines[i], printed_total=bad)
        totals = compute_totals(tuple(lines))
        detail = {
            "check": "line_total",
            "line_no": lines[i].line_no,
            "expected": str(good),
            "printed": str(bad),
        }
        return lines, totals, Anomaly("arithmetic_error", detail=detail)
    totals = compute_totals(tuple(lines))
    delta = rng.choice((Decimal("10.00"), Decimal("-1.00"), Decimal("100.00"), Decimal("0.90")))
    if where == "tax":  # the last tax line is printed wrong, the total right
        rate, base, amount = totals.tax_lines[-1]
        tax_lines = (*totals.tax_lines[:-1], (rate, base, amount + delta))
        totals = replace(totals, tax_lines=tax_lines, tax=totals.tax + delta)
        detail = {
            "check": "tax",
            "rate": str(rate),
            "expected": str(amount),
            "printed": str(amount + delta),
        }
    else:
        bad_total = totals.total + delta
        totals = replace(totals, total=bad_total, amount_due=bad_total)
        detail = {
            "check": "subtotal_tax_total",
            "expected": str(bad_total - delta),
            "printed": str(bad_total),
        }
    return lines, totals, Anomaly("arithmetic_error", detail=detail)


def buyer_for(vendor: Vendor) -> Party:
    """The buyer entity that orders from a vendor of this country."""
    name, addr = BUYERS[vendor.country]
    return Party(name, addr)


def printed_name(rng: random.Random, vendor: Vendor) -> str:
    """The vendor name as printed: mostly the legal name, sometimes a variant."""
    if vendor.aliases and rng.random() < 0.2:
        return rng.choice(vendor.aliases[:3])
    return vendor.name


def _bank_details(
    rng: random.Random, vendor: Vendor, kinds: set[str]
) -> tuple[str | None, str | None, list[Anomaly]]:
    """The bank details printed: the master's, or new valid ones of the same country."""
    if "bank_details_changed" not in kinds or not vendor.iban:
        return vendor.iban, vendor.bic, []
    iban, bic = identity.iban(rng, vendor.country)
    while iban == vendor.iban:
        iban, bic = identity.iban(rng, vendor.country)
    detail = {"master_iban": vendor.iban, "printed_iban": iban}
    return iban, bic, [Anomaly("bank_details_changed", detail=detail)]


def _invoice_totals(
    rng: random.Random, lines: list[Line], kinds: set[str]
) -> tuple[list[Line], Totals, list[Anomaly]]:
    """The printed totals, with an arithmetic error planted or now and then a deposit."""
    if "arithmetic_error" in kinds:
        lines, totals, anomaly = _arithmetic_error(rng, lines)
        return lines, totals, [anomaly]
    totals = compute_totals(tuple(lines))
    if rng.random() < PREPAID_SHARE:  # a deposit already paid: amount due < total
        totals = compute_totals(tuple(lines), money(totals.total * rng.choice((20, 30, 50)) / 100))
    return lines, totals, []


def invoice(
    book: Book,
    key: int,
    when: date,
    vendor: Vendor,
    known: bool,
    kinds: set[str],
    multipage_share: float,
) -> DocSpec:
    """An invoice of a vendor with the requested anomalies planted."""
    rng = book.rng
    lines = _make_lines(rng, vendor, _line_count(rng, multipage_share))
    anomalies: list[Anomaly] = []
    po = None
    if known and CATEGORY_BY_NAME[vendor.category].uses_po:
        extra = _make_lines(rng, vendor, 1)[0] if rng.random() < 0.2 else None
        po, lines, anomalies = orders.order(book, vendor, lines, when, kinds, extra)
    printed_po = po
    if "po_missing" in kinds and po is not None:
        printed_po = None
        anomalies.append(Anomaly("po_missing", detail={"po_number": po}))
    iban, bic, bank_anomalies = _bank_details(rng, vendor, kinds)
    lines, totals, sum_anomalies = _invoice_totals(rng, lines, kinds)
    anomalies += bank_anomalies + sum_anomalies
    name = printed_name(rng, vendor) if known else vendor.name
    if not known:
        detail = {"printed_name": name, "resembles_vendor_id": vendor.resembles}
        anomalies.append(Anomaly("vendor_unknown", detail=detail))
    number = book.next_number(vendor, when)
    due = when + timedelta(days=vendor.payment_terms_days)
    book.issued[vendor.vendor_id].append(OpenItem(number, when, due, totals.total, key))
    return DocSpec(
        key=key,
        document_type="invoice",
        vendor_id=vendor.vendor_id if known else None,
        vendor=Party(name, vendor.address),
        vendor_vat_id=vendor.vat_id,
        vendor_email=vendor.email,
        iban=iban,
        bic=bic,
        buyer=buyer_for(vendor),
        number=number,
        issue_date=when,
        due_date=due,
        currency=vendor.currency,
        locale=vendor.locale,
        layout=vendor.layout,
        words=vendor.words,
        accent=vendor.accent,
        po_number=printed_po,
        truth_po=po,
        customer_no=customer_no(vendor),
        payment_terms_days=vendor.payment_terms_days,
        lines=tuple(lines),
        totals=totals,
        anomalies=tuple(anomalies),
        approval_route=approval_route(totals.total, po is not None),
        # a validating e-invoice tool would not emit wrong arithmetic
        einvoice=vendor.einvoice and "arithmetic_error" not in kinds,
    )


def customer_no(vendor: Vendor) -> str:
    """The buyer's account number at the vendor (stable per vendor)."""
    return str(10000 + int(vendor.vendor_id.lstrip("VU") or 0) * 7919 % 89999)


def credit_note(book: Book, key: int, when: date, vendor: Vendor, original: DocSpec) -> DocSpec:
    """A credit note returning part of an earlier invoice's lines."""
    rng = book.rng
    picked = rng.sample(original.lines, min(len(original.lines), rng.randint(1, 2)))
    lines = []
    for i, ln in enumerate(sorted(picked, key=lambda x: x.line_no), start=1):
        qty = (
            ln.quantity
            if ln.quantity <= 1
            else max(Decimal(1), (ln.quantity / 2).to_integral_value())
        )
        lines.append(replace(ln, line_no=i, quantity=qty, printed_total=None))
    totals = compute_totals(tuple(lines))
    lang = identity.language(vendor.locale)
    book.counters.setdefault("credit:" + vendor.vendor_id, rng.randint(10, 900))
    book.counters["credit:" + vendor.vendor_id] += 1
    number = f"{CREDIT_PREFIX[lang]}{when.year}-{book.counters['credit:' + vendor.vendor_id]:04d}"
    anomaly = Anomaly(
        "credit_note", of_key=original.key, detail={"credited_invoice_number": original.number}
    )
    return replace(
        original,
        key=key,
        document_type="credit_note",
        number=number,
        issue_date=when,
        due_date=None,
        lines=tuple(lines),
        totals=totals,
        anomalies=(anomaly,),
        credited_number=original.number,
        of_key=original.key,
        approval_route=approval_route(totals.total, original.truth_po is not None),
    )


def not_an_invoice(book: Book, key: int, when: date, vendor: Vendor, kind: str) -> DocSpec:
    """A statement of account or a payment reminder from a known vendor."""
    rng = book.rng
    issued = book.issued[vendor.vendor_id]
    if kind == "reminder":  # only an overdue invoice is chased
        items = [i for i in issued if i.due_date < when][-1:]
    else:
        items = [i for i in issued if i.invoice_date < when][-5:]
    while len(items) < (2 if kind == "statement" else 1):
        d = when - timedelta(days=rng.randint(20, 90))
        amount = money(Decimal(rng.randint(5000, 500000)) / 100)
        items.insert(0, OpenItem(book.next_number(vendor, d), d, d + timedelta(days=30), amount))
    if kind == "reminder":
        items = items[-1:]
    fee = Decimal(rng.choice((0, 5, 10, 15))) if kind == "reminder" else Decimal("0.00")
    detail = {"document_type": kind, "invoice_numbers": [i.number for i in items]}
    # a reminder names the invoice it chases (when that invoice is in the corpus)
    of_key = items[-1].key if kind == "reminder" else None
    return DocSpec(
        key=key,
        document_type=kind,
        vendor_id=vendor.vendor_id,
        vendor=Party(vendor.name, vendor.address),
        vendor_vat_id=vendor.vat_id,
        vendor_email=vendor.email,
        iban=vendor.iban,
        bic=vendor.bic,
        buyer=buyer_for(vendor),
        number=None,
        issue_date=when,
        due_date=None,
        currency=vendor.currency,
        locale=vendor.locale,
        layout=vendor.layout,
        words=vendor.words,
        accent=vendor.accent,
        po_number=None,
        truth_po=None,
        customer_no=customer_no(vendor),
        payment_terms_days=vendor.payment_terms_days,
        lines=(),
        totals=None,
        anomalies=(Anomaly("not_an_invoice", of_key=of_key, detail=detail),),
        open_items=tuple(items),
        reminder_fee=money(fee),
    )
