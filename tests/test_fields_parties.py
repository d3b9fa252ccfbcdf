"""Parties and document type on small hand-set pages: the buyer printed without a heading, a
customer-number label that is no heading, and the type read from the title, not from any
type word on the page."""

from __future__ import annotations

import pytest

from extractors.extract import extract_invoice, extract_visual_with_evidence
from extractors.fields.doctypes import TITLE_WEIGHT
from invoices.records import DocumentText, DocumentType, Invoice, Method, PageText, Word
from invoices.settings import Settings

# (top, x, text, font size): words get boxes of 0.6 x size per character
Cell = tuple[float, float, str, float]


def _page(cells: list[Cell]) -> DocumentText:
    words = []
    for top, x, text, size in cells:
        for token in text.split():
            width = 0.6 * size * len(token)
            words.append(Word(text=token, bbox=(x, top, x + width, top + size)))
            x += width + 0.4 * size
    rows: dict[float, list[str]] = {}
    for top, _, text, _ in cells:
        rows.setdefault(top, []).append(text)
    text = "\n".join("   ".join(row) for _, row in sorted(rows.items()))
    page = PageText(
        number=1, method=Method.TEXT_LAYER, text=text, words=words, width=595, height=842
    )
    return DocumentText(pages=[page])


def _read(cells: list[Cell]) -> Invoice:
    return extract_invoice(_page(cells), Settings(), use_einvoice=False)


def _document_type(cells: list[Cell]) -> DocumentType | None:
    kind = _read(cells).document_type
    return kind.value if kind is not None else None


LETTERHEAD: list[Cell] = [
    (40, 40, "Nordlicht Druckerei GmbH", 16),
    (62, 40, "Hafenstraße 12", 8),
    (72, 40, "20457 Hamburg", 8),
    (82, 40, "USt-IdNr.: DE136695976", 8),
    (92, 40, "info@nordlicht-druck.de", 8),
]
WINDOW: list[Cell] = [
    (150, 40, "Bäckerei Sonnenschein KG", 9),
    (162, 40, "Lindenallee 4", 9),
    (174, 40, "50667 Köln", 9),
]
DETAILS: list[Cell] = [
    (230, 40, "Rechnungsnummer: 2024-118", 9),
    (242, 40, "Datum: 12.03.2024", 9),
    (280, 40, "Gesamtbetrag EUR 119,00", 9),
]


def test_address_window_without_heading_is_the_buyer() -> None:
    invoice = _read([*LETTERHEAD, (130, 40, "Nordlicht Druckerei · Hafenstraße 12", 6), *WINDOW])
    assert invoice.vendor_name is not None
    assert invoice.vendor_name.value == "Nordlicht Druckerei GmbH"
    assert invoice.buyer_name is not None
    assert invoice.buyer_name.value == "Bäckerei Sonnenschein KG"


def test_unheaded_block_beside_the_sellers_is_the_buyer() -> None:
    cells: list[Cell] = [
        (40, 360, "Atelier Moreau SARL", 14),
        (60, 360, "18 rue Victor Hugo", 9),
        (72, 360, "69002 Lyon", 9),
        (84, 360, "TVA: FR40303265045", 9),
        (72, 40, "Librairie Dupont SA", 9),
        (84, 40, "5 place Bellecour", 9),
        (96, 40, "69001 Lyon", 9),
        (140, 40, "FACTURE", 16),
        (170, 40, "Facture n° F-2024-31", 9),
    ]
    invoice = _read(cells)
    assert invoice.vendor_name is not None and invoice.vendor_name.value == "Atelier Moreau SARL"
    assert invoice.buyer_name is not None and invoice.buyer_name.value == "Librairie Dupont SA"


def test_an_unheaded_buyer_only_when_one_block_is_left() -> None:
    """A wrong buyer is worse than none: the seller's own block, a block under a delivery
    heading and two candidate blocks give no buyer; a heading over the window still wins."""
    second: list[Cell] = [
        (150, 330, "Hotel Seeblick GmbH", 9),
        (162, 330, "Uferweg 9", 9),
        (174, 330, "23730 Neustadt", 9),
    ]
    assert _read([*LETTERHEAD, *WINDOW, *DETAILS]).buyer_name is not None
    assert _read([*LETTERHEAD, *WINDOW, *second, *DETAILS]).buyer_name is None
    assert _read([*LETTERHEAD, (138, 40, "Lieferanschrift", 9), *WINDOW]).buyer_name is None
    assert _read([*LETTERHEAD, *DETAILS]).buyer_name is None
    headed = _read([*LETTERHEAD, (138, 40, "Rechnungsempfänger", 8), *WINDOW, *second])
    assert headed.buyer_name is not None
    assert headed.buyer_name.value == "Bäckerei Sonnenschein KG"


def _customer_number(label: list[Cell]) -> Invoice:
    return _read([*LETTERHEAD, *label, (162, 40, "Projekt Neubau Lagerhalle", 9), *DETAILS])


def test_customer_number_label_is_no_buyer_heading() -> None:
    for label in (
        [(150, 40, "Kunde: 12345", 9)],
        [(150, 40, "Customer: 4711", 9)],
        [(150, 40, "Client :", 9), (150, 120, "K-4711", 9)],
    ):
        invoice = _customer_number(label)
        assert invoice.buyer_name is None, label
    # a name after the word: still a heading
    invoice = _read([*LETTERHEAD, (150, 40, "Customer: 3M Deutschland GmbH", 9), *DETAILS])
    assert invoice.buyer_name is not None
    assert invoice.buyer_name.value == "3M Deutschland GmbH"


