"""The nightly applies the promoted confidence recalibration to every header value, and an
audit sample turns a straight-through document into an AUDIT_SAMPLE exception."""

from __future__ import annotations

import pytest

from extractors.recalibration import apply
from flows.process import RunContext, fingerprint, process_document
from invoices.records import ReasonCode
from invoices.settings import load_settings
from synthetic import generate_corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def documents(tmp_path_factory):
    out = tmp_path_factory.mktemp("one")
    generate_corpus(out, invoices=4, seed=3, workers=1, scanned_share=0.0, image_share=0.0,
                    anomaly_rates={})  # fmt: skip
    return [fingerprint(p, load_settings())[0] for p in sorted((out / "docs").glob("*.pdf"))]


def test_the_promoted_recalibration_moves_the_confidence(documents):
    settings, document = load_settings(), documents[0]
    plain = process_document(document, RunContext(settings=settings)).invoice
    model = {"total": (0.5, -1.0)}
    moved = process_document(document, RunContext(settings=settings, recalibration=model)).invoice
    assert plain is not None and moved is not None and plain.total is not None
    assert moved.total.value == plain.total.value
    expected = round(apply(model, "total", plain.total.confidence), 4)
    assert moved.total.confidence == pytest.approx(expected, abs=2e-4)
    assert moved.total.confidence < plain.total.confidence
    assert moved.invoice_number == plain.invoice_number  # fields without a mapping stay


def test_an_audit_sample_is_routed_when_the_share_asks_for_it(documents):
    off = [process_document(d, RunContext(settings=load_settings())) for d in documents]
    straight = [d for d, r in zip(documents, off, strict=True) if not r.reasons]
    assert straight and len(straight) < len(documents)  # seed 3: some of each
    sampled = RunContext(settings=load_settings(audit_sample_share=1.0))
    for document, result in zip(documents, off, strict=True):
        on = process_document(document, sampled)
        # only straight-through documents are sampled; the others keep their reasons
        assert on.reasons == (result.reasons or [ReasonCode.AUDIT_SAMPLE])
