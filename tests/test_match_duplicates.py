"""Duplicate detection: same file, re-scans, re-sends, number variants, and credit notes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from invoices.records import (
    Document,
    DocumentType,
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
    ReasonCode,
    VendorMatch,
)
from invoices.settings import load_settings
from matchers.duplicates import (
    PriorIndex,
    PriorInvoice,
    find_duplicates,
    find_duplicates_in,
    number_relation,
)

PROV = Provenance(method=Method.OCR, extractor="test")
SETTINGS = load_settings()
V1 = VendorMatch(vendor_id="V1", method="vat_id", probability=1.0)


def fv(value):
    return FieldValue(value=value, confidence=0.9, provenance=PROV)


def invoice(number, total, day, doc_type=DocumentType.INVOICE, vendor="Alpha GmbH"):
    return Invoice(
        invoice_number=fv(number) if number else None,
        total=fv(Decimal(total)),
        invoice_date=fv(day) if day else None,
        document_type=fv(doc_type),
        vendor_name=fv(vendor),
        currency=fv("EUR"),
    )


def document(sha="a" * 64, name="a.pdf"):
    return Document(path=Path(name), sha256=sha, media_type="application/pdf", size_bytes=1)


EARLIER = PriorInvoice(
    document_id=7,
    sha256="b" * 64,
    file_name="first.pdf",
    vendor_id="V1",
    vendor_name="Alpha GmbH",
    invoice_number="INV-2026-0042",
    invoice_date=date(2026, 3, 1),
    total=Decimal("1190.00"),
    currency="EUR",
    document_type="invoice",
)


@pytest.mark.parametrize(
    ("a", "b", "relation"),
    [
        ("INV-2026-0042", "2026/0042", "equal"),
        ("INV-2026-0042", "INV-2026-OO42", "variant"),  # O for 0
        ("INV-2026-0042", "INV-2026-0042-B", "variant"),  # suffix
        ("RE-20260042", "RE-20260024", "variant"),  # transposition
        ("INV-1001", "INV-1002", "near"),  # one digit: also the next invoice
        ("INV-1001", "INV-2417", "different"),
        (None, "INV-1", "missing"),
    ],
)
def test_number_relation(a, b, relation) -> None:
    assert number_relation(a, b) == relation


def test_same_file_is_a_duplicate() -> None:
    hits = find_duplicates(
        invoice("X", "1", date(2026, 1, 1)), document(sha="b" * 64), [EARLIER], SETTINGS
    )
    assert [(h.document_id, h.kind) for h in hits] == [(7, "exact_file")]


def test_rescan_with_a_misread_amount_digit_is_found() -> None:
    hits = find_duplicates(
        invoice("INV-2026-0042", "1196.00", date(2026, 3, 1)), document(), [EARLIER], SETTINGS, V1
    )
    assert len(hits) == 1 and hits[0].kind == "same_invoice"
    assert hits[0].reason == ReasonCode.DUPLICATE_SUSPECTED
    evidence = {e.field: (e.this, e.earlier, e.relation) for e in hits[0].evidence}
    assert evidence["total"] == ("1196.00", "1190.00", "near")
    assert evidence["invoice_number"][2] == "equal"


def test_number_variant_resent_later_is_found() -> None:
    hits = find_duplicates(
        invoice("INV-2026-OO42", "1190.00", date(2026, 3, 20)), document(), [EARLIER], SETTINGS, V1
    )
    assert [h.kind for h in hits] == ["number_variant"]
    assert hits[0].earlier_file == "first.pdf"


@pytest.mark.parametrize("case", ["next_month", "credit_note", "other_vendor", "other_amount"])
def test_legitimate_repeats_are_not_duplicates(case: str) -> None:
    inv, vendor = {
        "next_month": (invoice("INV-2026-0043", "1190.00", date(2026, 4, 1)), V1),
        "credit_note": (
            invoice("INV-2026-0042", "-1190.00", date(2026, 3, 5), DocumentType.CREDIT_NOTE),
            V1,
        ),
        "other_vendor": (
            invoice("INV-2026-0042", "1190.00", date(2026, 3, 1), vendor="Beta"),
            VendorMatch(vendor_id="V2", probability=1.0),
        ),
        "other_amount": (invoice("INV-2026-0042", "250.00", date(2027, 3, 1)), V1),
    }[case]
    assert find_duplicates(inv, document(), [EARLIER], SETTINGS, vendor) == []


def test_credit_notes_repeated_are_duplicates_of_each_other() -> None:
    credit = invoice("CN-17", "-100.00", date(2026, 3, 5), DocumentType.CREDIT_NOTE)
    earlier = PriorInvoice.from_invoice(1, credit, document(sha="c" * 64), "V1")
    assert [h.kind for h in find_duplicates(credit, document(), [earlier], SETTINGS, V1)] == [
        "same_invoice"
    ]


def test_index_blocks_and_finds_across_batches() -> None:
    index = PriorIndex()
    for n in range(200):
        index.add(
            PriorInvoice(
                document_id=n,
                vendor_id=f"V{n % 50}",
                invoice_number=f"A-{n:05d}",
                total=Decimal(n * 10 + 5),
                invoice_date=date(2026, 1, 1),
            )
        )
    probe = invoice("A-00O77", "775", date(2026, 1, 2))
    hits = find_duplicates_in(index, probe, None, SETTINGS, VendorMatch(vendor_id="V27"))
    assert [h.document_id for h in hits] == [77]
    assert len(index.candidates(PriorInvoice.from_invoice(-1, probe, None, "V27"))) < 20


def test_rescan_with_misread_header_is_found_by_its_lines() -> None:
    amounts = [Decimal(a) for a in ("908.08", "2397.33", "2294.58", "958.93", "2488.50")]
    earlier = EARLIER.model_copy(update={"line_amounts": amounts, "total": Decimal("105849.64")})
    rescan = invoice(None, "908.08", date(2026, 3, 1))  # number lost, total misread
    rescan = rescan.model_copy(update={"lines": [LineItem(line_total=fv(a)) for a in amounts[:4]]})
    hits = find_duplicates(rescan, document(), [earlier], SETTINGS, V1)
    assert [h.kind for h in hits] == ["same_invoice"]
    relations = {e.field: e.relation for e in hits[0].evidence}
    assert relations["lines"] == "same" and relations["total"] == "different"
    other = invoice(None, "908.08", date(2026, 3, 1)).model_copy(
        update={"lines": [LineItem(line_total=fv(Decimal(a))) for a in ("1.00", "2.00", "3.00")]}
    )
    assert find_duplicates(other, document(), [earlier], SETTINGS, V1) == []


def test_a_reminder_repeating_the_invoice_is_not_a_duplicate() -> None:
    reminder = invoice("INV-2026-0042", "1190.00", date(2026, 3, 20), DocumentType.REMINDER)
    assert find_duplicates(reminder, document(), [EARLIER], SETTINGS, V1) == []


def test_next_invoice_with_the_same_odd_amount_is_not_a_duplicate() -> None:
    earlier = EARLIER.model_copy(update={"total": Decimal("1190.57")})
    nxt = invoice("INV-2026-0043", "1190.57", date(2026, 3, 31))
    assert find_duplicates(nxt, document(), [earlier], SETTINGS, V1) == []
    same_day = invoice("INV-2026-0043", "1190.57", date(2026, 3, 1))  # a misread digit
    assert [h.kind for h in find_duplicates(same_day, document(), [earlier], SETTINGS, V1)] == [
        "same_invoice"
    ]


def test_rescan_that_lost_number_and_date_is_caught_by_a_total_with_cents() -> None:
    """A poor re-scan keeps the vendor and the total: an amount with cents from the same vendor
    is evidence enough to ask; a round amount is not (it recurs by chance)."""
    with_cents = EARLIER.model_copy(update={"total": Decimal("1190.37")})
    rescan = invoice(None, "1190.37", None)
    hits = find_duplicates(rescan, document(), [with_cents], SETTINGS, V1)
    assert [h.document_id for h in hits] == [7]
    relations = {e.field: e.relation for e in hits[0].evidence}
    assert relations["total"] == "equal_distinctive"
    assert relations["invoice_number"] == relations["invoice_date"] == "missing"
    round_rescan = invoice(None, "1190.00", None)
    assert find_duplicates(round_rescan, document(), [EARLIER], SETTINGS, V1) == []


def test_misread_name_of_an_unlinked_rescan_does_not_veto() -> None:
    """The re-scan's letterhead was misread, so it links to no vendor: its garbled name is no
    evidence of another vendor, and the number, total and date still find the original."""
    rescan = invoice("INV-2026-0042", "1190.00", date(2026, 3, 1), vendor="Aipna Gmhb 7 ~")
    unlinked = VendorMatch(vendor_id=None, method="none", probability=0.1)
    hits = find_duplicates(rescan, document(), [EARLIER], SETTINGS, unlinked)
    assert [h.document_id for h in hits] == [7]
    other = EARLIER.model_copy(update={"vendor_id": None, "vendor_name": "Omega Ltd"})
    assert find_duplicates(rescan, document(), [other], SETTINGS, unlinked) == [], (
        "two unlinked documents with clearly different names are two vendors"
    )


def test_a_minus_sign_misread_on_a_rescan_is_a_near_amount() -> None:
    rescan = invoice("INV-2026-0042", "-1190.00", date(2026, 3, 1))
    (hit,) = find_duplicates(rescan, document(), [EARLIER], SETTINGS, V1)
    assert {e.field: e.relation for e in hit.evidence}["total"] == "near"
    other = invoice("INV-2026-0042", "-990.00", date(2026, 3, 1))
    assert find_duplicates(other, document(), [EARLIER], SETTINGS, V1) == []
