"""The title's document type and the whole text's disagree: the type is in doubt, never
auto-accepted, and the document goes to a clerk before it is booked."""

from __future__ import annotations

from decimal import Decimal

from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
from classifiers.cascade import Cascade
from classifiers.doctype import reconcile_document_type
from classifiers.records import DocumentTypeResult
from flows.process import RunContext, Stages, _match_and_classify
from invoices.records import (
    DocumentType,
    FieldValue,
    Invoice,
    Method,
    Provenance,
    ReasonCode,
)
from invoices.settings import Settings
from matchers.embeddings import HashingEmbedder

TITLE = Provenance(method=Method.TEXT_LAYER, extractor="extractors.fields.doctypes", raw="")
XML = Provenance(method=Method.EINVOICE_XML, extractor="extractors.text.einvoice", raw="")


def _typed(value: DocumentType, confidence: float, prov: Provenance = TITLE) -> FieldValue:
    return FieldValue(value=value, confidence=confidence, provenance=prov)


def test_agreeing_readers_keep_the_extractions_value() -> None:
    extracted = _typed(DocumentType.INVOICE, 0.999)
    classified = DocumentTypeResult(value=DocumentType.INVOICE, confidence=0.8)
    assert reconcile_document_type(extracted, classified) == (extracted, False)


def test_disagreement_records_the_classifiers_type_below_any_threshold() -> None:
    extracted = _typed(DocumentType.INVOICE, 0.9977)
    classified = DocumentTypeResult(
        value=DocumentType.STATEMENT, confidence=0.5002, evidence="invoice=5.0, statement=6.0"
    )
    recorded, disputed = reconcile_document_type(extracted, classified)
    assert disputed and recorded is not None
    assert recorded.value == DocumentType.STATEMENT
    # no more sure than the doubt the title's reading left
    assert recorded.confidence == 0.0023
    assert recorded.confidence < Settings().auto_accept_thresholds["document_type"]
    assert "title read as invoice" in (recorded.provenance.raw or "")


def test_an_einvoice_type_code_is_not_second_guessed() -> None:
    extracted = _typed(DocumentType.CREDIT_NOTE, 0.99, XML)
    classified = DocumentTypeResult(value=DocumentType.INVOICE, confidence=0.9)
    assert reconcile_document_type(extracted, classified) == (extracted, False)


def _cascade() -> Cascade:
    return Cascade(
        history=None, embedder=HashingEmbedder(), llm=None, rules=parse_rules(DEFAULT_APPROVAL_RULES)
    )


def test_a_credit_note_whose_title_read_invoice_goes_to_a_clerk() -> None:
    """The title was read 'Invoice' (a scan lost 'Credit note' before it), the text says
    credit note twice and the total is negative: not booked as a bill on its own."""
    invoice = Invoice(
        document_type=_typed(DocumentType.INVOICE, 0.9),
        total=FieldValue(value=Decimal("-119.00"), confidence=0.99, provenance=TITLE),
    )
    text = "Acme GmbH\nCredit note\nCredit note no. 77 for invoice 12\nTotal -119.00"
    ctx = RunContext(settings=Settings(), cascade=_cascade())
    recorded, _, classification = _match_and_classify(invoice, text, ctx, Stages())
    assert classification is not None
    assert ReasonCode.DOCUMENT_TYPE_UNCERTAIN in classification.reasons
    assert recorded.document_type is not None
    assert recorded.document_type.value == DocumentType.CREDIT_NOTE
    assert recorded.document_type.confidence <= 0.1


def test_agreeing_readers_add_no_reason() -> None:
    invoice = Invoice(document_type=_typed(DocumentType.INVOICE, 0.999))
    text = "Acme GmbH\nInvoice\nInvoice no. 12\nTotal 119.00"
    ctx = RunContext(settings=Settings(), cascade=_cascade())
    recorded, _, classification = _match_and_classify(invoice, text, ctx, Stages())
    assert classification is not None
    assert ReasonCode.DOCUMENT_TYPE_UNCERTAIN not in classification.reasons
    assert recorded.document_type == invoice.document_type
