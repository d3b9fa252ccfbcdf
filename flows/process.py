"""One document through every stage, with a boundary around each stage.

A document error (bad file) or an unexpected bug inside a stage becomes a recorded `StageError`
and a `failed` or `partial` status; the batch goes on. Only infrastructure errors propagate, so
that Prefect can retry the task.
"""

from __future__ import annotations

import hashlib
import mimetypes
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from classifiers import Classification, ClassificationContext, DocumentClassifier, classify
from extractors.extract import extract_invoice
from extractors.recalibration import recalibrate_invoice
from extractors.text.intake import describe
from extractors.text.read import read_document
from extractors.validation import validate
from invoices.errors import DocumentError, InfrastructureError
from invoices.records import (
    Document,
    DocumentResult,
    DocumentText,
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

T = TypeVar("T")


@dataclass
class RunContext:
    """What every document of a run shares: settings and the stage objects built once per run."""

    settings: Settings
    vendor_resolver: VendorMatcher | None = None
    cascade: DocumentClassifier | None = None
    # the promoted confidence recalibration (staging.learning), applied after extraction
    calibration_version: str | None = None
    recalibration: dict[str, Any] = field(default_factory=dict)


class _Stages:
    """Runs stages for one document, recording timings and errors as it goes."""

    def __init__(self) -> None:
        self.errors: list[StageError] = []
        self.timings: dict[str, float] = {}
        self.fatal = False

    def run(self, name: str, fn: Callable[..., T], *args: Any, fatal: bool = False) -> T | None:
        started = time.perf_counter()
        try:
            return fn(*args)
        except InfrastructureError:
            raise
        except DocumentError as exc:
            self.errors.append(
                StageError(stage=name, category=exc.reason.value, message=exc.detail, page=exc.page)
            )
            self.fatal = self.fatal or fatal
        except Exception as exc:  # a bug in a stage must not stop the batch
            self.errors.append(
                StageError(
                    stage=name,
                    category=ReasonCode.PROCESSING_ERROR.value,
                    message=f"{type(exc).__name__}: {exc}",
                )
            )
            self.fatal = self.fatal or fatal
        finally:
            self.timings[name] = round(time.perf_counter() - started, 4)
        return None


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


def _failed(
    document: Document, stages: _Stages, settings: Settings, methods: list[str] | None = None
) -> DocumentResult:
    result = DocumentResult(
        document=document,
        status=Status.FAILED,
        errors=stages.errors,
        timings=stages.timings,
        text_methods=methods or [],
    )
    return result.model_copy(update={"reasons": route(result, settings)})


def _text_methods(text: DocumentText) -> list[str]:
    methods = {p.method.value for p in text.pages}
    return sorted(methods | ({"einvoice_xml"} if text.einvoice_xml else set()))


def process_document(document: Document, ctx: RunContext) -> DocumentResult:
    """Text, extraction, validation, vendor matching and classification of one document."""
    settings = ctx.settings
    stages = _Stages()
    text = stages.run("text", read_document, document, settings, fatal=True)
    if text is None or stages.fatal:
        return _failed(document, stages, settings)
    stages.errors.extend(text.errors)
    document = document.model_copy(update={"pages": len(text.pages)})
    methods = _text_methods(text)
    invoice = stages.run(
        "extraction",
        lambda: extract_invoice(text, settings, use_einvoice=settings.read_einvoice_xml),
        fatal=True,
    )
    if invoice is None:
        failed = _failed(document, stages, settings, methods)
        return failed.model_copy(update={"page_methods": [p.method.value for p in text.pages]})
    invoice = recalibrate_invoice(invoice, ctx.recalibration)
    checks = stages.run("validation", validate, invoice, settings) or []
    invoice, vendor_match, classification = _match_and_classify(invoice, text, ctx, stages)
    result = DocumentResult(
        document=document,
        invoice=invoice,
        text_methods=methods,
        page_methods=[p.method.value for p in text.pages],
        checks=checks,
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
    invoice: Invoice, text: DocumentText, ctx: RunContext, stages: _Stages
) -> tuple[Invoice, VendorMatch | None, Classification | None]:
    vendor_match = None
    if ctx.vendor_resolver is not None:
        vendor_match = stages.run("matching", ctx.vendor_resolver.resolve, invoice)
    classification = None
    if ctx.cascade is not None:
        classification = stages.run(
            "classification", _classify, invoice, vendor_match, text.full_text, ctx.cascade, ctx
        )
    if classification is not None and invoice.document_type is None:
        # matching treats credit notes, statements and reminders differently (no PO billing,
        # no duplicate of an invoice), so it must see the classified type
        invoice = invoice.model_copy(update={"document_type": _type_field(classification)})
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
    stages = _Stages()
    stages.errors.append(error)
    return _failed(document, stages, settings)
