"""Money header fields in general form: totals tables, negative amounts, prepayments, cash
rounding and per-line tax columns, on small hand-written pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from extractors.extract import extract_invoice
from extractors.fields.header import document_context
from extractors.fields.money import adjustments, money_parser
from extractors.fields.totals_table import table_candidates
from extractors.layout.lines import Line, document_lines
from invoices.records import DocumentText, DocumentType, Invoice, Method, PageText
from invoices.settings import Settings
from tests.test_fields_extract import _page

Rows = list[list[tuple[float, str]]]


def _read(rows: Rows) -> Invoice:
    return extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings())


def _money(invoice: Invoice) -> dict[str, Decimal | None]:
    return {n: invoice.value(n) for n in ("subtotal", "tax", "total", "amount_due")}


HEAD_EN = [
    [(40, "Northwind Supplies Ltd")],
    [(300, "Invoice No."), (420, "INV-3301")],
    [(300, "Invoice date"), (420, "03/04/2024")],
    [(40, "Description"), (260, "Qty"), (330, "Price"), (450, "Amount")],
    [(40, "Printer paper"), (260, "10"), (330, "10.00"), (450, "100.00")],
    [(40, "Toner"), (260, "2"), (330, "100.00"), (450, "200.00")],
]


def test_totals_table_reads_the_sum_row_under_its_heads() -> None:
    rows = [
        *HEAD_EN,
        [(230, "VAT rate"), (330, "Net"), (410, "VAT"), (480, "Gross")],
        [(230, "20 %"), (330, "100.00"), (410, "20.00"), (480, "120.00")],
        [(230, "5 %"), (330, "200.00"), (410, "10.00"), (480, "210.00")],
        [(330, "300.00"), (410, "30.00"), (480, "330.00 GBP")],
        [(40, "Payment within 30 days.")],
    ]
    assert _money(_read(rows)) == {
        "subtotal": Decimal("300.00"),
        "tax": Decimal("30.00"),
        "total": Decimal("330.00"),
        "amount_due": Decimal("330.00"),
    }


def _lines(text: str) -> list[Line]:
    return document_lines(
        DocumentText(pages=[PageText(number=1, method=Method.TEXT_LAYER, text=text)])
    )


@pytest.mark.parametrize(
    ("heads", "row", "sums"),
    [
        (
            "Taux TVA   HT   TVA   TTC",
            "20 %   1 156,68   231,34   1 388,02",
            "1156.68 231.34 1388.02",
        ),
        (
            "USt.-Satz   Netto   USt.   Brutto",
            "19 %   1.000,00   190,00   1.190,00",
            "1000 190 1190",
        ),
        (
            "Tax rate   Net   Sales tax   Total",
            "0 %   2,531.44   0.00   2,531.44",
            "2531.44 0 2531.44",
        ),
    ],
)
def test_totals_table_heads_in_each_language(heads: str, row: str, sums: str) -> None:
    text = f"{heads}\n{row}\n{row.split('   ', 1)[1]} EUR"
    found = table_candidates(_lines(text), document_context(text).decimal_sep)
    assert {c.field: c.value for c in found} == dict(
        zip(("subtotal", "tax", "total"), map(Decimal, sums.split()), strict=True)
    )


def test_totals_table_head_misread_by_ocr_is_the_column_the_others_lack() -> None:
    text = "Netto   os   Brutto\n2.300,48   437,09   2.737,57\n2.300,48   437,09   2.737,57 EUR"
    found = table_candidates(_lines(text), ",")
    assert {c.field: c.value for c in found} == {
        "subtotal": Decimal("2300.48"),
        "tax": Decimal("437.09"),
        "total": Decimal("2737.57"),
    }
    wrong = text.replace("437,09   2.737,57", "437,09   2.737,99", 1).split("\n")[:2]
    assert table_candidates(_lines("\n".join(wrong)), ",") == []


CREDIT_NOTE = [
    [(40, "Kobalt Handel GmbH"), (400, "Gutschrift")],
    [(300, "Gutschriftsnummer:"), (420, "GS-2024-0475")],
    [(300, "Datum:"), (420, "15.02.2024")],
    [(40, "Pos"), (80, "Beschreibung"), (260, "Menge"), (330, "Einzelpreis"), (450, "Betrag")],
    [(40, "1"), (80, "Rücknahme Kabel"), (260, "-10"), (330, "10,00"), (450, "-100,00")],
    [(40, "Rabatt"), (450, "-5,00")],
    [(40, "Nettobetrag"), (450, "{net}")],
    [(40, "USt. 19 %"), (450, "{tax}")],
    [(40, "Gesamtbetrag"), (450, "{gross}")],
    [(40, "Stammkapital 25.000,00 EUR")],
]


@pytest.mark.parametrize(
    "amounts",
    [("-95,00", "-18,05", "-113,05 €"), ("95,00-", "18,05-", "113,05- €")],
)
def test_credit_note_printed_negative_is_recorded_positive(amounts: tuple[str, ...]) -> None:
    net, tax, gross = amounts
    rows = [[(x, t.format(net=net, tax=tax, gross=gross)) for x, t in r] for r in CREDIT_NOTE]
    invoice = _read(rows)
    assert invoice.document_type is not None
    assert invoice.document_type.value == DocumentType.CREDIT_NOTE
    assert _money(invoice) == {
        "subtotal": Decimal("95.00"),
        "tax": Decimal("18.05"),
        "total": Decimal("113.05"),
        "amount_due": Decimal("113.05"),
    }
    assert invoice.total is not None and invoice.total.confidence > 0
    # and its lines as EN 16931 records them: quantity and amount positive
    assert [
        (i.quantity and i.quantity.value, i.line_total and i.line_total.value)
        for i in invoice.lines
    ] == [(Decimal("10"), Decimal("100.00"))]


def test_totals_printed_negative_are_recorded_positive_whatever_the_type_word() -> None:
    rows = [
        [(40, "Northwind Supplies Ltd")],
        [(40, "invoices@northwind.co.uk")],
        [(300, "Credit Note No."), (420, "CN-3301")],
        [(40, "Subtotal"), (450, "-300.00")],
        [(40, "VAT 20 %"), (450, "-60.00")],
        [(40, "Discount"), (450, "-12.00")],
        [(40, "Total"), (450, "-360.00")],
    ]
    assert _money(_read(rows)) == {
        "subtotal": Decimal("300.00"),
        "tax": Decimal("60.00"),
        "total": Decimal("360.00"),
        "amount_due": Decimal("360.00"),
    }


@pytest.mark.parametrize(
    ("paid_label", "paid", "due_label"),
    [
        ("Acompte déjà versé", "360,00", "Montant à régler"),
        ("Déjà réglé", "-360,00", "Solde"),
        ("Less payment on account", "-360,00", "Please pay"),
        ("Abschlagszahlung", "360,00", "Restzahlung"),
    ],
)
def test_amount_due_is_the_total_less_what_was_paid(
    paid_label: str, paid: str, due_label: str
) -> None:
    rows = [
        [(40, "Atelier Mercier SARL")],
        [(300, "Facture N°"), (420, "F-2024-118")],
        [(300, "Date"), (420, "14/05/2024")],
        [(40, "Total HT"), (450, "1 000,00")],
        [(40, "TVA 20 %"), (450, "200,00")],
        [(40, "Total TTC"), (450, "1 200,00")],
        [(40, paid_label), (450, paid)],
        [(40, due_label), (450, "840,00")],
    ]
    invoice = _read(rows)
    assert invoice.total is not None and invoice.total.value == Decimal("1200.00")
    assert invoice.amount_due is not None and invoice.amount_due.value == Decimal("840.00")


@pytest.mark.parametrize(("rounding", "due"), [("0,02", "4.162,20"), ("-0,03", "4.162,15")])
def test_cash_rounding_goes_to_the_amount_due_not_the_total(rounding: str, due: str) -> None:
    rows = [
        [(40, "Mercier Communication SRL")],
        [(300, "Facture N°"), (420, "F-2024-77")],
        [(300, "Date"), (420, "14.05.2024")],
        [(40, "Total HT"), (450, "3.439,82 €")],
        [(40, "TVA 21 %"), (450, "722,36 €")],
        [(40, "Total TTC"), (450, "4.162,18 €")],
        [(40, "Arrondi"), (450, f"{rounding} €")],
        [(40, "Net à payer"), (450, f"{due} €")],
    ]
    invoice = _read(rows)
    assert invoice.total is not None and invoice.total.value == Decimal("4162.18")
    assert invoice.amount_due is not None
    assert invoice.amount_due.value == Decimal(due.replace(".", "").replace(",", "."))


def test_adjustments_read_prepayments_and_signed_rounding() -> None:
    text = "Total 119.00\nDeposit paid -19.00\nRounding -0.02\nBalance due 99.98"
    found = adjustments(_lines(text), money_parser(document_context(text)))
    assert (found.prepaid, found.rounding, found.last_line) == (
        Decimal("19.00"),
        Decimal("-0.02"),
        2,
    )


def test_receipt_rounded_total_stays_the_total() -> None:
    rows = [
        [(40, "KEDAI MAJU SDN BHD")],
        [(40, "Total Sales (Incl GST)"), (300, "7.72")],
        [(40, "Rounding Adj"), (300, "-0.02")],
        [(40, "Total"), (300, "7.70")],
        [(40, "Cash"), (300, "10.00")],
        [(40, "Change"), (300, "2.30")],
    ]
    assert _money(_read(rows))["total"] == Decimal("7.70")


def test_per_line_tax_column_leaves_the_printed_tax_total() -> None:
    items = [
        [
            (40, f"Item {i}"),
            (200, str(i)),
            (260, "10.00"),
            (330, f"VAT 20 % {2 * i}.00"),
            (470, f"{10 * i}.00"),
        ]
        for i in range(1, 9)
    ]
    rows = [
        *HEAD_EN[:3],
        [(40, "Description"), (200, "Qty"), (260, "Price"), (330, "VAT"), (470, "Amount")],
        *items,
        [(330, "Subtotal"), (470, "360.00")],
        [(330, "VAT 20 %"), (470, "72.00")],
        [(330, "Total"), (470, "432.00")],
    ]
    assert _money(_read(rows))["tax"] == Decimal("72.00")


def test_negative_totals_keep_their_sign_on_a_document_that_is_no_credit_note() -> None:
    """A refund receipt (no credit-note title) printing a negative total: the sign is the only
    record of its direction, so it stays; read as a positive charge it would be paid out."""
    rows = [
        [(40, "Corner Bakery Sdn Bhd")],
        [(40, "Cash Sale"), (300, "Date: 29/09/2017")],
        [(40, "Returned bread"), (450, "-1.73")],
        [(40, "Total"), (450, "-1.73")],
    ]
    invoice = _read(rows)
    assert invoice.document_type is None or invoice.document_type.value != DocumentType.CREDIT_NOTE
    assert invoice.total is not None and invoice.total.value == Decimal("-1.73")
