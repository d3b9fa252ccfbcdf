"""Header labels in other wordings and places than the common ones: captions under their
values, hyphenated and letter-spaced labels, the buyer's reference as the order number,
payable totals, due-date phrases and the day/month order a page proves."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from extractors.extract import extract_invoice
from extractors.fields.labels import COMPILED
from extractors.parsing.dates import proven_order
from invoices.records import DocumentText, Invoice, Method, PageText, Word
from invoices.settings import Settings

# (x, top, text, font size): each word 0.6 x size wide per character, a space of 0.3 x size
Cell = tuple[float, float, str, float]


def _page(cells: list[Cell]) -> DocumentText:
    words = []
    for x, top, text, size in cells:
        for token in text.split():
            width = 0.6 * size * len(token)
            words.append(Word(text=token, bbox=(x, top, x + width, top + size)))
            x += width + 0.3 * size
    lines = sorted({top for _, top, _, _ in cells})
    text = "\n".join(
        "   ".join(t for _, top, t, _ in sorted(cells) if top == line) for line in lines
    )
    page = PageText(
        number=1, method=Method.TEXT_LAYER, text=text, words=words, width=595, height=842
    )
    return DocumentText(pages=[page])


def _rows(rows: list[list[tuple[float, str]]]) -> DocumentText:
    """Rows 14 pt apart of (x, text) cells in 10 pt print."""
    return _page([(x, 40.0 + 14 * i, text, 10.0) for i, row in enumerate(rows) for x, text in row])


def _read(doc: DocumentText) -> Invoice:
    return extract_invoice(doc, Settings())


def _value(invoice: Invoice, name: str) -> object:
    field = getattr(invoice, name)
    return None if field is None else field.value


HEAD = [(40, 40, "Werner & Roth KG", 12.0), (40, 60, "Lindenallee 104, 5020 Salzburg", 9.0)]
TOTALS = [
    (40, 300, "Pos Beschreibung Menge Preis Betrag", 9.0),
    (40, 314, "1 Stretchfolie 13 19,72 256,36", 9.0),
    (300, 340, "Nettobetrag 256,36", 9.0),
    (300, 354, "USt. 20 % 51,27", 9.0),
    (300, 368, "Gesamtbetrag 307,63", 9.0),
]


def test_captions_under_a_row_of_values() -> None:
    """A grid of values with their labels in small print under them."""
    values, captions = 200.0, 212.0
    cells: list[Cell] = [
        (54, values, "R0079323", 9.0),
        (136, values, "01.01.2025", 9.0),
        (218, values, "31.01.2025", 9.0),
        (300, values, "4510100001", 9.0),
        (54, captions, "Beleg-Nr.", 7.0),
        (136, captions, "Ausgestellt am", 7.0),
        (218, captions, "Spätestens zahlbar am", 7.0),
        (300, captions, "Ihre Bestellung", 7.0),
    ]
    invoice = _read(_page(HEAD + cells + TOTALS))
    assert _value(invoice, "invoice_number") == "R0079323"
    assert _value(invoice, "invoice_date") == date(2025, 1, 1)
    assert _value(invoice, "due_date") == date(2025, 1, 31)
    assert _value(invoice, "po_number") == "4510100001"


def test_captions_stacked_in_a_column() -> None:
    """Right-aligned values each with its caption under it: the caption belongs to the value
    just over it, not to the next value under it."""
    stack = [
        ("RE-2025-66967", "Bill number"),
        ("01/09/2025", "Issued on"),
        ("02/23/2025", "Pay before"),
        ("PO-7781", "Your reference"),
    ]
    cells: list[Cell] = []
    for i, (value, caption) in enumerate(stack):
        top = 120.0 + 23 * i
        cells.append((545 - 0.6 * 9 * len(value), top, value, 9.0))
        cells.append((545 - 0.6 * 7 * len(caption) - 2, top + 11.5, caption, 7.0))
    cells.append((40, 121, "Helios Industrial Inc.", 9.0))
    invoice = _read(_page(HEAD + cells))
    assert _value(invoice, "invoice_number") == "RE-2025-66967"
    assert _value(invoice, "invoice_date") == date(2025, 1, 9)
    assert _value(invoice, "due_date") == date(2025, 2, 23)
    assert _value(invoice, "po_number") == "PO-7781"


def test_a_label_over_its_value_is_still_read_below() -> None:
    """Labels in small print over their values (no captions): nearer to what is under them."""
    cells: list[Cell] = [
        (54, 200, "Invoice No.", 7.0),
        (154, 200, "Date", 7.0),
        (54, 209, "A-1001", 9.0),
        (154, 209, "12.03.2024", 9.0),
        (54, 240, "Delivery note 4711", 9.0),
    ]
    invoice = _read(_page(HEAD + cells))
    assert _value(invoice, "invoice_number") == "A-1001"
    assert _value(invoice, "invoice_date") == date(2024, 3, 12)


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Invoice-No.", "2025-0042"),
        ("Rechnungs-Nr.", "RE-2025-17"),
        ("Rg.-Nr.", "88123"),
        ("Gutschrift Nr.", "123"),
        ("Credit-No.", "CN-2025-004"),
        ("Réf. facture", "F2025-118"),
        ("N° pièce", "556677"),
    ],
)
def test_invoice_number_label_variants(label: str, value: str) -> None:
    invoice = _read(_rows([[(40, "ACME Ltd")], [(300, label), (420, value)]]))
    assert _value(invoice, "invoice_number") == value


@pytest.mark.parametrize(
    ("title", "number"),
    [("Credit note", "12345"), ("Gutschrift", "GS-2025-0831"), ("Avoir", "AV-881")],
)
def test_a_credit_note_title_followed_by_its_number(title: str, number: str) -> None:
    invoice = _read(_rows([[(40, "ACME Ltd")], [(300, f"{title} {number}")]]))
    assert _value(invoice, "invoice_number") == number


@pytest.mark.parametrize("spaced", ["I n v o i c e  N o", "R e c h n u n g s n u m m e r"])
def test_letter_spaced_labels(spaced: str) -> None:
    with_boxes = _rows([[(40, "ACME Ltd")], [(250, spaced), (450, "INV-2211")]])
    text_only = DocumentText(
        pages=[
            PageText(
                number=1,
                method=Method.TEXT_LAYER,
                text=f"ACME Ltd\n{spaced} :  INV-2211\nTotal   12.00\n",
            )
        ]
    )
    assert _value(_read(with_boxes), "invoice_number") == "INV-2211"
    assert _value(_read(text_only), "invoice_number") == "INV-2211"


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("PO", "PO4711"),
        ("PO:", "PO-4711"),
        ("Order number:", "PO4711"),
        ("Your reference:", "4500123456"),
        ("Ihr Zeichen:", "4500123456"),
        ("Votre référence :", "CDE-2025-118"),
    ],
)
def test_order_number_labels(label: str, value: str) -> None:
    invoice = _read(_rows([[(40, "ACME Ltd")], [(300, label), (420, value)]]))
    assert _value(invoice, "po_number") == value


def test_an_order_named_in_one_item_line_is_not_the_documents() -> None:
    rows = [
        [(40, "ACME Ltd")],
        [(300, "Invoice No."), (420, "A-1001")],
        [(40, "Pos"), (80, "Description"), (260, "Qty"), (330, "Price"), (450, "Amount")],
        [(40, "1"), (80, "Cable NYM"), (260, "10"), (330, "12.50"), (450, "125.00")],
        [(40, "2"), (80, "Socket, PO 4500099887"), (260, "4"), (330, "3.75"), (450, "15.00")],
        [(40, "Total"), (450, "140.00")],
    ]
    assert _value(_read(_rows(rows)), "po_number") is None


@pytest.mark.parametrize(
    ("label", "field"),
    [
        ("Amount payable", "total"),
        ("Total payable", "total"),
        ("Gross amount", "total"),
        ("Invoice amount", "total"),
        ("Rechnungsendbetrag", "total"),
        ("Total à payer", "total"),
        ("Balance due", "amount_due"),
        ("Zahlbetrag", "amount_due"),
        ("Montant à payer", "amount_due"),
        ("Net à payer", "total"),
        ("Please pay", "amount_due"),
    ],
)
def test_payable_total_labels(label: str, field: str) -> None:
    rows = [
        [(40, "ACME Ltd")],
        [(40, "Subtotal"), (400, "100.00")],
        [(40, "VAT 20%"), (400, "20.00")],
        [(40, label), (400, "120.00")],
    ]
    assert _value(_read(_rows(rows)), field) == Decimal("120.00")


def test_an_english_net_total_is_no_payable_total() -> None:
    """A "net total" with the tax under it is the amount before tax, even where no known
    total label follows."""
    rows = [
        [(40, "ACME Ltd")],
        [(40, "Net total"), (400, "100.00")],
        [(40, "VAT 20%"), (400, "20.00")],
        [(40, "Due"), (400, "120.00")],
    ]
    invoice = _read(_rows(rows))
    assert _value(invoice, "total") != Decimal("100.00")
    assert _value(invoice, "subtotal") == Decimal("100.00")


@pytest.mark.parametrize(
    "label",
    ["Remit until", "Payable by", "Pay before", "Zahlbar bis", "Spätestens zahlbar am",
     "À régler avant le", "Règlement avant le", "Zahlungsfrist"],
)  # fmt: skip
def test_due_date_phrases(label: str) -> None:
    rows = [
        [(40, "ACME Ltd")],
        [(300, "Invoice date:"), (420, "01.02.2025")],
        [(300, label), (420, "03.03.2025")],
    ]
    assert _value(_read(_rows(rows)), "due_date") == date(2025, 3, 3)


@pytest.mark.parametrize(
    "line",
    ["Delivery date: 28.01.2025", "Date of delivery: 28.01.2025", "Version 3 vom 28.01.2025"],
)
def test_the_issue_date_is_not_another_events(line: str) -> None:
    rows = [[(40, "ACME Ltd")], [(300, line)], [(300, "Date:"), (420, "01.02.2025")]]
    assert _value(_read(_rows(rows)), "invoice_date") == date(2025, 2, 1)


def test_a_month_first_date_on_the_page_settles_the_others() -> None:
    rows = [
        [(40, "Lineapro Cleaning Ltd, 12 High Street, Leeds, United Kingdom")],
        [(300, "Invoice date:"), (420, "01/09/2025")],
        [(300, "Due date:"), (420, "02/23/2025")],
    ]
    invoice = _read(_rows(rows))
    assert _value(invoice, "invoice_date") == date(2025, 1, 9)
    assert _value(invoice, "due_date") == date(2025, 2, 23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("01/09/2025 and 02/23/2025", False),
        ("01/09/2025 and 23/02/2025", True),
        ("01/09/2025", None),
        ("13/01/2025 and 01/13/2025", None),
        ("13.01.2025 and 01/09/2025", None),
    ],
)
def test_proven_order(text: str, expected: bool | None) -> None:
    assert proven_order(text) is expected


def test_fallig_in_running_text_is_no_label() -> None:
    hits = [m for p, _ in COMPILED["due_date"] for m in p.finditer("Fälligkeit der Rechnung")]
    assert hits == []
