"""Template-free extraction on small synthetic pages: labels right and below, money chosen
jointly, line items stitched across pages, and the e-invoice switch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from extractors.extract import extract_invoice
from invoices.records import DocumentText, DocumentType, Method, PageText, Word
from invoices.settings import Settings


def _page(
    number: int, rows: list[list[tuple[float, str]]], method: Method = Method.TEXT_LAYER
) -> PageText:
    """A page from rows of (x, text) cells; each cell's words get boxes 6 pt per character."""
    words = []
    for i, row in enumerate(rows):
        top = 40.0 + 14.0 * i
        for x, cell in row:
            for token in cell.split():
                words.append(Word(text=token, bbox=(x, top, x + 6.0 * len(token), top + 10.0)))
                x += 6.0 * len(token) + 4.0
    text = "\n".join("   ".join(cell for _, cell in row) for row in rows)
    return PageText(number=number, method=method, text=text, words=words, width=595, height=842)


GERMAN = [
    [(40, "Muster Elektro GmbH")],
    [(40, "Hauptstraße 5, 10115 Berlin")],
    [(40, "Rechnungsempfänger")],
    [(40, "Kunde Handel AG")],
    [(300, "Rechnungsnummer:"), (420, "RE-2024-0815")],
    [(300, "Rechnungsdatum"), (420, "11. März 2024")],
    [(300, "Bestellnummer:"), (420, "PO-4711")],
    [(40, "Pos"), (80, "Beschreibung"), (260, "Menge"), (330, "Einzelpreis"), (450, "Betrag")],
    [(40, "1"), (80, "Kabel NYM 3x1,5"), (260, "10"), (330, "12,50"), (450, "125,00")],
    [(40, "2"), (80, "Steckdose weiß"), (260, "4"), (330, "3,75"), (450, "15,00")],
    [(40, "Übertrag"), (450, "140,00")],
]
GERMAN_2 = [
    [(40, "Pos"), (80, "Beschreibung"), (260, "Menge"), (330, "Einzelpreis"), (450, "Betrag")],
    [(40, "3"), (80, "Montage Elektriker"), (260, "2"), (330, "55,00"), (450, "110,00")],
    [(40, "Nettobetrag"), (450, "250,00")],
    [(40, "USt. 19 % auf 250,00"), (450, "47,50")],
    [(40, "Gesamtbetrag der Zuschläge"), (450, "0,00")],
    [(40, "Bruttosumme"), (450, "297,50")],
    [(40, "IBAN: DE89 3704 0044 0532 0130 00"), (300, "USt-IdNr.: DE136695976")],
]


def _german() -> DocumentText:
    return DocumentText(pages=[_page(1, GERMAN), _page(2, GERMAN_2)])


def test_header_fields_from_labels() -> None:
    invoice = extract_invoice(_german(), Settings())
    assert invoice.invoice_number is not None and invoice.invoice_number.value == "RE-2024-0815"
    assert invoice.invoice_date is not None and invoice.invoice_date.value == date(2024, 3, 11)
    assert invoice.po_number is not None and invoice.po_number.value == "PO-4711"
    assert invoice.vendor_name is not None and invoice.vendor_name.value == "Muster Elektro GmbH"
    assert invoice.buyer_name is not None and invoice.buyer_name.value == "Kunde Handel AG"
    assert invoice.iban is not None and invoice.iban.value == "DE89370400440532013000"
    assert invoice.vendor_vat_id is not None and invoice.vendor_vat_id.value == "DE136695976"
    assert invoice.document_type is not None and invoice.document_type.value == DocumentType.INVOICE


def test_money_is_chosen_so_the_arithmetic_holds() -> None:
    invoice = extract_invoice(_german(), Settings())
    assert invoice.subtotal is not None and invoice.subtotal.value == Decimal("250.00")
    assert invoice.tax is not None and invoice.tax.value == Decimal("47.50")
    assert invoice.total is not None and invoice.total.value == Decimal("297.50")
    assert [(t.rate, t.base, t.amount) for t in invoice.tax_lines] == [
        (Decimal("19"), Decimal("250.00"), Decimal("47.50"))
    ]


