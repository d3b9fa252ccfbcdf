"""The vendor's name and address on scanned pages: OCR's separators, stamps and misreadings."""

from __future__ import annotations

import pytest

from extractors.fields.address import address_candidate, repair_address
from extractors.fields.parties import buyer_candidate, vendor_candidate
from extractors.layout.lines import document_lines
from invoices.records import DocumentText, Method, PageText, Word


def _vendor(rows: list[list[tuple[float, str]]]) -> tuple[str | None, str | None]:
    """The vendor's name and address read from one OCR page built from rows of (x, text)
    cells."""
    words = []
    for i, row in enumerate(rows):
        top = 40.0 + 14.0 * i
        for x, cell in row:
            for token in cell.split():
                box = (x, top, x + 6.0 * len(token), top + 10.0)
                words.append(Word(text=token, bbox=box, confidence=0.9))
                x += 6.0 * len(token) + 4.0
    text = "\n".join("   ".join(cell for _, cell in row) for row in rows)
    page = PageText(number=1, method=Method.OCR, text=text, words=words, width=595, height=842)
    lines = document_lines(DocumentText(pages=[page]))
    vendor = vendor_candidate(lines)
    found = address_candidate(lines, vendor)
    name = None if vendor is None else str(vendor.value)
    return name, None if found is None else str(found.value)


def _address(rows: list[list[tuple[float, str]]]) -> str | None:
    return _vendor(rows)[1]


_BUYER = [
    [(40.0, "Rechnungsempfänger")],
    [(40.0, "Helios Industrietechnik GmbH")],
    [(40.0, "Werkstraße 1")],
    [(40.0, "30159 Hannover")],
]


def test_sender_line_read_with_colons_under_a_receipt_stamp() -> None:
    # "·" read as ":", and a stamp's text between the letterhead and the sender line
    rows = [
        [(400.0, "Centromark e.K.")],
        [(330.0, "[EINGANG 12. FEB. 2025")],
        [(40.0, "Centromark e.K. : Parkstraße 175 : 10115 Berlin")],
        *_BUYER,
    ]
    assert _address(rows) == "Parkstraße 175, 10115 Berlin"


def test_sender_line_cut_into_columns_after_a_separator() -> None:
    # OCR cuts the line at the wide gap after a separator: the town is the next column
    rows = [
        [(400.0, "Lumenmark SA")],
        [(330.0, "LE 03/02/2025")],
        [(40.0, "Lumenmark SA - 47 rue des Lilas -"), (260.0, "5000 Namur")],
        [(40.0, "Destinataire")],
        [(40.0, "Helios Benelux SA")],
        [(40.0, "22 boulevard du Roi Albert II")],
        [(40.0, "1000 Bruxelles")],
    ]
    assert _address(rows) == "47 rue des Lilas, 5000 Namur"


@pytest.mark.parametrize("after", ["IBAN, DE12 1234 5678 9012 3456 78", "USE.-Id,.-Nr. DE234567891"])
def test_a_bank_account_or_tax_id_under_the_name_is_no_address(after: str) -> None:
    rows = [[(40.0, "Musterfirma GmbH")], [(40.0, after)], [(40.0, "Musterstraße 20")]]
    assert _vendor(rows) == ("Musterfirma GmbH", None)


def test_tax_id_and_mail_after_the_address_are_not_part_of_it() -> None:
    rows = [
        [(40.0, "Vincent & Chevalier SA"), (450.0, "FACTURE")],
        [(40.0, "112 avenue Jean Jaurès -"), (200.0, "6000 Charleroi -"), (320.0, "Belgique")],
        [(40.0, "N° TVA: BE0845090427 - invoices@vincentchevalier.be")],
        [(40.0, "Facturé à")],
        [(40.0, "Helios Benelux SA")],
    ]
    assert _address(rows) == "112 avenue Jean Jaurès, 6000 Charleroi"


def test_specks_around_the_address_lines_are_dropped() -> None:
    rows = [
        [(40.0, "Terratrade OG"), (450.0, "RECHNUNG")],
        [(40.0, "‚Gartenweg 103 -")],
        [(40.0, "8010 Graz .")],
        [(40.0, "Österreich")],
        *_BUYER,
    ]
    assert _address(rows) == "Gartenweg 103, 8010 Graz"


def test_punctuation_printed_at_the_end_of_an_address_line_is_kept() -> None:
    """Receipts end address lines with a comma and the address with a full stop: they are
    printed, and the address is recorded as printed."""
    rows = [
        [(40.0, "UNIHAKKA INTERNATIONAL SDN BHD")],
        [(40.0, "12, JALAN TAMPOI 7/4,KAWASAN PERINDUSTRIAN TAMPOI,")],
        [(40.0, "81200 JOHOR BAHRU, JOHOR.")],
        *_BUYER,
    ]
    assert _address(rows) == (
        "12, JALAN TAMPOI 7/4,KAWASAN PERINDUSTRIAN TAMPOI, 81200 JOHOR BAHRU, JOHOR."
    )


def test_sender_line_with_the_name_misread_and_no_space_after_a_separator() -> None:
    rows = [
        [(400.0, "Centromark e.K.")],
        [(40.0, "Certromark e.K. -ParkstraGe 175 + 10115 Berlin")],
        *_BUYER,
    ]
    assert _address(rows) == "Parkstraße 175, 10115 Berlin"


