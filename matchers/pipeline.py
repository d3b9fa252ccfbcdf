"""Matching a batch in memory: vendors (one batched embedding pass), then per document the
purchase order and duplicates, with the ledger and the duplicate index updated as it goes.

The nightly flow calls the per-document functions with data from staging; the evaluation and
the scale benchmark use this batch form, which does the same with in-memory state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from invoices.records import Document, Invoice, ReasonCode, VendorMatch
from matchers.duplicates import DuplicateHit, PriorIndex, PriorInvoice, find_duplicates_in
from matchers.po import PoMatch, match_purchase_order
from matchers.po_data import BilledLedger, PoData
from matchers.vendor import VendorResolver


@dataclass
class MatchOutcome:
    """Everything matching found for one document, and the reason codes it raises."""

    vendor: VendorMatch
    po: PoMatch
    duplicates: list[DuplicateHit] = field(default_factory=list)

    @property
    def reasons(self) -> list[ReasonCode]:
        """The distinct reason codes of vendor, PO and duplicate findings, in that order."""
        codes = [*self.vendor.reasons, *self.po.reasons]
        if self.duplicates:
            codes.append(ReasonCode.DUPLICATE_SUSPECTED)
        return list(dict.fromkeys(codes))


def match_batch(
    invoices: Sequence[Invoice],
    documents: Sequence[Document | None],
    resolver: VendorResolver,
    po_data: PoData,
    ledger: BilledLedger,
    prior: PriorIndex,
    settings: Any,
    ids: Sequence[int | str] | None = None,
) -> list[MatchOutcome]:
    """Match a batch in order; each document is checked against everything before it.

    The ledger and the prior index are updated in place, as staging would be.
    """
    vendors = resolver.resolve_many(invoices)
    outcomes = []
    for n, (invoice, document, vendor) in enumerate(zip(invoices, documents, vendors, strict=True)):
        doc_id = ids[n] if ids is not None else n
        hits = find_duplicates_in(prior, invoice, document, settings, vendor)
        # a duplicate is checked against the PO as if its original had not billed yet
        view = ledger.without(h.document_id for h in hits) if hits else ledger
        po = match_purchase_order(invoice, vendor, po_data, view, settings)
        for entry in po.billed:
            if not hits:  # a duplicate bills nothing: paying it is what we prevent
                ledger.add(entry.po_number, entry.line_no, entry.quantity, doc_id)
        prior.add(PriorInvoice.from_invoice(doc_id, invoice, document, vendor.vendor_id))
        outcomes.append(MatchOutcome(vendor, po, hits))
    return outcomes
