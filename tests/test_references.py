"""Order-like numbers collected anywhere on a page (for matching a PO whose label was lost)."""

from __future__ import annotations

from extractors.fields.references import document_references
from extractors.layout.lines import Line
from invoices.records import Method


def _line(index: int, text: str) -> Line:
    return Line(page=1, index=index, text=text, segments=[], bbox=None, method=Method.OCR)


def test_references_collect_numbers_and_rejoin_split_ones() -> None:
    lines = [
        _line(0, "Bestel1nr 4500 100001   Datum 04.01.2025"),
        _line(1, "Ref: PO-US-2024- 0008771708, Kunde K-10452, Bon PO-BE - 2025-00090"),
        _line(2, "Summe 1.175,72 EUR   Seite 1 von 2"),
    ]
    refs = document_references(lines)
    assert "4500100001" in refs  # split by the OCR, joined again
    assert "PO-US-20240008771708" in refs  # the same number once separators are dropped
    assert "K-10452" in refs
    assert "PO-BE2025-00090" in refs  # a split-off prefix without digits
    assert "04.01.2025" in refs  # dates pass too: matching compares with real PO numbers
    assert "Seite" not in refs and "von" not in refs
    assert len(refs) == len(set(refs))
