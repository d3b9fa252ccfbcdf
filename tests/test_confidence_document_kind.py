"""The kind of document as confidence evidence: a till receipt's scan is weighed apart from an
invoice's, so that receipts' OCR errors do not lower every scanned invoice's confidence."""

from __future__ import annotations

from extractors.confidence import confidence, features, fit_calibration
from extractors.fields.search import Candidate
from extractors.layout.lines import Line
from extractors.page_evidence import add_page_evidence, receipt_evidence
from invoices.records import Method


def _lines(*texts: str) -> list[Line]:
    return [
        Line(page=1, index=i, text=t, segments=[], bbox=None, method=Method.OCR)
        for i, t in enumerate(texts)
    ]


RECEIPT = _lines("KEDAI MAKAN SDN BHD", "TOTAL 12.35", "CASH 20.00", "CHANGE 7.65")
INVOICE = _lines("Lieferant GmbH", "Rechnung Nr. 4711", "Gesamtbetrag 1.190,00 EUR")


def test_a_document_that_records_a_payment_at_the_till_reads_as_a_receipt() -> None:
    assert receipt_evidence(RECEIPT) == 1.0
    assert receipt_evidence(INVOICE) == 0.0
    # one till word alone is a mention ("cash discount"), not yet a receipt
    assert receipt_evidence(_lines("Rechnung", "2% cash discount within 10 days")) == 0.5


def test_every_picked_value_carries_the_kind_of_its_document() -> None:
    line = RECEIPT[1]
    picked = {"total": Candidate("total", 12.35, "12.35", line, None, 1.0, 1.0)}
    add_page_evidence(picked, RECEIPT)
    assert features(picked["total"])["receipt"] == 1.0


def _samples() -> list[tuple[str, dict[str, float], bool]]:
    """Scanned receipts often wrong, scanned invoices and printed values right."""
    receipt = {"ocr": 1.0, "receipt": 1.0, "bias": 1.0}
    invoice = {"ocr": 1.0, "receipt": 0.0, "bias": 1.0}
    printed = {"ocr": 0.0, "receipt": 0.0, "bias": 1.0}
    rows = [("total", receipt, ok) for ok in [True, True, False] * 30]
    rows += [("total", invoice, True)] * 60 + [("total", invoice, False)]
    rows += [("total", printed, True)] * 90 + [("total", printed, False)]
    return rows


def test_receipts_scans_do_not_set_the_weight_of_an_invoices_scan() -> None:
    model = fit_calibration(_samples())
    invoice_scan = confidence("total", {"ocr": 1.0, "receipt": 0.0, "bias": 1.0}, model)
    receipt_scan = confidence("total", {"ocr": 1.0, "receipt": 1.0, "bias": 1.0}, model)
    assert model["total"]["ocr_receipt"] < 0.0
    assert invoice_scan > 0.95  # right 60 times in 61, as the samples say
    assert receipt_scan < 0.8


def test_being_a_receipt_never_raises_a_values_confidence() -> None:
    flipped = [(f, ev, not ok if ev.get("receipt") else ok) for f, ev, ok in _samples()]
    model = fit_calibration(flipped)
    assert model["total"]["receipt"] <= 0.0
    assert model["total"]["ocr_receipt"] <= 0.0
