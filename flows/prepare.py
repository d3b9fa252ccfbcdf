"""The pure stages of one document: text, extraction, recalibration and validation.

They need no model and no database, only the settings and the run's recalibration, so the
nightly batch runs them in worker processes (`flows.workers`) beside the flow's threads, which
do matching, classification and staging with the models (`flows.process`). This module imports
only the stage packages below `flows`, so a worker process starts without the models' libraries.
A document error or a bug inside a stage becomes a recorded `StageError`; only infrastructure
errors propagate.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from extractors.extract import extract_invoice
from extractors.recalibration import recalibrate_invoice
from extractors.text.read import read_document
from extractors.validation import validate
from invoices.errors import DocumentError, InfrastructureError
from invoices.records import (
    CheckResult,
    Document,
    DocumentResult,
    DocumentText,
    Invoice,
    ReasonCode,
    StageError,
    Status,
)
from invoices.routing import route
from invoices.settings import Settings

T = TypeVar("T")


class Stages:
    """Runs stages for one document, recording timings and errors as it goes."""

    def __init__(self, on_stage: Callable[[str], None] | None = None) -> None:
        self.on_stage = on_stage
        self.errors: list[StageError] = []
        self.timings: dict[str, float] = {}
        self.fatal = False

    def run(self, name: str, fn: Callable[..., T], *args: Any, fatal: bool = False) -> T | None:
        if self.on_stage is not None:
            self.on_stage(name)
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


def failed_result(
    document: Document, stages: Stages, settings: Settings, methods: list[str] | None = None
) -> DocumentResult:
    """The result of a document whose stages cannot go on: its errors, routed."""
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


@dataclass
class Prepared:
    """A document after its pure stages (text, extraction, recalibration, validation): what
    matching and classification need, small enough to cross a process boundary (the page text,
    not its word boxes). `failed` holds the finished result of a document that failed there."""

    document: Document
    stages: Stages
    invoice: Invoice | None = None
    checks: list[CheckResult] = field(default_factory=list)
    methods: list[str] = field(default_factory=list)
    page_methods: list[str] = field(default_factory=list)
    full_text: str = ""
    failed: DocumentResult | None = None

    def to_wire(self) -> dict[str, Any]:
        """Plain values (pydantic's JSON) for a process boundary: pickle cannot find the
        classes of parametrised models such as `FieldValue[DocumentType]` by name."""
        return {
            "document": self.document.model_dump_json(),
            "errors": [e.model_dump_json() for e in self.stages.errors],
            "timings": dict(self.stages.timings),
            "fatal": self.stages.fatal,
            "invoice": self.invoice.model_dump_json() if self.invoice is not None else None,
            "checks": [c.model_dump_json() for c in self.checks],
            "methods": list(self.methods),
            "page_methods": list(self.page_methods),
            "full_text": self.full_text,
            "failed": self.failed.model_dump_json() if self.failed is not None else None,
        }

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Prepared:
        """The Prepared that `to_wire` described."""
        stages = Stages()
        stages.errors = [StageError.model_validate_json(e) for e in wire["errors"]]
        stages.timings, stages.fatal = dict(wire["timings"]), bool(wire["fatal"])
        invoice, failed = wire["invoice"], wire["failed"]
        return cls(
            document=Document.model_validate_json(wire["document"]),
            stages=stages,
            invoice=Invoice.model_validate_json(invoice) if invoice is not None else None,
            checks=[CheckResult.model_validate_json(c) for c in wire["checks"]],
            methods=list(wire["methods"]),
            page_methods=list(wire["page_methods"]),
            full_text=wire["full_text"],
            failed=DocumentResult.model_validate_json(failed) if failed is not None else None,
        )


def prepare_document(
    document: Document,
    settings: Settings,
    recalibration: dict[str, Any],
    on_stage: Callable[[str], None] | None = None,
) -> Prepared:
    """Text, extraction, recalibration and validation of one document: the CPU-bound part
    that needs no model and no database, so that it can run in a worker process
    (`flows.workers`). `on_stage` is told the name of each stage as it starts."""
    prepared = _prepare(document, settings, recalibration, Stages(on_stage))
    prepared.stages.on_stage = None  # the caller's callback is not part of the result
    return prepared


def prepare_to_wire(
    document: Document,
    settings: Settings,
    recalibration: dict[str, Any],
    on_stage: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """`prepare_document` as a worker process runs it: the answer as `Prepared.to_wire`."""
    return prepare_document(document, settings, recalibration, on_stage).to_wire()


def _prepare(
    document: Document, settings: Settings, recalibration: dict[str, Any], stages: Stages
) -> Prepared:
    text = stages.run("text", read_document, document, settings, fatal=True)
    if text is None or stages.fatal:
        return Prepared(document, stages, failed=failed_result(document, stages, settings))
    stages.errors.extend(text.errors)
    document = document.model_copy(update={"pages": len(text.pages)})
    methods = _text_methods(text)
    page_methods = [p.method.value for p in text.pages]
    invoice = stages.run(
        "extraction",
        lambda: extract_invoice(text, settings, use_einvoice=settings.read_einvoice_xml),
        fatal=True,
    )
    if invoice is None:
        failed = failed_result(document, stages, settings, methods)
        failed = failed.model_copy(update={"page_methods": page_methods})
        return Prepared(document, stages, failed=failed)
    invoice = recalibrate_invoice(invoice, recalibration)
    checks = stages.run("validation", validate, invoice, settings) or []
    return Prepared(
        document, stages, invoice, checks, methods, page_methods, full_text=text.full_text
    )
