"""Approval route: ordered rules on amount, GL account and vendor, set in settings.

The first rule whose conditions all hold names the approver group; the reason says which
condition put the invoice there, in words a clerk reads. A rule with no condition is the
catch-all and belongs last.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from pydantic import BaseModel, Field

from classifiers.records import ApprovalRoute


class ApprovalRule(BaseModel):
    """One routing rule; every condition that is set must hold."""

    name: str
    approver_group: str
    min_amount: Decimal | None = None  # inclusive, on the invoice total
    max_amount: Decimal | None = None  # exclusive
    gl_prefixes: list[str] = Field(default_factory=list)  # any line's GL account starts with one
    vendor_ids: list[str] = Field(default_factory=list)
    document_types: list[str] = Field(default_factory=list)
    requires_po: bool | None = None  # True: only PO-backed invoices; False: only those without


# A common policy: small or PO-backed invoices pass, larger ones climb the hierarchy.
DEFAULT_APPROVAL_RULES: tuple[dict[str, object], ...] = (
    {"name": "po-backed", "approver_group": "auto", "requires_po": True, "max_amount": "5000"},
    {"name": "small", "approver_group": "auto", "max_amount": "1000"},
    {"name": "medium", "approver_group": "cost_centre_manager", "max_amount": "10000"},
    {"name": "large", "approver_group": "director"},
)


def parse_rules(raw: Iterable[dict[str, object] | ApprovalRule]) -> list[ApprovalRule]:
    """Validated rules from settings (dicts) or already-built rules, order kept."""
    return [r if isinstance(r, ApprovalRule) else ApprovalRule.model_validate(r) for r in raw]


def route_invoice(
    rules: Sequence[ApprovalRule],
    total: Decimal | None,
    gl_accounts: Sequence[str],
    vendor_id: str | None,
    document_type: str | None = None,
    has_po: bool = False,
) -> ApprovalRoute | None:
    """The approval route of an invoice: the first rule that matches (None if none does)."""
    for rule in rules:
        why = _match(rule, total, gl_accounts, vendor_id, document_type, has_po)
        if why is not None:
            return ApprovalRoute(approver_group=rule.approver_group, rule=rule.name, reason=why)
    return None


def _match(
    rule: ApprovalRule,
    total: Decimal | None,
    gl_accounts: Sequence[str],
    vendor_id: str | None,
    document_type: str | None,
    has_po: bool,
) -> str | None:
    reasons: list[str] = []
    if rule.requires_po is not None:
        if has_po != rule.requires_po:
            return None
        reasons.append("PO-backed" if has_po else "no PO")
    amount = abs(total) if total is not None else None
    if rule.min_amount is not None:
        if amount is None or amount < rule.min_amount:
            return None
        reasons.append(f"total {amount} >= {rule.min_amount}")
    if rule.max_amount is not None:
        if amount is None or amount >= rule.max_amount:
            return None
        reasons.append(f"total {amount} < {rule.max_amount}")
    if rule.gl_prefixes:
        hits = [g for g in gl_accounts if any(g.startswith(p) for p in rule.gl_prefixes)]
        if not hits:
            return None
        reasons.append(f"GL account {hits[0]} in {'/'.join(rule.gl_prefixes)}*")
    if rule.vendor_ids:
        if vendor_id not in rule.vendor_ids:
            return None
        reasons.append(f"vendor {vendor_id}")
    if rule.document_types:
        if document_type not in rule.document_types:
            return None
        reasons.append(f"document type {document_type}")
    return "; ".join(reasons) or "default route"
