"""Evidence the confidence model weighs: the value's own OCR word confidence, and arithmetic
that closes around a money value (item lines, subtotal, tax, total, amount due)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from extractors.confidence import (
    confidence,
    features,
    fit_calibration,
    read_samples,
    with_interactions,
)
from extractors.extract import closes_around
from extractors.fields.search import Candidate
from extractors.layout.lines import Line
from invoices.records import FieldValue, LineItem, Method, Provenance, Word


def _total_line(method: Method, amount_confidence: float) -> tuple[Line, Word]:
    words = [
        Word(text="Gesamtbetrag", bbox=(40.0, 700.0, 110.0, 710.0), confidence=0.96),
        Word(text="inkl.", bbox=(114.0, 700.0, 140.0, 710.0), confidence=0.95),
        Word(text="MwSt.", bbox=(144.0, 700.0, 175.0, 710.0), confidence=0.95),
        Word(text="1.190,00", bbox=(480.0, 700.0, 530.0, 710.0), confidence=amount_confidence),
        Word(text="EUR", bbox=(534.0, 700.0, 555.0, 710.0), confidence=0.97),
    ]
    mean = sum(w.confidence for w in words) / len(words)
    line = Line(page=1, index=30, text=" ".join(w.text for w in words), segments=[],
                bbox=(40.0, 700.0, 555.0, 710.0), method=method, confidence=mean,
                page_height=842.0, page_width=595.0, words=words)  # fmt: skip
    return line, words[3]


def _total(method: Method, amount_confidence: float) -> Candidate:
    line, amount = _total_line(method, amount_confidence)
    return Candidate("total", 1190, amount.text, line, amount.bbox, 1.0, 1.0)


def test_a_doubtful_amount_in_a_sure_line_carries_its_own_doubt() -> None:
    doubtful = features(_total(Method.OCR, 0.41))
    assert doubtful["value_confidence"] == 0.41
    assert doubtful["word_confidence"] > 0.8  # the line's mean hides the doubtful digits
    assert features(_total(Method.OCR, 0.93))["value_confidence"] == 0.93


def test_a_text_layer_value_is_read_as_printed() -> None:
    assert features(_total(Method.TEXT_LAYER, 0.41))["value_confidence"] == 1.0


def test_a_value_without_a_box_takes_its_lines_confidence() -> None:
    cand = _total(Method.OCR, 0.41)
    cand.bbox = None
    assert features(cand)["value_confidence"] == cand.line.confidence


def test_samples_written_before_the_value_confidence_take_the_lines(tmp_path: Path) -> None:
    old = {"label": 1.0, "ocr": 1.0, "word_confidence": 0.83, "bias": 1.0}
    new = dict(old, value_confidence=0.4)
    store = tmp_path / "samples_x.jsonl"
    store.write_text(json.dumps(["total", old, True, "v"]) + "\n"
                     + json.dumps(["total", new, False, "v"]) + "\n")  # fmt: skip
    (first, second) = read_samples(store)
    assert first[1]["value_confidence"] == 0.83
    assert second[1]["value_confidence"] == 0.4


def _money(name: str, value: str, **extra: float) -> Candidate:
    line, _ = _total_line(Method.OCR, 0.9)
    return Candidate(name, Decimal(value), value, line, None, 1.0, 1.0, dict(extra))


def _items(*amounts: str) -> list[LineItem]:
    return [
        LineItem(line_total=FieldValue[Decimal](value=Decimal(a), confidence=0.9,
                                                provenance=Provenance(method=Method.OCR)))
        for a in amounts
    ]  # fmt: skip


def test_items_adding_up_to_the_subtotal_close_the_subtotal_tax_and_total() -> None:
    picked = {
        "subtotal": _money("subtotal", "1000.00", arithmetic=1.0),
        "tax": _money("tax", "190.00", arithmetic=1.0),
        "total": _money("total", "1190.00", arithmetic=1.0),
        "amount_due": _money("amount_due", "1190.00"),
    }
    closes_around(picked, _items("400.00", "600.00"), Decimal("0.02"))
    assert [features(picked[n])["line_sum"] for n in ("subtotal", "tax", "total")] == [1.0] * 3
    assert features(picked["amount_due"])["arithmetic"] == 1.0


def test_items_that_do_not_add_up_or_a_total_that_does_not_close_prove_nothing() -> None:
    picked = {
        "subtotal": _money("subtotal", "1000.00"),
        "tax": _money("tax", "190.00"),
        "total": _money("total", "1180.00"),
        "amount_due": _money("amount_due", "1180.00"),
    }
    closes_around(picked, _items("400.00", "600.00"), Decimal("0.02"))
    assert features(picked["subtotal"])["line_sum"] == 1.0
    assert features(picked["total"])["line_sum"] == 0.0  # subtotal + tax is not this total
    assert features(picked["amount_due"])["arithmetic"] == 0.0
    other = {"subtotal": _money("subtotal", "1000.00"), "total": _money("total", "1190.00")}
    closes_around(other, _items("400.00", "500.00"), Decimal("0.02"))
    assert features(other["subtotal"])["line_sum"] == 0.0


def test_items_adding_up_to_the_total_of_an_untaxed_document_close_it() -> None:
    picked = {"total": _money("total", "250.00")}
    closes_around(picked, _items("100.00", "150.00"), Decimal("0.02"))
    assert features(picked["total"])["line_sum"] == 1.0


def test_arithmetic_and_checksums_weigh_as_proof_of_the_reading_on_scans_only() -> None:
    scanned = with_interactions({"ocr": 1.0, "arithmetic": 1.0, "checksum": 0.0})
    printed = with_interactions({"ocr": 0.0, "arithmetic": 1.0, "checksum": 1.0})
    assert (scanned["ocr_arithmetic"], scanned["ocr_checksum"]) == (1.0, 0.0)
    assert (printed["ocr_arithmetic"], printed["ocr_checksum"]) == (0.0, 0.0)
    model = {"*": {"ocr_arithmetic": 2.0, "bias": 0.0}}
    assert confidence("total", {"ocr": 1.0, "arithmetic": 1.0}, model) > 0.88
    assert confidence("total", {"ocr": 0.0, "arithmetic": 1.0}, model) == 0.5


def test_a_fitted_model_learns_that_arithmetic_proves_a_scanned_amount() -> None:
    rows = [("total", {"ocr": 1.0, "arithmetic": 1.0, "bias": 1.0}, True)] * 40
    broken = {"ocr": 1.0, "arithmetic": 0.0, "bias": 1.0}
    rows += [("total", broken, ok) for ok in [True, False] * 20]
    rows += [("total", {"ocr": 0.0, "arithmetic": a, "bias": 1.0}, True) for a in [0.0, 1.0] * 20]
    rows += [("total", {"ocr": 0.0, "arithmetic": 1.0, "bias": 1.0}, False)] * 2
    model = fit_calibration(rows)
    assert model["total"]["ocr_arithmetic"] > 0.0