def test_line_items_stitched_across_pages_without_carry_over() -> None:
    invoice = extract_invoice(_german(), Settings())
    got = [
        (i.description.value, i.quantity.value, i.unit_price.value, i.line_total.value, i.page)
        for i in invoice.lines
    ]
    assert got == [
        ("Kabel NYM 3x1,5", Decimal(10), Decimal("12.50"), Decimal("125.00"), 1),
        ("Steckdose weiß", Decimal(4), Decimal("3.75"), Decimal("15.00"), 1),
        ("Montage Elektriker", Decimal(2), Decimal("55.00"), Decimal("110.00"), 2),
    ]


def test_every_value_has_provenance_and_confidence() -> None:
    invoice = extract_invoice(_german(), Settings())
    total = invoice.total
    assert total is not None
    assert total.provenance.method == Method.TEXT_LAYER
    assert total.provenance.page == 2 and total.provenance.bbox is not None
    assert total.provenance.raw == "297,50"
    assert 0.0 < total.confidence <= 1.0


def test_value_below_its_label_and_us_dates() -> None:
    rows = [
        [(40, "Acme Supplies Inc.")],
        [(40, "12 Main St, Springfield, IL 62701, USA")],
        [(40, "Invoice Date:"), (200, "Due Date:"), (360, "Invoice No:")],
        [(40, "03/04/2023"), (200, "04/03/2023"), (360, "A-1001")],
        [(40, "Subtotal"), (400, "$ 1,200.00")],
        [(40, "Tax 10%"), (400, "$ 120.00")],
        [(40, "Total"), (400, "$ 1,320.00")],
    ]
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings())
    assert invoice.invoice_date is not None and invoice.invoice_date.value == date(2023, 3, 4)
    assert invoice.due_date is not None and invoice.due_date.value == date(2023, 4, 3)
    assert invoice.invoice_number is not None and invoice.invoice_number.value == "A-1001"
    assert invoice.total is not None and invoice.total.value == Decimal("1320.00")
    assert invoice.currency is not None and invoice.currency.value == "USD"


def test_no_einvoice_means_visual_only() -> None:
    text = _german().model_copy(update={"einvoice_xml": b"<not-xml"})
    visual = extract_invoice(text, Settings(), use_einvoice=False)
    broken = extract_invoice(text, Settings(), use_einvoice=True)
    assert visual.total is not None and broken.total is not None
    assert visual.total.value == broken.total.value  # a broken XML falls back to the pages


def test_empty_document_gives_empty_invoice() -> None:
    invoice = extract_invoice(DocumentText(), Settings())
    assert invoice.total is None and invoice.lines == []


def test_wrapped_description_is_joined() -> None:
    rows = [
        [(40, "Pos"), (80, "Beschreibung"), (260, "Menge"), (330, "Einzelpreis"), (450, "Betrag")],
        [(40, "1"), (80, "Beamer-"), (260, "1"), (330, "122,50"), (450, "122,50")],
        [(80, "Deckenhalterung")],
        [(40, "Summe"), (450, "122,50")],
    ]
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings())
    assert [i.description.value for i in invoice.lines if i.description] == [
        "Beamer-Deckenhalterung"
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.text(alphabet="0123456789.,:-/ €$%ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh\n", max_size=80),
        max_size=12,
    )
)
def test_extraction_never_raises_on_arbitrary_text(rows: list[str]) -> None:
    page = PageText(number=1, method=Method.OCR, text="\n".join(rows))
    invoice = extract_invoice(DocumentText(pages=[page]), Settings())
    for name in ("total", "subtotal", "tax"):
        fv = invoice.field(name)
        assert fv is None or isinstance(fv.value, Decimal)


CII = b"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocument><ram:ID>RE-2024-0815</ram:ID><ram:TypeCode>380</ram:TypeCode>
  <ram:IssueDateTime>
   <udt:DateTimeString format="102">20240311</udt:DateTimeString>
  </ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>Muster Elektro GmbH</ram:Name></ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Kunde Handel AG</ram:Name></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:TaxBasisTotalAmount>250.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="EUR">47.50</ram:TaxTotalAmount>
    <ram:GrandTotalAmount>297.50</ram:GrandTotalAmount>
    <ram:DuePayableAmount>297.50</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


