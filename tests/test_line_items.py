"""Line items on layouts a vendor never seen may print: names under their numbers, the totals
block and charges after the items, prices quoted in a wrapped description, and a confidence
from the evidence each line has."""

from __future__ import annotations

from decimal import Decimal

from extractors.extract import extract_invoice
from extractors.lines.two_row import RowKind, item_groups, names_below
from invoices.records import DocumentText, LineItem
from invoices.settings import Settings
from tests.test_fields_extract import _page

HEADER = [(40, "Pos"), (80, "Bezeichnung"), (260, "Menge"), (330, "Einzelpreis"), (450, "Betrag")]


def _lines(rows: list[list[tuple[float, str]]]) -> list[LineItem]:
    return extract_invoice(DocumentText(pages=[_page(1, rows)]), Settings()).lines


def _items(rows: list[list[tuple[float, str]]]) -> list[tuple]:
    return [
        (
            i.description.value if i.description else None,
            i.quantity.value if i.quantity else None,
            i.unit_price.value if i.unit_price else None,
            i.line_total.value if i.line_total else None,
        )
        for i in _lines(rows)
    ]


def test_names_printed_under_the_numbers_belong_to_the_row_above() -> None:
    rows = [
        HEADER,
        [(40, "1"), (80, "KAB-1002"), (260, "2"), (330, "12,50"), (450, "25,00")],
        [(80, "Kabelbinder schwarz, 100 Stück")],
        [(40, "2"), (80, "SCH-0040"), (260, "6 Pack"), (330, "8,00"), (450, "48,00")],
        [(80, "Schrauben M4 verzinkt")],
        [(80, "(Lieferschein 4711)")],
        [(40, "3"), (80, "DUE-7"), (260, "1"), (330, "3,10"), (450, "3,10")],
        [(80, "Dübel 6 mm")],
        [(40, "Summe netto"), (450, "76,10")],
    ]
    assert _items(rows) == [
        ("Kabelbinder schwarz, 100 Stück", Decimal(2), Decimal("12.50"), Decimal("25.00")),
        (
            "Schrauben M4 verzinkt (Lieferschein 4711)",
            Decimal(6),
            Decimal("8.00"),
            Decimal("48.00"),
        ),
        ("Dübel 6 mm", Decimal(1), Decimal("3.10"), Decimal("3.10")),
    ]
    assert [i.sku.value for i in _lines(rows) if i.sku] == ["KAB-1002", "SCH-0040", "DUE-7"]


def test_the_period_of_a_two_row_layout() -> None:
    n, t, f, x = RowKind.NUMBERS, RowKind.TEXT, RowKind.FULL, RowKind.NOISE
    assert names_below([x, n, t, n, t, t, n, t])
    assert not names_below([t, n, t, n])  # names above their numbers
    assert not names_below([f, t, f, f])  # one row an item, a wrapped name
    assert not names_below([n, f, f, f, t])
    groups = item_groups("ABCDEFGH", [n, t, n, t, t, n, t, t])
    # the last item takes no more rows than the longest name above it: a note stays out
    assert groups == [("A", ["B"]), ("C", ["D", "E"]), ("F", ["G", "H"])]
    assert item_groups("ABCDE", [n, t, n, t, t]) == [("A", ["B"]), ("C", ["D"])]


def test_the_totals_block_after_the_items_is_no_item() -> None:
    rows = [
        [(40, "Description"), (260, "Qty"), (330, "Unit price"), (450, "Amount")],
        [(40, "Consulting services"), (260, "4"), (330, "25.00"), (450, "100.00")],
        [(40, "Grand total net"), (450, "100.00")],
        [(40, "19% on 100.00"), (450, "19.00")],
        [(40, "Invoice total"), (450, "119.00")],
    ]
    assert _items(rows) == [
        ("Consulting services", Decimal(4), Decimal("25.00"), Decimal("100.00"))
    ]


