"""A document type that its amounts' printed sign contradicts: an invoice printing negative
totals, or a credit note named only in passing printing positive ones, carries `sign_conflict`
on its type and its money values, and the calibration weighs it down."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from extractors.confidence import (
    _PRIOR,
    FEATURES,
    confidence,
    fit_calibration,
    load_model,
    read_samples,
)
from extractors.extract import extract_visual_with_evidence
from extractors.fields.doctypes import MENTION_WEIGHT, TITLE_WEIGHT
from extractors.fields.search import Candidate
from extractors.layout.lines import Line
from extractors.page_evidence import add_page_evidence, sign_conflict
from invoices.records import DocumentText, DocumentType, Method, PageText, Word
from invoices.settings import Settings

_LINE = Line(page=1, index=0, text="x", segments=[], bbox=None, method=Method.TEXT_LAYER)


def _picked(kind: DocumentType, weight: float, negative: bool) -> dict[str, Candidate]:
    doc = Candidate("document_type", kind, "", _LINE, None, weight, 1.0)
    total = Candidate("total", Decimal("119.00"), "", _LINE, None, 1.0, 1.0)
    total.extra["printed_negative"] = 1.0 if negative else 0.0
    return {"document_type": doc, "total": total}


@pytest.mark.parametrize(
    ("kind", "weight", "negative", "conflict"),
    [
        (DocumentType.INVOICE, TITLE_WEIGHT, True, True),
        (DocumentType.INVOICE, TITLE_WEIGHT, False, False),
        (DocumentType.CREDIT_NOTE, MENTION_WEIGHT, False, True),  # named in passing, positive
        (DocumentType.CREDIT_NOTE, TITLE_WEIGHT, False, False),  # EN 16931 prints it positive
        (DocumentType.CREDIT_NOTE, MENTION_WEIGHT, True, False),
        (DocumentType.CORRECTION, TITLE_WEIGHT, True, False),  # either sign is a correction's
    ],
)
def test_the_printed_sign_is_checked_against_the_type(
    kind: DocumentType, weight: float, negative: bool, conflict: bool
) -> None:
    picked = _picked(kind, weight, negative)
    assert sign_conflict(picked) is conflict
    add_page_evidence(picked, [_LINE])
    for cand in picked.values():
        assert cand.extra["sign_conflict"] == (1.0 if conflict else 0.0)


def _page(rows: list[tuple[str, str]]) -> DocumentText:
    words, lines = [], []
    for i, (left, right) in enumerate(rows):
        top = 40.0 + 14.0 * i
        for x, cell in ((40.0, left), (420.0, right)):
            for token in cell.split():
                words.append(Word(text=token, bbox=(x, top, x + 6.0 * len(token), top + 10.0)))
                x += 6.0 * len(token) + 4.0
        lines.append(f"{left}   {right}".strip())
    page = PageText(number=1, method=Method.TEXT_LAYER, text="\n".join(lines), words=words,
                    width=595, height=842)  # fmt: skip
    return DocumentText(pages=[page])


def _invoice(sign: str) -> DocumentText:
    return _page(
        [
            ("Muster Elektro GmbH", ""),
            ("INVOICE", ""),
            ("Invoice No.", "RE-2024-0815"),
            ("Invoice date", "11.03.2024"),
            ("Subtotal", f"{sign}100.00"),
            ("VAT 19%", f"{sign}19.00"),
            ("Total", f"{sign}119.00"),
        ]
    )


def test_an_invoice_printing_negative_totals_is_less_sure_of_its_type_and_amounts() -> None:
    settings = Settings()
    sure, sure_evidence = extract_visual_with_evidence(_invoice(""), settings)
    doubtful, evidence = extract_visual_with_evidence(_invoice("-"), settings)
    assert doubtful.total is not None and doubtful.total.value == Decimal("-119.00")
    assert doubtful.document_type is not None
    assert doubtful.document_type.value == DocumentType.INVOICE
    # The cautious prior weighs a conflict down; the stored fit may not (its few conflicting
    # samples were all right, so the bounded weight fits to 0), but never weighs it up.
    prior = {"*": dict(_PRIOR)}
    for name in ("document_type", "subtotal", "tax", "total", "amount_due"):
        assert evidence[name]["sign_conflict"] == 1.0, name
        assert sure_evidence[name]["sign_conflict"] == 0.0, name
        assert confidence(name, evidence[name], prior) < confidence(
            name, dict(evidence[name], sign_conflict=0.0), prior
        ), name
        assert doubtful.field(name).confidence <= sure.field(name).confidence, name  # type: ignore[union-attr]
    assert evidence["invoice_number"].get("sign_conflict", 0.0) == 0.0


def test_a_calibration_fitted_before_the_feature_weighs_it_with_its_prior(tmp_path: Path) -> None:
    fitted = {"document_type": dict(_PRIOR, bias=4.0, sign_conflict=0.0)}
    fitted["document_type"].pop("sign_conflict")
    old = tmp_path / "confidence.json"
    old.write_text(json.dumps({"features": [f for f in FEATURES if f != "sign_conflict"],
                               "weights": fitted}))  # fmt: skip
    model = load_model(str(old))
    assert model["document_type"]["sign_conflict"] == _PRIOR["sign_conflict"] < 0
    evidence = {"label": 0.9, "position": 1.0, "bias": 1.0}
    conflicting = dict(evidence, sign_conflict=1.0)
    assert confidence("document_type", conflicting, model) < confidence(
        "document_type", evidence, model
    )


def test_samples_written_before_the_feature_read_as_no_conflict(tmp_path: Path) -> None:
    store = tmp_path / "samples_x.jsonl"
    store.write_text(json.dumps(["total", {"label": 1.0, "bias": 1.0}, True, "v"]) + "\n")
    ((_, evidence, _, _),) = read_samples(store)
    assert evidence["sign_conflict"] == 0.0


def test_a_conflict_never_raises_a_fitted_confidence() -> None:
    plain = {"label": 1.0, "bias": 1.0, "sign_conflict": 0.0}
    conflict = dict(plain, sign_conflict=1.0)
    # a sample where the conflicting values happened to be right more often than the others
    rows = [("total", conflict, True)] * 40 + [("total", plain, ok) for ok in [True, False] * 30]
    model = fit_calibration(rows)
    assert model["total"]["sign_conflict"] <= 0.0
