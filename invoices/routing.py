"""Exception routing: which reason codes send a document to the exception queue.

Pure logic over the records and settings, so a clerk, a report and a test all read the same
stable reason codes for the same evidence.
"""

from __future__ import annotations

from invoices.records import DocumentResult, ReasonCode, Status
from invoices.settings import Settings

_MISSING = {
    "vendor_name": ReasonCode.MISSING_VENDOR_NAME,
    "invoice_number": ReasonCode.MISSING_INVOICE_NUMBER,
    "invoice_date": ReasonCode.MISSING_INVOICE_DATE,
    "total": ReasonCode.MISSING_TOTAL,
    "currency": ReasonCode.MISSING_CURRENCY,
}

_LOW = {
    "vendor_name": ReasonCode.LOW_CONFIDENCE_VENDOR_NAME,
    "invoice_number": ReasonCode.LOW_CONFIDENCE_INVOICE_NUMBER,
    "invoice_date": ReasonCode.LOW_CONFIDENCE_INVOICE_DATE,
    "total": ReasonCode.LOW_CONFIDENCE_TOTAL,
    "currency": ReasonCode.LOW_CONFIDENCE_CURRENCY,
}


def field_reasons(result: DocumentResult, settings: Settings) -> list[ReasonCode]:
    """Missing required fields and values under their confidence threshold."""
    invoice = result.invoice
    if invoice is None:
        return []
    reasons: list[ReasonCode] = []
    for name in settings.required_fields:
        if invoice.field(name) is None:
            reasons.append(_MISSING.get(name, ReasonCode.LOW_CONFIDENCE_FIELD))
    for name, threshold in settings.confidence_thresholds.items():
        fv = invoice.field(name)
        if fv is None or fv.confidence >= threshold or _confirmed_elsewhere(name, result, settings):
            continue
        reasons.append(_LOW.get(name, ReasonCode.LOW_CONFIDENCE_FIELD))
    return reasons


def _confirmed_elsewhere(name: str, result: DocumentResult, settings: Settings) -> bool:
    """Whether stronger evidence makes an uncertain reading irrelevant.

    The printed vendor name serves only to identify the vendor: when the vendor was linked with
    a probability at or above the match threshold (by VAT id, IBAN or a confident name and
    address comparison), a shaky reading of the name changes nothing a clerk would check.
    """
    match = result.vendor_match
    return (
        name == "vendor_name"
        and match is not None
        and match.vendor_id is not None
        and match.probability >= settings.vendor_match_threshold
    )


def route(result: DocumentResult, settings: Settings) -> list[ReasonCode]:
    """Every reason code for this document, deduplicated, in a stable order."""
    reasons: list[ReasonCode] = []
    if result.status == Status.FAILED:
        for error in result.errors:
            try:
                reasons.append(ReasonCode(error.category))
            except ValueError:
                reasons.append(ReasonCode.PROCESSING_ERROR)
        return sorted(set(reasons)) or [ReasonCode.PROCESSING_ERROR]
    reasons.extend(field_reasons(result, settings))
    reasons.extend(c.reason for c in result.checks if not c.passed and c.reason is not None)
    if result.vendor_match is not None:
        reasons.extend(result.vendor_match.reasons)
    reasons.extend(result.reasons)
    return sorted(set(reasons))


def audit_sampled(sha256: str, share: float) -> bool:
    """Whether a straight-through document falls in the audit sample: the first 8 hex digits
    of its sha256 as a fraction below `share` (stable across reruns)."""
    if share <= 0 or not sha256:
        return False
    return int(sha256[:8], 16) / 0x1_0000_0000 < share
