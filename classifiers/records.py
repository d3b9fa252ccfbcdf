"""The records of the classification stage.

A `Classification` is what the flow stores in `invoices.classification` (as
`model_dump(mode="json")`): the document type, the GL account and cost centre of every line and
of the invoice, the approval route, the reason codes for the exception queue and the LLM usage
that produced it. Every suggestion names the backend and model version that made it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from invoices.records import DocumentType, ReasonCode


class Candidate(BaseModel):
    """One ranked alternative (GL account, cost centre) with its calibrated probability."""

    code: str
    probability: float = Field(ge=0.0, le=1.0)


class Suggestion(BaseModel):
    """A coding suggestion: the top candidates, the chosen one, who made it and why."""

    code: str | None = None
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    top: list[Candidate] = Field(default_factory=list)
    backend: str = ""  # history, llm, rule
    model_version: str = ""
    precedents: list[str] = Field(default_factory=list)  # invoice_id:line_no cited
    rationale: str = ""


class LineCoding(BaseModel):
    """The GL account and cost centre of one invoice line."""

    line_no: int
    description: str = ""
    amount: Decimal | None = None
    gl_account: Suggestion = Field(default_factory=Suggestion)
    cost_centre: Suggestion = Field(default_factory=Suggestion)
    reasons: list[ReasonCode] = Field(default_factory=list)


class DocumentTypeResult(BaseModel):
    """The document type with its confidence and the evidence (keywords or extractor)."""

    value: DocumentType = DocumentType.OTHER
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    evidence: str = ""
    backend: str = "rule"
    model_version: str = ""


class ApprovalRoute(BaseModel):
    """Who approves the invoice and which rule said so."""

    approver_group: str
    rule: str
    reason: str


class LLMUsage(BaseModel):
    """What the language model cost for one document."""

    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    lines_sent: int = 0
    call_seconds: list[float] = Field(default_factory=list)  # each call's latency, in order


class Classification(BaseModel):
    """The classification of one document, as stored in `invoices.classification`."""

    document_type: DocumentTypeResult = Field(default_factory=DocumentTypeResult)
    vendor_id: str | None = None
    lines: list[LineCoding] = Field(default_factory=list)
    gl_account: Suggestion = Field(default_factory=Suggestion)
    cost_centre: Suggestion = Field(default_factory=Suggestion)
    approval_route: ApprovalRoute | None = None
    reasons: list[ReasonCode] = Field(default_factory=list)
    llm: LLMUsage = Field(default_factory=LLMUsage)
    model_versions: dict[str, str] = Field(default_factory=dict)


class LineQuery(BaseModel):
    """One line to code: the input every GL backend sees."""

    line_no: int
    description: str
    amount: Decimal | None = None
    vendor_id: str | None = None
    vendor_name: str | None = None
    invoice_date: date | None = None
