"""One document through every stage, with a boundary around each stage.

A document error (bad file) or an unexpected bug inside a stage becomes a recorded `StageError`
and a `failed` or `partial` status; the batch goes on. Only infrastructure errors propagate, so
that Prefect can retry the task. The pure stages (text, extraction, validation) are in
`flows.prepare`, which a worker process can run; matching and classification are here.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from classifiers import Classification, ClassificationContext, DocumentClassifier, classify
from classifiers.doctype import reconcile_document_type
from extractors.text.intake import describe
from flows.prepare import Prepared, Stages, failed_result, prepare_document
from invoices.errors import DocumentError
from invoices.records import (
    Document,
    DocumentResult,
    DocumentType,
    FieldValue,
    Invoice,
    Method,
    Provenance,
    ReasonCode,
    StageError,
    Status,
    VendorMatch,
)
from invoices.routing import audit_sampled, route
from invoices.settings import Settings
from matchers.vendor import VendorMatcher


@dataclass
class RunContext:
    """What every document of a run shares: settings and the stage objects built once per run."""

    settings: Settings
    vendor_resolver: VendorMatcher | None = None
    cascade: DocumentClassifier | None = None
    # the promoted confidence recalibration (staging.learning), applied after extraction
    calibration_version: str | None = None
    recalibration: dict[str, Any] = field(default_factory=dict)


def placeholder_document(path: Path) -> Document:
    """A Document for a file that could not be described (vanished, unreadable, empty)."""
    try:
        data = path.read_bytes()
    except OSError:
        return Document(path=path, sha256="", media_type="unknown", size_bytes=0)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Document(
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        media_type=media_type,
        size_bytes=len(data),
    )


def fingerprint(path: Path, settings: Settings) -> tuple[Document, StageError | None]:
    """Describe a file (sha256, media type); a bad file still gets a Document and an error."""
    try:
        return describe(path, settings), None
    except DocumentError as exc:
        error = StageError(stage="intake", category=exc.reason.value, message=exc.detail)
        return placeholder_document(path), error


def process_document(document: Document, ctx: RunContext) -> DocumentResult:
    """Text, extraction, validation, vendor matching and classification of one document."""
    return finish_document(prepare_document(document, ctx.settings, ctx.recalibration), ctx)


def finish_document(prepared: Prepared, ctx: RunContext) -> DocumentResult:
    """Vendor matching, classification and routing of a prepared document (in the flow's
    process, which holds the models)."""
    if prepared.failed is not None:
        return prepared.failed
    settings, stages, document = ctx.settings, prepared.stages, prepared.document
    assert prepared.invoice is not None
    invoice, vendor_match, classification = _match_and_classify(
        prepared.invoice, prepared.full_text, ctx, stages
    )
    result = DocumentResult(
        document=document,
        invoice=invoice,
        text_methods=prepared.methods,
        page_methods=prepared.page_methods,
        checks=prepared.checks,
        vendor_match=vendor_match,
        classification=classification.model_dump(mode="json") if classification else None,
        reasons=list(classification.reasons) if classification else [],
        status=Status.PARTIAL if stages.errors else Status.SUCCESS,
        errors=stages.errors,
        timings=stages.timings,
    )
    reasons = route(result, settings)
    if stages.errors and not reasons:
        reasons = [ReasonCode.PROCESSING_ERROR]
    if not reasons and audit_sampled(document.sha256, settings.audit_sample_share):
        reasons = [ReasonCode.AUDIT_SAMPLE]
    return result.model_copy(update={"reasons": reasons})


def _match_and_classify(
    invoice: Invoice, text: str, ctx: RunContext, stages: Stages
) -> tuple[Invoice, VendorMatch | None, Classification | None]:
    vendor_match = None
    if ctx.vendor_resolver is not None:
        vendor_match = stages.run("matching", ctx.vendor_resolver.resolve, invoice)
    classification = None
    if ctx.cascade is not None:
        classification = stages.run(
            "classification", _classify, invoice, vendor_match, text, ctx.cascade, ctx
        )
    if classification is not None and invoice.document_type is None:
        # matching treats credit notes, statements and reminders differently (no PO billing,
        # no duplicate of an invoice), so it must see the classified type
        invoice = invoice.model_copy(update={"document_type": _type_field(classification)})
    elif classification is not None:
        recorded, disputed = reconcile_document_type(
            invoice.document_type, classification.document_type
        )
        if disputed:
            invoice = invoice.model_copy(update={"document_type": recorded})
            classification.reasons.append(ReasonCode.DOCUMENT_TYPE_UNCERTAIN)
    return invoice, vendor_match, classification


def _type_field(classification: Classification) -> FieldValue[DocumentType]:
    found = classification.document_type
    return FieldValue(
        value=found.value,
        confidence=found.confidence,
        provenance=Provenance(
            method=Method.RULE,
            extractor=f"classifiers.{found.backend}",
            version=found.model_version,
            raw=found.evidence[:200],
        ),
    )


def _classify(
    invoice: Invoice,
    vendor_match: VendorMatch | None,
    text: str,
    cascade: DocumentClassifier,
    ctx: RunContext,
) -> Classification:
    context = ClassificationContext(
        cascade,
        vendor_id=vendor_match.vendor_id if vendor_match else None,
        vendor_name=vendor_match.vendor_name if vendor_match else None,
        text=text,
    )
    return classify(invoice, context, ctx.settings)


def failed_intake(document: Document, error: StageError, settings: Settings) -> DocumentResult:
    """The result of a document that failed before any stage could run."""
    stages = Stages()
    stages.errors.append(error)
    return failed_result(document, stages, settings)