def test_einvoice_xml_wins_and_agreement_raises_confidence() -> None:
    text = _german().model_copy(update={"einvoice_xml": CII.replace(b"RE-2024-0815", b"XML-1")})
    invoice = extract_invoice(text, Settings())
    assert invoice.invoice_number is not None
    assert invoice.invoice_number.value == "XML-1"  # the invoice's own data wins
    assert invoice.invoice_number.provenance.method == Method.EINVOICE_XML
    assert invoice.invoice_number.confidence == 1.0  # structurally valid XML: legal content
    incomplete = CII.replace(b"RE-2024-0815", b"XML-1").replace(
        b"<ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>", b""
    )
    partial = extract_invoice(text.model_copy(update={"einvoice_xml": incomplete}), Settings())
    assert partial.invoice_number is not None
    assert partial.invoice_number.confidence == 0.99  # the page disagrees: no boost
    assert partial.total is not None and partial.total.confidence > 0.99  # the page agrees
    assert invoice.lines  # the XML has no lines: the visual ones fill in
    visual = extract_invoice(text, Settings(), use_einvoice=False)
    assert visual.invoice_number is not None and visual.invoice_number.value == "RE-2024-0815"


def _items(rows: list[list[tuple[float, str]]]) -> list[tuple]:
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows, Method.OCR)]), Settings())
    return [
        (
            i.description.value if i.description else None,
            i.quantity.value if i.quantity else None,
            i.unit_price.value if i.unit_price else None,
            i.line_total.value if i.line_total else None,
        )
        for i in invoice.lines
    ]


def test_quantity_and_price_in_neighbouring_columns_stay_two_numbers() -> None:
    # joined with one space, "20 122.58" reads as 20,122.58 (a space for thousands)
    rows = [
        [(40, "Code"), (100, "Description"), (300, "Qty"), (360, "Rate"), (450, "Line Total")],
        [
            (40, "TER-A001"),
            (100, "Machine maintenance"),
            (300, "20"),
            (360, "122.58"),
            (450, "2,451.60"),
        ],
        [(40, "Total excl. VAT"), (450, "2,451.60")],
    ]
    assert _items(rows) == [
        ("Machine maintenance", Decimal(20), Decimal("122.58"), Decimal("2451.60"))
    ]


def test_a_table_whose_header_row_was_not_read() -> None:
    # white header text on a dark band is lost to OCR: the complete rows above the totals,
    # with a delivery note between two items, are the table; the letterhead is not
    rows = [
        [(40, "Davies Technical Services Ltd")],
        [(40, "Payment due: 13 October 2025")],
        [
            (40, "1"),
            (60, "Hydraulic pump spare part"),
            (300, "2"),
            (340, "302.36"),
            (400, "20%"),
            (450, "604.72"),
        ],
        [(60, "(Delivery note 4471)")],
        [(40, "2"), (60, "Bearing kit"), (300, "12"), (340, "3.66"), (400, "20%"), (450, "43.92")],
        [(40, "Net amount"), (450, "648.64")],
        [(40, "Tax 20%"), (450, "129.73")],
    ]
    got = _items(rows)
    assert [g[1:] for g in got] == [
        (Decimal(2), Decimal("302.36"), Decimal("604.72")),
        (Decimal(12), Decimal("3.66"), Decimal("43.92")),
    ]


def test_numbers_printed_under_the_description() -> None:
    rows = [
        [
            (40, "N°"),
            (70, "Désignation"),
            (300, "Qté"),
            (340, "Prix unitaire"),
            (450, "Montant HT"),
        ],
        [(40, "1"), (70, "Commutateur réseau 24 ports")],
        [(300, "1"), (340, "197,10"), (400, "21%"), (450, "197,10")],
        [(40, "2"), (70, "Câble USB-C 2m")],
        [(300, "2"), (340, "9,24"), (400, "21%"), (450, "18,48")],
        [(40, "Total HT"), (450, "215,58")],
    ]
    assert [g[1:] for g in _items(rows)] == [
        (Decimal(1), Decimal("197.10"), Decimal("197.10")),
        (Decimal(2), Decimal("9.24"), Decimal("18.48")),
    ]