def test_a_receipt_stamp_over_the_letterhead_is_not_the_vendor() -> None:
    rows = [
        [(40.0, "INVOICE"), (400.0, "Novaplan Consulting")],
        [(330.0, "[RECEIVED 29 MAY")],
        [(400.0, "159 High Street")],
        [(400.0, "Bristol BS1 4DJ")],
        [(40.0, "Invoice to")],
        [(40.0, "Helios Industrial Ltd")],
        [(40.0, "5 Canal Street")],
    ]
    assert _vendor(rows)[0] == "Novaplan Consulting"


@pytest.mark.parametrize(
    ("read", "name"),
    [
        ("Terratrade OG.", "Terratrade OG"),  # a speck after a form never written with a dot
        ("GUTSCHRIFT Deltatrade Logistik GmbH", "Deltatrade Logistik GmbH"),
        ("Deltatrade Ltd.", "Deltatrade Ltd."),  # "Ltd." is written so
    ],
)
def test_ocr_specks_around_the_letterhead_name(read: str, name: str) -> None:
    rows = [[(40.0, read)], [(40.0, "Gartenweg 103")], [(40.0, "8010 Graz")], *_BUYER]
    assert _vendor(rows)[0] == name


@pytest.mark.parametrize(
    ("read", "printed"),
    [
        ("Glasgow Gl 1XQ", "Glasgow G1 1XQ"),
        ("Glasgow G1 IXQ", "Glasgow G1 1XQ"),
        ("Glasgow Gi 1xQ", "Glasgow G1 1XQ"),
        ("Manchester MI 1AE", "Manchester M1 1AE"),
        ("Glasgow. G1 1XQ", "Glasgow G1 1XQ"),  # a speck between the town and the postcode
        ("London EC1A 1BB", "London EC1A 1BB"),
        ("IndustriestraBe 168", "Industriestraße 168"),
        ("101 15 Berlin", "10115 Berlin"),
        ("8 0331 München", "80331 München"),
        # left alone: nothing in the format says a character was misread
        ("Amsterdam 1012 AB", "Amsterdam 1012 AB"),
        ("Columbus, OH 43215", "Columbus, OH 43215"),
        ("1 10 Downing Street", "1 10 Downing Street"),
        ("Hauptstraße 5", "Hauptstraße 5"),
        ("BERGSTRASSE 12", "BERGSTRASSE 12"),
    ],
)
def test_ocr_misreadings_read_back_where_the_format_is_sure(read: str, printed: str) -> None:
    assert repair_address(read) == printed


def test_a_low_quote_speck_before_the_buyer_name_is_dropped() -> None:
    rows = [
        [(40.0, "Clarke & Morgan Ltd")],
        [(40.0, "30 Mill Lane")],
        [(40.0, "Glasgow G1 1XQ")],
        [(40.0, "Invoice to")],
        [(40.0, "‚Helios Industrial Ltd")],
        [(40.0, "5 Canal Street")],
    ]
    words = []
    for i, row in enumerate(rows):
        for x, cell in row:
            for token in cell.split():
                box = (x, 40.0 + 14.0 * i, x + 6.0 * len(token), 50.0 + 14.0 * i)
                words.append(Word(text=token, bbox=box, confidence=0.9))
                x += 6.0 * len(token) + 4.0
    text = "\n".join(cell for row in rows for _, cell in row)
    page = PageText(number=1, method=Method.OCR, text=text, words=words, width=595, height=842)
    lines = document_lines(DocumentText(pages=[page]))
    buyer = buyer_candidate(lines, vendor_candidate(lines))
    assert buyer is not None and buyer.value == "Helios Industrial Ltd"


@pytest.mark.parametrize(
    ("mail", "name"),
    [
        ("invoices@nordnetgebaeuderei.de", "Nordnet Gebäudereinigung GmbH"),
        ("www.mueller-buerobedarf.de", "Müller Bürobedarf GmbH"),
        ("invoices@nordnet.de", "Nordnet Gebaudereinigung GmbH"),  # nothing spells it out
    ],
)
def test_umlauts_ocr_dropped_are_read_back_from_the_vendors_domain(mail: str, name: str) -> None:
    read = name.replace("ü", "u").replace("ä", "a") if "ae" in mail or "ue" in mail else name
    rows = [[(40.0, read)], [(40.0, "Am Markt 7")], [(40.0, "90402 Nürnberg")], [(40.0, mail)]]
    assert _vendor([*rows, *_BUYER])[0] == name


def test_address_under_a_repeat_of_the_name_once_its_umlauts_are_put_back() -> None:
    name = "Nordnet Gebaudereinigung GmbH"  # as OCR read it, twice
    rows = [
        [(40.0, name)],
        [(40.0, "invoices@nordnetgebaeuderei.de")],
        *_BUYER,
        [(40.0, "Vielen Dank für Ihren Auftrag.")],
        [(40.0, name)],
        [(40.0, "Am Markt 7")],
        [(40.0, "90402 Nürnberg")],
    ]
    assert _vendor(rows) == ("Nordnet Gebäudereinigung GmbH", "Am Markt 7, 90402 Nürnberg")
