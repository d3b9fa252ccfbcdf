"""The records that flow through the pipeline.

Every extracted value is a `FieldValue`: the value, a calibrated confidence and where it came
from. One `DocumentResult` per input document carries everything the stages produced, its
status, the stage errors and the per-stage timings. Stages return new records; they do not
mutate shared ones.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")

BBox = tuple[float, float, float, float]


class Method(StrEnum):
    """How a value was obtained, cheapest and most trustworthy first."""

    EINVOICE_XML = "einvoice_xml"
    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    RULE = "rule"
    LLM = "llm"
    MANUAL = "manual"


class Provenance(BaseModel):
    """Where a value came from: method, extractor, page, bounding box and raw text."""

    model_config = ConfigDict(frozen=True)

    method: Method
    extractor: str = ""
    version: str = ""
    page: int | None = None
    bbox: BBox | None = None
    raw: str | None = None


class FieldValue(BaseModel, Generic[T]):
    """One extracted value with its confidence (0..1) and provenance."""

    model_config = ConfigDict(frozen=True)

    value: T
    confidence: float = Field(ge=0.0, le=1.0)
    provenance: Provenance

    def with_confidence(self, confidence: float) -> FieldValue[T]:
        """A copy with another confidence, clamped to 0..1."""
        return self.model_copy(update={"confidence": min(1.0, max(0.0, confidence))})


class DocumentType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    CORRECTION = "correction"
    STATEMENT = "statement"
    REMINDER = "reminder"
    RECEIPT = "receipt"
    OTHER = "other"


class TaxLine(BaseModel):
    """Tax for one rate: the rate in percent, the base it applies to and the amount."""

    rate: Decimal | None = None
    base: Decimal | None = None
    amount: Decimal | None = None


class LineItem(BaseModel):
    """One invoice line; each value keeps its own confidence and provenance."""

    description: FieldValue[str] | None = None
    sku: FieldValue[str] | None = None
    quantity: FieldValue[Decimal] | None = None
    unit: FieldValue[str] | None = None
    unit_price: FieldValue[Decimal] | None = None
    tax_rate: FieldValue[Decimal] | None = None
    line_total: FieldValue[Decimal] | None = None
    page: int | None = None


# The header fields an Invoice can carry, in display order. Reports, staging and the
# evaluation scorer iterate over this tuple rather than repeating the list.
HEADER_FIELDS: tuple[str, ...] = (
    "document_type",
    "vendor_name",
    "vendor_address",
    "vendor_vat_id",
    "vendor_email",
    "iban",
    "bic",
    "buyer_name",
    "invoice_number",
    "invoice_date",
    "due_date",
    "payment_terms",
    "po_number",
    "currency",
    "subtotal",
    "tax",
    "total",
    "amount_due",
)

MONEY_FIELDS: frozenset[str] = frozenset({"subtotal", "tax", "total", "amount_due"})
DATE_FIELDS: frozenset[str] = frozenset({"invoice_date", "due_date"})


class Invoice(BaseModel):
    """The header fields and line items extracted from one document."""

    document_type: FieldValue[DocumentType] | None = None
    vendor_name: FieldValue[str] | None = None
    vendor_address: FieldValue[str] | None = None
    vendor_vat_id: FieldValue[str] | None = None
    vendor_email: FieldValue[str] | None = None
    iban: FieldValue[str] | None = None
    bic: FieldValue[str] | None = None
    buyer_name: FieldValue[str] | None = None
    invoice_number: FieldValue[str] | None = None
    invoice_date: FieldValue[date] | None = None
    due_date: FieldValue[date] | None = None
    payment_terms: FieldValue[str] | None = None
    po_number: FieldValue[str] | None = None
    currency: FieldValue[str] | None = None
    subtotal: FieldValue[Decimal] | None = None
    tax: FieldValue[Decimal] | None = None
    total: FieldValue[Decimal] | None = None
    amount_due: FieldValue[Decimal] | None = None
    tax_lines: list[TaxLine] = Field(default_factory=list)
    lines: list[LineItem] = Field(default_factory=list)
    # order-like numbers printed anywhere on the document (no label needed): lets matching
    # find a PO whose number was printed but whose label OCR lost (see extractors.fields.references)
    references: list[str] = Field(default_factory=list)

    def field(self, name: str) -> FieldValue[Any] | None:
        """The FieldValue of a header field by name (None when absent)."""
        if name not in HEADER_FIELDS:
            raise KeyError(name)
        return getattr(self, name)

    def value(self, name: str) -> Any:
        """The bare value of a header field (None when absent)."""
        fv = self.field(name)
        return None if fv is None else fv.value


class Word(BaseModel):
    """A word on a page with its box in PDF points (top-left origin) and OCR confidence."""

    model_config = ConfigDict(frozen=True)

    text: str
    bbox: BBox
    confidence: float = 1.0


class PageText(BaseModel):
    """The text of one page and how it was obtained."""

    number: int  # 1-based
    method: Method
    text: str
    words: list[Word] = Field(default_factory=list)
    width: float = 0.0
    height: float = 0.0
    ocr_confidence: float | None = None
    seconds: float = 0.0


class DocumentText(BaseModel):
    """All text of a document: pages plus any embedded e-invoice XML."""

    pages: list[PageText] = Field(default_factory=list)
    einvoice_xml: bytes | None = None
    einvoice_name: str | None = None
    # pages that failed alone (e.g. an OCR timeout): the document is still read
    errors: list[StageError] = Field(default_factory=list)

    @property
    def full_text(self) -> str:
        return "\n".join(p.text for p in self.pages)


class Document(BaseModel):
    """One input file, fingerprinted."""

    path: Path
    sha256: str
    media_type: str
    size_bytes: int
    pages: int | None = None


class ReasonCode(StrEnum):
    """Why a document went to the exception queue. Stable strings: never rename one."""

    DOCUMENT_UNREADABLE = "DOCUMENT_UNREADABLE"
    DOCUMENT_ENCRYPTED = "DOCUMENT_ENCRYPTED"
    DOCUMENT_EMPTY = "DOCUMENT_EMPTY"
    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE"
    DOCUMENT_MISSING = "DOCUMENT_MISSING"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    NO_TEXT = "NO_TEXT"
    MISSING_VENDOR_NAME = "MISSING_VENDOR_NAME"
    MISSING_INVOICE_NUMBER = "MISSING_INVOICE_NUMBER"
    MISSING_INVOICE_DATE = "MISSING_INVOICE_DATE"
    MISSING_TOTAL = "MISSING_TOTAL"
    MISSING_CURRENCY = "MISSING_CURRENCY"
    LOW_CONFIDENCE_VENDOR_NAME = "LOW_CONFIDENCE_VENDOR_NAME"
    LOW_CONFIDENCE_INVOICE_NUMBER = "LOW_CONFIDENCE_INVOICE_NUMBER"
    LOW_CONFIDENCE_INVOICE_DATE = "LOW_CONFIDENCE_INVOICE_DATE"
    LOW_CONFIDENCE_TOTAL = "LOW_CONFIDENCE_TOTAL"
    LOW_CONFIDENCE_CURRENCY = "LOW_CONFIDENCE_CURRENCY"
    LOW_CONFIDENCE_FIELD = "LOW_CONFIDENCE_FIELD"
    ARITHMETIC_LINES_SUBTOTAL = "ARITHMETIC_LINES_SUBTOTAL"
    ARITHMETIC_SUBTOTAL_TAX_TOTAL = "ARITHMETIC_SUBTOTAL_TAX_TOTAL"
    TAX_RATE_IMPLAUSIBLE = "TAX_RATE_IMPLAUSIBLE"
    CURRENCY_UNKNOWN = "CURRENCY_UNKNOWN"
    IBAN_INVALID = "IBAN_INVALID"
    VAT_ID_INVALID = "VAT_ID_INVALID"
    DATE_IMPLAUSIBLE = "DATE_IMPLAUSIBLE"
    VENDOR_UNKNOWN = "VENDOR_UNKNOWN"
    BANK_DETAILS_CHANGED = "BANK_DETAILS_CHANGED"
    PO_MISSING = "PO_MISSING"
    PO_NOT_FOUND = "PO_NOT_FOUND"
    PO_CLOSED = "PO_CLOSED"
    PRICE_VARIANCE = "PRICE_VARIANCE"
    QTY_EXCEEDS_ORDERED = "QTY_EXCEEDS_ORDERED"
    QTY_EXCEEDS_RECEIVED = "QTY_EXCEEDS_RECEIVED"
    LINE_UNMATCHED = "LINE_UNMATCHED"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    DUPLICATE_SUSPECTED = "DUPLICATE_SUSPECTED"
    GL_UNCERTAIN = "GL_UNCERTAIN"
    LLM_UNAVAILABLE = "LLM_UNAVAILABLE"
    # a straight-through invoice sampled for a clerk's audit (settings.audit_sample_share): its
    # values were auto-accepted; the clerk's corrections measure how often they were right
    AUDIT_SAMPLE = "AUDIT_SAMPLE"
    LLM_BUDGET_EXHAUSTED = "LLM_BUDGET_EXHAUSTED"
    NOT_AN_INVOICE = "NOT_AN_INVOICE"
    # the title read one document type and the whole text another (an invoice or a credit
    # note?): a clerk says which before it is booked
    DOCUMENT_TYPE_UNCERTAIN = "DOCUMENT_TYPE_UNCERTAIN"
    PROCESSING_ERROR = "PROCESSING_ERROR"
    ERP_SYNC_FAILED = "ERP_SYNC_FAILED"  # the ERP refused the bill, or it kept failing


class Status(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    SKIPPED = "skipped"


class StageError(BaseModel):
    """A recorded failure of one stage for one document: it never stops the batch."""

    stage: str
    category: str  # a ReasonCode value or a short error class name
    message: str
    page: int | None = None


class CheckResult(BaseModel):
    """One validation check: its name, whether it passed, and the evidence."""

    name: str
    passed: bool
    reason: ReasonCode | None = None
    detail: str = ""
    expected: str | None = None
    actual: str | None = None


class VendorMatch(BaseModel):
    """The vendor this invoice was linked to (or not), with the scores that explain it."""

    vendor_id: str | None = None
    vendor_name: str | None = None
    method: str = "none"  # vat_id, iban, email_domain, similarity, none
    probability: float = 0.0
    scores: dict[str, float] = Field(default_factory=dict)
    candidates: list[dict[str, Any]] = Field(default_factory=list)
    reasons: list[ReasonCode] = Field(default_factory=list)


class DocumentResult(BaseModel):
    """Everything the pipeline found for one document."""

    document: Document
    invoice: Invoice | None = None
    text_methods: list[str] = Field(default_factory=list)
    page_methods: list[str] = Field(default_factory=list)  # how each page was read, in order
    checks: list[CheckResult] = Field(default_factory=list)
    vendor_match: VendorMatch | None = None
    po_match: dict[str, Any] | None = None  # matchers.po.PoMatch, dumped
    duplicates: list[dict[str, Any]] = Field(default_factory=list)  # matchers DuplicateHit, dumped
    classification: dict[str, Any] | None = None
    status: Status = Status.SUCCESS
    reasons: list[ReasonCode] = Field(default_factory=list)
    errors: list[StageError] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def is_exception(self) -> bool:
        return bool(self.reasons) or self.status == Status.FAILED
