"""PO matching on inline purchase orders: finding the PO, aligning lines, 2- and 3-way checks,
tolerances, and the billed-quantity ledger across partial invoices."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from invoices.records import (
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
from matchers.po import align_lines, match_purchase_order
from matchers.po_data import BilledLedger, PoData, Tolerance, tolerance_for

PROV = Provenance(method=Method.TEXT_LAYER, extractor="test")
D = Decimal


def fv(value):
    return FieldValue(value=value, confidence=0.95, provenance=PROV)


def line(description, qty, price, sku=None):
    return LineItem(
        description=fv(description),
        quantity=fv(D(qty)),
        unit_price=fv(D(price)),
        line_total=fv(D(qty) * D(price)),
        sku=fv(sku) if sku else None,
    )


def invoice(lines, po=None, currency="EUR", doc_type=DocumentType.INVOICE):
    subtotal = sum((ln.line_total.value for ln in lines), D(0))
    return Invoice(
        po_number=fv(po) if po else None,
        currency=fv(currency),
        lines=lines,
        subtotal=fv(subtotal),
        total=fv(subtotal),
        document_type=fv(doc_type),
    )


def po_data():
    orders = [
        {
            "po_number": "PO-4500001",
            "vendor_id": "V1",
            "currency": "EUR",
            "status": "open",
            "order_date": date(2026, 1, 5),
        },
        {"po_number": "PO-4500002", "vendor_id": "V1", "currency": "EUR", "status": "open"},
        {"po_number": "PO-4500003", "vendor_id": "V1", "currency": "EUR", "status": "closed"},
        {"po_number": "PO-4500004", "vendor_id": "V2", "currency": "GBP", "status": "open"},
    ]
    lines = [
        {
            "po_number": "PO-4500001",
            "line_no": 1,
            "sku": "1001",
            "description": "Copy paper A4 80g",
            "quantity": "50",
            "unit_price": "4.50",
        },
        {
            "po_number": "PO-4500001",
            "line_no": 2,
            "sku": "1004",
            "description": "Toner cartridge black",
            "quantity": "4",
            "unit_price": "89.00",
        },
        {
            "po_number": "PO-4500002",
            "line_no": 1,
            "sku": None,
            "description": "Ergonomic desk chair",
            "quantity": "2",
            "unit_price": "349.00",
        },
        {
            "po_number": "PO-4500003",
            "line_no": 1,
            "sku": None,
            "description": "Sticky notes",
            "quantity": "10",
            "unit_price": "1.20",
        },
        {
            "po_number": "PO-4500004",
            "line_no": 1,
            "sku": None,
            "description": "Pallet transport",
            "quantity": "5",
            "unit_price": "80.00",
        },
    ]
    received = [
        {"po_number": "PO-4500001", "line_no": 1, "quantity": "50"},
        {"po_number": "PO-4500001", "line_no": 2, "quantity": "2"},
        {"po_number": "PO-4500002", "line_no": 1, "quantity": "2"},
        {"po_number": "PO-4500003", "line_no": 1, "quantity": "10"},
        {"po_number": "PO-4500004", "line_no": 1, "quantity": "5"},
    ]
    return PoData.from_rows(orders, lines, received)


V1 = VendorMatch(vendor_id="V1", method="vat_id", probability=1.0)
SETTINGS = load_settings()


def test_clean_invoice_matches_by_normalised_number() -> None:
    inv = invoice(
        [
            line("Copy paper A4, 80 g", "50", "4.50", sku="1001"),
            line("Toner black", "2", "89.00", sku="1004"),
        ],
        po="po 4500001",
    )
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method, match.reasons) == ("PO-4500001", "number", [])
    assert [ln.po_line_no for ln in match.lines] == [1, 2]
    assert [ln.method for ln in match.lines] == ["sku", "sku"]
    assert sum(b.quantity for b in match.billed) == D("52")


def test_price_above_tolerance_is_a_variance() -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "369.00")], po="PO-4500002")
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == [ReasonCode.PRICE_VARIANCE]
    assert (match.lines[0].unit_price, match.lines[0].po_unit_price) == (D("369.00"), D("349.00"))
    within = invoice([line("Ergonomic desk chair", "2", "352.00")], po="PO-4500002")
    assert match_purchase_order(within, V1, po_data(), BilledLedger(), SETTINGS).reasons == []


def test_three_way_catches_goods_not_received() -> None:
    inv = invoice([line("Toner cartridge black", "4", "89.00")], po="PO-4500001")
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == [ReasonCode.QTY_EXCEEDS_RECEIVED]
    assert (match.lines[0].received, match.lines[0].ordered) == (D("2"), D("4"))


def test_partial_invoices_add_up_in_the_ledger() -> None:
    data, ledger = po_data(), BilledLedger()
    first = match_purchase_order(
        invoice([line("Copy paper A4 80g", "30", "4.50")], po="PO-4500001"),
        V1,
        data,
        ledger,
        SETTINGS,
    )
    assert first.reasons == []
    for entry in first.billed:
        ledger.add(entry.po_number, entry.line_no, entry.quantity, document=1)
    second = match_purchase_order(
        invoice([line("Copy paper A4 80g", "20", "4.50")], po="PO-4500001"),
        V1,
        data,
        ledger,
        SETTINGS,
    )
    assert second.reasons == []
    for entry in second.billed:
        ledger.add(entry.po_number, entry.line_no, entry.quantity, document=2)
    third = match_purchase_order(
        invoice([line("Copy paper A4 80g", "5", "4.50")], po="PO-4500001"),
        V1,
        data,
        ledger,
        SETTINGS,
    )
    assert third.reasons == [ReasonCode.QTY_EXCEEDS_ORDERED, ReasonCode.QTY_EXCEEDS_RECEIVED]
    assert third.lines[0].billed_before == D("50")
    assert ledger.documents("PO-4500001", 1) == [1, 2]


@pytest.mark.parametrize(
    ("po", "reasons"),
    [
        ("PO-9999999", [ReasonCode.PO_NOT_FOUND]),
        ("PO-4500004", [ReasonCode.PO_NOT_FOUND]),  # another vendor's PO
    ],
)
def test_po_not_found(po: str, reasons: list[ReasonCode]) -> None:
    inv = invoice([line("Consulting services", "8", "120.00")], po=po)
    assert match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS).reasons == reasons


def test_misread_po_citation_falls_back_to_the_fitting_open_po() -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")], po="L-B001")
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method, match.reasons) == ("PO-4500002", "inferred", [])
    assert "L-B001" in match.detail


def test_closed_po_and_currency_mismatch() -> None:
    inv = invoice([line("Sticky notes", "10", "1.20")], po="PO-4500003", currency="USD")
    reasons = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS).reasons
    assert reasons == [ReasonCode.PO_CLOSED, ReasonCode.CURRENCY_MISMATCH]


def test_confusable_po_number_is_found() -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")], po="PO-45OOOO2")
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method) == ("PO-4500002", "number_confusable")


@pytest.mark.parametrize(
    ("cited", "method"),
    [
        ("PO-4500002-7781", "number_partial"),  # the OCR ran on into the next column
        ("PO-4500092", "number_partial"),  # one digit misread
        ("PO-45000", "inferred"),  # cut short: three of the vendor's POs begin so, lines decide
    ],
)
def test_misread_po_number_of_the_vendor_is_found(cited: str, method: str) -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")], po=cited)
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method, match.reasons) == ("PO-4500002", method, [])


@pytest.mark.parametrize("cited", ["PO-4500002 717", "P0-4500002"])
def test_run_on_or_p0_po_number_is_found_without_a_known_vendor(cited: str) -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")], po=cited)
    match = match_purchase_order(inv, None, po_data(), BilledLedger(), SETTINGS)
    assert match.po_number == "PO-4500002"


def test_po_inferred_from_the_amount_when_no_line_was_read() -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")]).model_copy(update={"lines": []})
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method) == ("PO-4500002", "inferred")
    assert match.reasons == [ReasonCode.PO_MISSING]
    other = inv.model_copy(update={"subtotal": fv(D("750.00")), "total": fv(D("892.50"))})
    assert match_purchase_order(other, V1, po_data(), BilledLedger(), SETTINGS).po_number is None


def test_only_open_po_is_inferred_when_a_poor_scan_shows_nothing_else() -> None:
    data = po_data()
    ledger = BilledLedger(
        [
            {"po_number": "PO-4500001", "line_no": n, "quantity": q, "document_id": 1}
            for n, q in ((1, D("50")), (2, D("4")))
        ]
    )  # PO-4500001 fully billed: PO-4500002 is V1's only open order with quantity left
    scan = invoice([line("Ergonomic desk chair", "2", "360.00")]).model_copy(update={"lines": []})
    match = match_purchase_order(scan, V1, data, ledger, SETTINGS)
    assert (match.po_number, match.method) == ("PO-4500002", "inferred")
    assert ReasonCode.PO_MISSING in match.reasons
    assert "only open PO" in match.detail
    far_beyond = scan.model_copy(update={"subtotal": fv(D("5000")), "total": fv(D("5950"))})
    assert match_purchase_order(far_beyond, V1, data, ledger, SETTINGS).po_number is None
    two_open = match_purchase_order(scan, V1, data, BilledLedger(), SETTINGS)
    assert two_open.po_number is None, "two open orders and nothing read: no guess"


def test_po_inferred_from_lines_when_number_missing() -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")])
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method) == ("PO-4500002", "inferred")
    assert match.reasons == [ReasonCode.PO_MISSING], "the invoice must still cite its PO"


def test_po_missing_when_nothing_fits() -> None:
    inv = invoice([line("Consulting services", "8", "120.00")])
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == [ReasonCode.PO_MISSING]
    non_po_vendor = VendorMatch(vendor_id="V9", method="vat_id", probability=1.0)
    assert (
        match_purchase_order(inv, non_po_vendor, po_data(), BilledLedger(), SETTINGS).reasons == []
    )


def test_unmatched_line_and_credit_note() -> None:
    inv = invoice(
        [line("Ergonomic desk chair", "2", "349.00"), line("Express surcharge", "1", "25")],
        po="PO-4500002",
    )
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == [ReasonCode.LINE_UNMATCHED]
    assert match.lines[1].po_line_no is None
    credit = invoice(
        [line("Ergonomic desk chair", "1", "349.00")],
        po="PO-4500002",
        doc_type=DocumentType.CREDIT_NOTE,
    )
    assert (
        match_purchase_order(credit, V1, po_data(), BilledLedger(), SETTINGS).method
        == "not_applicable"
    )


def test_alignment_prefers_sku_then_description() -> None:
    data = po_data().orders["PO-4500001"].lines
    aligned = align_lines(
        [line("Toner", "1", "89", sku="1004"), line("copy paper a4", "1", "4.5")], data
    )
    assert [(a[1].line_no, a[2]) for a in aligned] == [(2, "sku"), (1, "description")]


def test_tolerances_per_vendor_and_category() -> None:
    settings = load_settings(
        po_tolerances={"vendor:V1": {"price_pct": "10"}, "gl:freight": {"qty_abs": "1"}}
    )
    assert tolerance_for(settings, "V1").price_pct == D("10")
    assert tolerance_for(settings, "V2", "freight").qty_abs == D("1")
    assert tolerance_for(settings, "V2").price_pct == D("2")
    tol = Tolerance(price_pct=D("1"), price_abs=D("0.50"))
    assert not tol.price_exceeded(D("10.40"), D("10.00"))  # absolute tolerance suffices
    assert tol.price_exceeded(D("10.60"), D("10.00"))


@pytest.mark.parametrize(
    ("qty", "price", "total", "expected"),
    [
        ("2", "349.00", "698.00", ("2", "349.00")),  # as printed
        ("349.00", "2", "698.00", ("2", "349.00")),  # columns swapped: the PO price tells
        ("369.00", "2", "738.00", ("2", "369.00")),  # swapped and priced above the PO
        (None, None, "698.00", ("2", "349.00")),  # amount only: quantity at the PO price
        (None, None, "738.00", ("2", "369.0000")),  # amount only, off the PO price: open quantity
        ("2", None, "738.00", ("2", "369.0000")),
    ],
)
def test_reconcile_reads_quantity_and_price_against_the_po(qty, price, total, expected) -> None:
    from matchers.po_lines import reconcile

    item = LineItem(
        description=fv("Ergonomic desk chair"),
        quantity=fv(D(qty)) if qty else None,
        unit_price=fv(D(price)) if price else None,
        line_total=fv(D(total)),
    )
    po_line = po_data().orders["PO-4500002"].lines[0]
    got_qty, got_price, _note = reconcile(item, po_line, D("0"))
    assert (got_qty, got_price) == (D(expected[0]), D(expected[1]))


def test_swapped_columns_do_not_raise_quantity_findings() -> None:
    inv = invoice(
        [
            LineItem(
                description=fv("Ergonomic desk chair"),
                quantity=fv(D("369.00")),
                unit_price=fv(D("2")),
                line_total=fv(D("738.00")),
            )
        ],
        po="PO-4500002",
    )
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == [ReasonCode.PRICE_VARIANCE]
    assert "swapped" in match.lines[0].note


def test_ledger_view_leaves_documents_out() -> None:
    ledger = BilledLedger()
    ledger.add("PO-1", 1, D("3"), "a")
    ledger.add("PO-1", 1, D("4"), "b")
    assert ledger.billed("PO-1", 1) == D("7")
    assert ledger.without(["a"]).billed("PO-1", 1) == D("4")
    assert ledger.without(["a"]).documents("PO-1", 1) == ["b"]


def test_amounts_are_checked_when_no_line_was_read() -> None:
    def header_only(subtotal: str) -> Invoice:
        return Invoice(
            po_number=fv("PO-4500001"),
            currency=fv("EUR"),
            subtotal=fv(D(subtotal)),
            document_type=fv(DocumentType.INVOICE),
        )

    # PO-4500001: 50 x 4.50 + 4 x 89.00 ordered (581.00), 50 x 4.50 + 2 x 89.00 received (403.00)
    check = [
        match_purchase_order(header_only(a), V1, po_data(), BilledLedger(), SETTINGS).reasons
        for a in ("403.00", "581.00", "700.00")
    ]
    assert check == [[], [ReasonCode.QTY_EXCEEDS_RECEIVED], [ReasonCode.PRICE_VARIANCE]]


def test_po_number_printed_without_a_readable_label_is_its_citation() -> None:
    """A scan lost the "PO" label but printed the number (here split and with an O for a 0)."""
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")]).model_copy(
        update={"references": ["R2026-0042", "PO-45O0002", "DE89370400440532013000"]}
    )
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method, match.reasons) == ("PO-4500002", "reference", [])
    assert "printed on the document" in match.detail
    # a number of another vendor's PO, or none of the vendor's: still PO_MISSING
    other = inv.model_copy(update={"references": ["PO-4500004", "4711-0815"]})
    assert (
        ReasonCode.PO_MISSING
        in match_purchase_order(other, V1, po_data(), BilledLedger(), SETTINGS).reasons
    )
    # two of the vendor's orders among the references: no guess from the references
    both = inv.model_copy(update={"references": ["PO-4500001", "PO-4500002"]})
    assert match_purchase_order(both, V1, po_data(), BilledLedger(), SETTINGS).method != (
        "reference"
    )


def test_misread_citation_yields_to_the_number_printed_elsewhere() -> None:
    inv = invoice([line("Ergonomic desk chair", "2", "349.00")], po="PO-99").model_copy(
        update={"references": ["4500002"]}
    )
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert (match.po_number, match.method) == ("PO-4500002", "reference")


@pytest.mark.parametrize(
    ("key", "cited"),
    [
        ("4500002", True),  # equal
        ("45OO002", True),  # O/0 confusions
        ("4500092", False),  # one digit off: only for numbers of 8 or more characters
        ("450002", False),  # one character lost inside: neither cut short nor one off
        ("450000", False),  # cut short, but three orders of V1 begin so
    ],
)
def test_cited_in_tolerance(key: str, cited: bool) -> None:
    found = po_data().cited_in([key], "V1")
    assert (found is not None and found.po_number == "PO-4500002") is cited
    long_po = PoData.from_rows(
        [{"po_number": "4500100031", "vendor_id": "V1", "currency": "EUR"}], []
    )
    assert long_po.cited_in(["4500100O81"], "V1") is not None  # O/0 and one digit off
    assert long_po.cited_in(["4500100081"], None) is None  # only for a known vendor
    two = PoData.from_rows(
        [
            {"po_number": n, "vendor_id": "V1", "currency": "EUR"}
            for n in ("PO-FR-2024-00006", "PO-FR-2024-00417")
        ],
        [],
    )
    cut = two.cited_in(["PO-FR-2024-004"], "V1")  # the narrow cell cut the number short
    assert cut is not None and cut.po_number == "PO-FR-2024-00417"
    assert two.cited_in(["PO-FR-2024-00"], "V1") is None, "a prefix both orders share"


def _lost_line_scan(net: str, tax: str | None = None) -> Invoice:
    """A scan of an invoice on PO-4500001 whose toner line the OCR lost: only the paper line
    was read, the totals were."""
    inv = invoice([line("Copy paper A4, 80 g", "50", "4.50", sku="1001")], po="PO-4500001")
    tax_value = D(tax) if tax is not None else (D(net) * D("0.19")).quantize(D("0.01"))
    return inv.model_copy(
        update={
            "subtotal": fv(D(net)),
            "tax": fv(tax_value),
            "total": fv((D(net) + tax_value).quantize(D("0.01"))),
        }
    )


@pytest.mark.parametrize(
    ("net", "reasons"),
    [
        ("403.00", []),  # 225.00 paper + the 2 toners received at 89.00
        ("425.00", [ReasonCode.PRICE_VARIANCE]),  # the 2 toners at 100.00 each
        ("581.00", [ReasonCode.QTY_EXCEEDS_RECEIVED]),  # 4 toners billed, 2 received
        ("314.00", []),  # one toner of two: a partial invoice
    ],
)
def test_net_amount_checks_the_lines_a_scan_lost(net: str, reasons: list[ReasonCode]) -> None:
    match = match_purchase_order(_lost_line_scan(net), V1, po_data(), BilledLedger(), SETTINGS)
    assert match.po_number == "PO-4500001"
    assert match.reasons == reasons


def test_net_amount_not_agreeing_with_tax_and_total_is_not_used() -> None:
    misread = _lost_line_scan("425.00").model_copy(update={"total": fv(D("999.99"))})
    match = match_purchase_order(misread, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == []


def test_net_amount_prices_a_line_whose_amount_was_misread() -> None:
    """The toner line's amount was read as its unit price (a lost column): not sure, so its
    part of the net amount is what the sure lines leave, 2 x 100.00 against 2 x 89.00."""
    toner = LineItem(description=fv("Toner black"), sku=fv("1004"), line_total=fv(D("100.00")))
    inv = invoice([line("Copy paper A4, 80 g", "50", "4.50", sku="1001"), toner], po="PO-4500001")
    inv = inv.model_copy(
        update={"subtotal": fv(D("425.00")), "tax": fv(D("80.75")), "total": fv(D("505.75"))}
    )
    match = match_purchase_order(inv, V1, po_data(), BilledLedger(), SETTINGS)
    assert match.reasons == [ReasonCode.PRICE_VARIANCE]
    honest = inv.model_copy(
        update={"subtotal": fv(D("403.00")), "tax": fv(D("76.57")), "total": fv(D("479.57"))}
    )
    assert match_purchase_order(honest, V1, po_data(), BilledLedger(), SETTINGS).reasons == []


def test_a_sure_line_pays_for_the_repeated_item_it_fits_not_its_aligned_neighbour() -> None:
    """Two PO lines of one item (40 and 1 received); the scan lost the 40-line's quantity and
    price and the alignment gave the sure 1-line the 40-line: nothing is over-billed."""
    data = PoData.from_rows(
        [{"po_number": "PO-7", "vendor_id": "V1", "currency": "EUR"}],
        [
            {
                "po_number": "PO-7",
                "line_no": n,
                "sku": "S1",
                "description": "Bolts M6",
                "quantity": q,
                "unit_price": "2.00",
            }
            for n, q in ((1, "40"), (2, "1"))
        ],
        [
            {"po_number": "PO-7", "line_no": 1, "quantity": "40"},
            {"po_number": "PO-7", "line_no": 2, "quantity": "1"},
        ],
    )
    lost = LineItem(description=fv("Bolts M6"), sku=fv("S1"), line_total=fv(D("2.00")))
    inv = invoice([lost, line("Bolts M6", "1", "2.00", sku="S1")], po="PO-7").model_copy(
        update={"subtotal": fv(D("82.00")), "tax": fv(D("15.58")), "total": fv(D("97.58"))}
    )
    assert match_purchase_order(inv, V1, data, BilledLedger(), SETTINGS).reasons == []