def test_type_comes_from_the_title_not_a_letterhead_line() -> None:
    cells: list[Cell] = [
        (40, 40, "Nordlicht Druckerei GmbH", 16),
        (62, 40, "Invoices to: Postfach 1120, 20457 Hamburg", 8),
        (120, 40, "Credit note", 16),
        (150, 40, "Credit note no. CN-2024-7", 9),
        (180, 40, "Total EUR 50,00", 9),
    ]
    invoice = _read(cells)
    assert invoice.document_type is not None
    assert invoice.document_type.value == DocumentType.CREDIT_NOTE


def test_the_largest_title_names_the_type() -> None:
    cells: list[Cell] = [
        (40, 40, "Nordlicht Druckerei GmbH", 16),
        (62, 40, "Bitte geben Sie bei Zahlung die Rechnungsnummer an", 8),
        (120, 40, "Kontoauszug", 16),
        (150, 40, "Rechnung", 9),
        (150, 140, "R-2024-11", 9),
        (150, 300, "119,00", 9),
    ]
    invoice = _read(cells)
    assert invoice.document_type is not None
    assert invoice.document_type.value == DocumentType.STATEMENT


@pytest.mark.parametrize(
    ("title", "column", "expected"),
    [
        ("KONTOAUSZUG", "Rechnungs-Nr.", DocumentType.STATEMENT),
        ("STATEMENT OF ACCOUNT", "Invoice No.", DocumentType.STATEMENT),
        ("ZAHLUNGSERINNERUNG", "Rechnung Nr.", DocumentType.REMINDER),
        ("RELANCE DE PAIEMENT", "Numéro de facture", DocumentType.REMINDER),
    ],
)
def test_a_title_naming_the_document_beats_the_number_label_of_its_listed_invoices(
    title: str, column: str, expected: DocumentType
) -> None:
    """A statement or a reminder heads the column of the invoices it lists with their number's
    label; on a scan that head (bold, with descenders) can read as tall as the all-caps title."""
    cells: list[Cell] = [
        *LETTERHEAD,
        (110, 40, title, 11),
        (150, 40, "Offene Posten / open items", 8),
        (170, 40, column, 12),
        (170, 300, "Betrag", 12),
        (186, 40, "64367", 9),
        (186, 300, "4.025,70", 9),
    ]
    assert _document_type(cells) == expected


def test_a_number_label_heading_a_column_is_no_title() -> None:
    """A statement whose title the scan lost: the column heads over the invoices it lists do
    not make it an invoice by its title (the type is only the default, weighed as such)."""
    cells: list[Cell] = [
        *LETTERHEAD,
        (110, 40, "Destinataire", 9),
        (122, 40, "Helios Industrie SAS", 9),
        (160, 40, "Numéro de facture", 12),
        (160, 200, "Date d'émission", 12),
        (160, 400, "Montant", 12),
        (176, 40, "2024/10829", 9),
        (176, 200, "15/01/2025", 9),
        (176, 400, "2 933,30 EUR", 9),
    ]
    evidence = extract_visual_with_evidence(_page(cells), Settings())[1]["document_type"]
    assert evidence["label"] < TITLE_WEIGHT


@pytest.mark.parametrize("stamp", ["RECU", "REÇU"])
def test_an_inbound_mail_stamp_is_no_receipts_title(stamp: str) -> None:
    """The stamp's word, set apart from its date and larger than the title, as a scan reads
    it ("LE" misread "LF")."""
    cells: list[Cell] = [
        *LETTERHEAD,
        (110, 40, "FACTURE", 14),
        (110, 300, stamp, 20),
        (110, 420, "LF 12/01/2025", 12),
        (150, 40, "N° de facture", 9),
        (150, 140, "RE-2025-01692", 9),
    ]
    assert _document_type(cells) == DocumentType.INVOICE


@pytest.mark.parametrize("title", ["Relance de paiement", "1. Mahnung", "Payment reminder"])
def test_reminder_title_under_a_letterhead_naming_invoices(title: str) -> None:
    cells: list[Cell] = [
        (40, 40, "Nordlicht Druckerei GmbH", 16),
        (62, 40, "Invoices to: Postfach 1120, 20457 Hamburg", 8),
        (100, 40, title, 16),
        (150, 40, "Facture n°", 9),
        (150, 140, "Date", 9),
        (162, 40, "F-2024-11", 9),
        (162, 140, "12.03.2024", 9),
    ]
    invoice = _read(cells)
    assert invoice.document_type is not None
    assert invoice.document_type.value == DocumentType.REMINDER


def test_a_type_word_only_in_an_e_mail_or_a_sentence_is_not_auto_accepted() -> None:
    cells: list[Cell] = [
        (40, 40, "Nordlicht Druckerei GmbH", 16),
        (62, 40, "invoices@nordlicht-druck.de", 8),
        (120, 40, "Please pay this credit note within 30 days", 9),
        (150, 40, "Total EUR 50,00", 9),
    ]
    invoice = _read(cells)
    threshold = Settings().auto_accept_thresholds["document_type"]
    assert invoice.document_type is not None
    assert invoice.document_type.value == DocumentType.CREDIT_NOTE
    assert invoice.document_type.confidence < threshold