def test_a_tax_breakdown_under_the_items_ends_the_table() -> None:
    rows = [
        HEADER,
        [(40, "1"), (80, "Grafikdesign"), (260, "7"), (330, "68,58"), (450, "480,06")],
        [(40, "USt.-Satz"), (160, "Netto"), (300, "USt."), (450, "Brutto")],
        [(40, "8,1 %"), (160, "480,06"), (300, "38,88"), (450, "518,94")],
        [(40, "Zu zahlen"), (420, "CHF 518,94")],
    ]
    assert _items(rows) == [("Grafikdesign", Decimal(7), Decimal("68.58"), Decimal("480.06"))]


def test_allowance_and_charge_rows_are_no_items() -> None:
    rows = [
        [(40, "Désignation"), (260, "Qté"), (330, "Prix unitaire"), (450, "Montant")],
        [(40, "Cartouches d'encre noire"), (260, "3"), (330, "20,00"), (450, "60,00")],
        [(40, "Remise 5 %"), (450, "-3,00")],
        [(40, "Frais de port"), (260, "1"), (330, "9,90"), (450, "9,90")],
        [(40, "Versandkosten"), (450, "4,90")],
        [(40, "Freight"), (450, "12.00")],
        [(40, "Total HT"), (450, "66,90")],
    ]
    assert _items(rows) == [
        ("Cartouches d'encre noire", Decimal(3), Decimal("20.00"), Decimal("60.00"))
    ]


def test_a_price_quoted_in_a_wrapped_description_is_no_item() -> None:
    rows = [
        HEADER,
        [(40, "1"), (80, "Wasserfilter Typ A"), (260, "2"), (330, "12,50"), (450, "25,00")],
        [(80, "Ersatzkartusche je 4,90 enthalten")],
        [(40, "2"), (80, "Montage"), (260, "1"), (330, "55,00"), (450, "55,00")],
        [(40, "Summe"), (450, "80,00")],
    ]
    assert _items(rows) == [
        (
            "Wasserfilter Typ A Ersatzkartusche je 4,90 enthalten",
            Decimal(2),
            Decimal("12.50"),
            Decimal("25.00"),
        ),
        ("Montage", Decimal(1), Decimal("55.00"), Decimal("55.00")),
    ]


def _totals(net: str, tax: str, gross: str) -> list[list[tuple[float, str]]]:
    return [
        [(40, "Nettobetrag"), (450, net)],
        [(40, f"USt. 19 % auf {net}"), (450, tax)],
        [(40, "Bruttosumme"), (450, gross)],
    ]


def test_a_line_confirmed_by_its_row_and_the_subtotal_is_the_surest() -> None:
    items = [
        [(40, "1"), (80, "Kabel NYM 3x1,5"), (260, "10"), (330, "12,50"), (450, "125,00")],
        [(40, "2"), (80, "Steckdose weiß"), (450, "15,00")],
    ]
    closing = _lines([HEADER, *items, *_totals("140,00", "26,60", "166,60")])
    open_ = _lines([HEADER, *items, *_totals("150,00", "28,50", "178,50")])
    conf = [[i.line_total.confidence for i in lines if i.line_total] for lines in (closing, open_)]
    # row arithmetic and the sum to the subtotal > either alone > neither
    assert conf[0][0] > conf[1][0] > conf[1][1]
    assert conf[0][0] > conf[0][1] > conf[1][1]
    assert all(i.quantity.confidence == i.line_total.confidence for i in closing if i.quantity)


def test_a_header_on_two_rows_over_items_on_two_rows() -> None:
    rows = [
        [(40, "Pos"), (80, "Artikel"), (260, "Menge"), (330, "Preis"), (450, "Betrag")],
        [(80, "Bezeichnung")],
        [(40, "1"), (80, "KAB-1002"), (260, "2"), (330, "12,50"), (450, "25,00")],
        [(80, "Kabelbinder schwarz")],
        [(40, "2"), (80, "DUE-7"), (260, "1"), (330, "3,10"), (450, "3,10")],
        [(80, "Dübel 6 mm")],
        [(40, "Summe netto"), (450, "28,10")],
    ]
    assert [(d, t) for d, _, _, t in _items(rows)] == [
        ("Kabelbinder schwarz", Decimal("25.00")),
        ("Dübel 6 mm", Decimal("3.10")),
    ]