def test_fractional_quantity_is_the_number_printed_first() -> None:
    rows = [
        [(40, "Description"), (250, "Quantité"), (330, "P.U. HT"), (450, "Total HT")],
        [(40, "Fil de cuivre 2,5mm2"), (250, "134,75 kg"), (330, "11,91"), (450, "1 604,87")],
        [(40, "Sous-total"), (450, "1 604,87")],
    ]
    assert [g[1:] for g in _items(rows)] == [
        (Decimal("134.75"), Decimal("11.91"), Decimal("1604.87"))
    ]


def test_an_item_starting_like_netto_is_no_totals_row() -> None:
    rows = [
        [(40, "Désignation"), (250, "Qté"), (330, "Prix"), (450, "Montant")],
        [(40, "Nettoyage des vitres"), (250, "4"), (330, "38,54"), (450, "154,16")],
        [(40, "Montant HT"), (450, "154,16")],
    ]
    assert [g[0] for g in _items(rows)] == ["Nettoyage des vitres"]


def test_item_code_is_the_sku_and_no_number() -> None:
    # "-2004" was read as a negative amount and "6204-2RS" as two numbers
    rows = [
        [
            (40, "#"),
            (60, "Item No."),
            (140, "Description"),
            (300, "Qty"),
            (350, "Unit Price"),
            (450, "Amount"),
        ],
        [
            (40, "1"),
            (60, "BOR-2004"),
            (140, "Bearing 6204-2RS"),
            (300, "12"),
            (350, "3.66"),
            (450, "43.92"),
        ],
        [(40, "Subtotal"), (450, "43.92")],
    ]
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows, Method.OCR)]), Settings())
    (line,) = invoice.lines
    assert line.sku is not None and line.sku.value == "BOR-2004"
    assert line.description is not None and line.description.value == "Bearing"
    assert (line.quantity.value, line.unit_price.value) == (Decimal(12), Decimal("3.66"))


def test_company_register_small_print_is_no_vendor_name() -> None:
    rows = [
        [(40, "Librairie Les Tilleuls")],
        [(40, "SARL au capital de 8 000 €")],
        [(40, "12 rue des Lilas, 69003 Lyon")],
        [(300, "Facture N°"), (420, "F-2024-118")],
        [(300, "Date"), (420, "14/05/2024")],
        [(40, "Total TTC"), (450, "60,00")],
    ]
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings())
    # the letterhead above it is the name (the small print has the legal form, the name not)
    assert invoice.vendor_name is not None
    assert invoice.vendor_name.value == "Librairie Les Tilleuls"


def test_a_column_heading_over_the_items_is_no_tax_label() -> None:
    rows = [
        [(40, "Hosting Partner AG")],
        [(300, "Rechnungsnr."), (420, "55501234")],
        [(300, "Rechnungsdatum"), (420, "07.05.2024")],
        [(40, "Pos."), (80, "Menge"), (130, "Beschreibung"), (380, "VK-Preis"), (460, "Betrag")],
        [(380, "ohne"), (460, "ohne")],
        [(380, "MwSt."), (460, "MwSt.")],
        [(40, "1"), (80, "1"), (130, "Mailbox Standard"), (380, "3,89"), (460, "3,89")],
        [(40, "2"), (80, "2"), (130, "Mailbox Plus"), (380, "5,39"), (460, "10,78")],
        [(300, "Total EUR"), (460, "14,67")],
    ]
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings())
    assert invoice.total is not None and invoice.total.value == Decimal("14.67")
    assert invoice.tax is None or invoice.tax.value != Decimal("3.89")
    assert invoice.subtotal is None or invoice.subtotal.value != Decimal("10.78")


def test_the_billing_address_heading_names_the_buyer() -> None:
    rows = [
        [(40, "Factuuradres")],
        [(40, "Bakkerij Jansen B.V.")],
        [(40, "Dorpsstraat 12")],
        [(40, "3511 AB Utrecht")],
        [(300, "Factuurnummer:"), (420, "F-2024-77")],
        [(300, "Factuurdatum:"), (420, "08-09-2024")],
        [(300, "Totaal EUR"), (460, "49,99")],
    ]
    invoice = extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings())
    assert invoice.buyer_name is not None and invoice.buyer_name.value == "Bakkerij Jansen B.V."
    assert invoice.vendor_name is None or invoice.vendor_name.value != "Bakkerij Jansen B.V."
