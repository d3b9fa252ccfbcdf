"""Golden tests: each sample PDF in tests/fields_golden beside the JSON it must extract to.

Set INVOICES_REGENERATE_GOLDEN=1 to rewrite the expected files after an intended change (and
review the diff); CI asserts the switch is off, so a run there can only compare.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from extractors.extract import extract_invoice
from extractors.text.intake import describe
from extractors.text.read import read_document
from invoices.records import HEADER_FIELDS, Invoice
from invoices.settings import Settings

GOLDEN = Path(__file__).parent / "fields_golden"
REGENERATE = os.environ.get("INVOICES_REGENERATE_GOLDEN") == "1"
CASES = sorted(GOLDEN.glob("*.pdf"))


def _plain(invoice: Invoice) -> dict[str, Any]:
    fields = {name: invoice.value(name) for name in HEADER_FIELDS if invoice.field(name)}
    lines = [
        {
            key: getattr(item, key).value if getattr(item, key) is not None else None
            for key in ("description", "quantity", "unit_price", "line_total")
        }
        for item in invoice.lines
    ]
    taxes = [t.model_dump() for t in invoice.tax_lines]
    return json.loads(
        json.dumps({"fields": fields, "lines": lines, "tax_lines": taxes}, default=str)
    )


@pytest.mark.parametrize("pdf", CASES, ids=[c.stem for c in CASES])
def test_golden(pdf: Path) -> None:
    settings = Settings()
    text = read_document(describe(pdf, settings), settings)
    got = _plain(extract_invoice(text, settings, use_einvoice=False))
    expected_file = pdf.with_suffix(".json")
    if REGENERATE:
        expected_file.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n")
    assert got == json.loads(expected_file.read_text())


def test_regenerate_switch_is_off_in_ci() -> None:
    if os.environ.get("CI"):
        assert not REGENERATE, "INVOICES_REGENERATE_GOLDEN must not be set in CI"


def test_there_are_golden_cases() -> None:
    assert len(CASES) >= 2 and all(c.with_suffix(".json").exists() for c in CASES)
