"""The vendor address's evidence on small hand-set pages: what tells the confidence model that
an address was read from the buyer's block, from item codes or from a misread scan."""

from __future__ import annotations

from extractors.confidence import confidence, fit_calibration
from extractors.extract import extract_visual_with_evidence
from invoices.records import DocumentText, Method, PageText, Word
from invoices.settings import Settings

# (top, x, text, font size[, OCR confidence of each word]): boxes of 0.6 x size per character
Cell = tuple[float, float, str, float] | tuple[float, float, str, float, float]


def _read(cells: list[Cell], method: Method = Method.TEXT_LAYER) -> tuple[str, dict[str, float]]:
    words = []
    for cell in cells:
        top, x, text, size = cell[:4]
        sure = cell[4] if len(cell) > 4 else 0.96  # type: ignore[misc]
        for token in text.split():
            width = 0.6 * size * len(token)
            words.append(Word(text=token, bbox=(x, top, x + width, top + size), confidence=sure))
            x += width + 0.4 * size
    rows: dict[float, list[str]] = {}
    for top, _, text, *_ in cells:
        rows.setdefault(top, []).append(text)
    text = "\n".join("   ".join(row) for _, row in sorted(rows.items()))
    page = PageText(number=1, method=method, text=text, words=words, width=595, height=842)
    invoice, evidence = extract_visual_with_evidence(DocumentText(pages=[page]), Settings())
    assert invoice.vendor_address is not None
    return invoice.vendor_address.value, evidence["vendor_address"]


DETAILS: list[Cell] = [
    (330, 40, "Rechnungsnummer: 2024-118", 9),
    (342, 40, "Datum: 12.03.2024", 9),
    (380, 40, "Gesamtbetrag EUR 119,00", 9),
]


def test_a_letterhead_address_with_the_sellers_ids_reads_as_the_sellers() -> None:
    value, ev = _read(
        [
            (40, 40, "Nordlicht Druckerei GmbH", 16),
            (62, 40, "Hafenstraße 12", 8),
            (72, 40, "20457 Hamburg", 8),
            (82, 40, "USt-IdNr.: DE136695976", 8),
            *DETAILS,
        ]
    )
    assert value == "Hafenstraße 12, 20457 Hamburg"
    assert ev["address_form"] == 1.0 and ev["address_seller"] == 1.0
    assert ev["address_foreign"] == 0.0 and ev["address_buyer"] == 0.0
    assert ev["address_other_seller"] == 0.0


def test_the_buyers_block_under_a_bare_letterhead_is_marked_foreign_and_the_buyers() -> None:
    # the vendor's name stands alone beside the title; the next lines are the buyer's block
    value, ev = _read(
        [
            (40, 40, "FACTURE", 16),
            (40, 300, "Elbtec Formation SARL", 16),
            (110, 40, "Destinataire", 9),
            (122, 40, "Helios Industrie SAS", 9),
            (134, 40, "14 avenue de l'Europe", 9),
            (146, 40, "69002 Lyon", 9),
            (700, 40, "Elbtec Formation SARL", 8),
            (710, 40, "150 avenue Victor Hugo", 8),
            (710, 300, "IBAN: FR76 1027 8225 2357 5686 2648 564", 8),
            (720, 40, "67000 Strasbourg", 8),
            *DETAILS,
        ]
    )
    assert "Helios Industrie SAS" in value
    assert ev["address_foreign"] == 1.0  # the heading "Destinataire" inside it
    assert ev["address_buyer"] == 1.0
    assert ev["address_seller"] == 0.0
    assert ev["address_other_seller"] == 1.0  # the seller's street is the footer's


def test_a_sender_line_whose_street_the_footer_prints_with_the_sellers_ids() -> None:
    value, ev = _read(
        [
            (40, 40, "Lumentronic KG", 16),
            (110, 40, "Lumentronic KG · Parkstraße 142 · 50667 Köln", 6),
            (122, 40, "Rechnungsempfänger", 9),
            (134, 40, "Helios Industrietechnik GmbH", 9),
            (146, 40, "Werkstraße 1", 9),
            (158, 40, "30159 Hannover", 9),
            (700, 40, "Lumentronic KG", 8),
            (710, 40, "Parkstraße 142", 8),
            (710, 300, "IBAN: DE36 3704 0044 5051 7978 24", 8),
            (720, 40, "50667 Köln", 8),
            *DETAILS,
        ]
    )
    assert value == "Parkstraße 142, 50667 Köln"
    assert ev["address_seller"] == 1.0 and ev["address_other_seller"] == 0.0
    assert ev["address_buyer"] == 0.0 and ev["address_foreign"] == 0.0


def test_item_codes_read_as_an_address_have_no_address_form() -> None:
    value, ev = _read(
        [
            (40, 40, "Rechnungsnummer: 2024-118", 9),
            (100, 40, "Artikel Bezeichnung Werkzeug GmbH", 9),
            (112, 40, "ELB-E001", 9),
            (112, 120, "Seminar, pro Person", 9),
            (124, 40, "ELB-E002", 9),
            (124, 120, "Lizenz, pro Nutzer", 9),
            (380, 40, "Gesamtbetrag EUR 119,00", 9),
        ]
    )
    assert "ELB-E001" in value
    assert ev["address_form"] == 0.0 and ev["address_foreign"] == 1.0


def test_an_ocr_address_carries_its_own_least_sure_word_not_the_names() -> None:
    _, ev = _read(
        [
            (40, 40, "Nordlicht Druckerei GmbH", 16, 0.96),
            (62, 40, "Hafenstraße 12", 8, 0.95),
            (72, 40, "20457 Hamburg", 8, 0.41),
            (82, 40, "USt-IdNr.: DE136695976", 8, 0.95),
            *DETAILS,
        ],
        Method.OCR,
    )
    assert ev["ocr"] == 1.0
    assert ev["value_confidence"] == 0.41
    assert ev["word_confidence"] > 0.9  # the name's line, as before


def test_the_calibration_never_lets_foreign_or_buyer_evidence_raise_an_address() -> None:
    base = {"address_form": 1.0, "address_seller": 1.0, "bias": 1.0}
    # a sample where foreign-looking and buyer-block addresses happen to be right more often
    samples = [("vendor_address", base, i % 4 != 0) for i in range(40)]
    samples += [("vendor_address", dict(base, address_foreign=1.0), True) for _ in range(20)]
    samples += [("vendor_address", dict(base, address_buyer=1.0), True) for _ in range(20)]
    model = fit_calibration(samples)
    assert model["vendor_address"]["address_foreign"] <= 0.0
    assert model["vendor_address"]["address_buyer"] <= 0.0
    sure = confidence("vendor_address", base, model)
    assert confidence("vendor_address", dict(base, address_buyer=1.0), model) <= sure


def test_an_ocr_address_line_split_where_the_dots_were_read_as_colons() -> None:
    value, ev = _read(
        [
            (40, 40, "Schulz Technikservice GmbH", 16),
            (62, 40, "Gewerbepark 106 : 50667 Köln : Deutschland", 8),
            (72, 40, "UID: DE223095164", 8),
            *DETAILS,
        ],
        Method.OCR,
    )
    assert value == "Gewerbepark 106, 50667 Köln"
    assert ev["address_foreign"] == 0.0
