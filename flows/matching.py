"""Matching wired to the store: the vendor master with its cached name embeddings, and the
checks that need what is already staged (duplicates across batches, the PO ledger).

`match_against_store` runs inside the staging transaction (after `store.lock_staging`), so each
document is checked against everything staged before it, including earlier ones of the batch.
"""

from __future__ import annotations

import time

from flows.process import RunContext
from invoices.records import DocumentResult, ReasonCode, Status
from matchers import aliases
from matchers.duplicates import find_duplicates
from matchers.embeddings import Embedder
from matchers.master import VendorMaster
from matchers.po import BilledEntry, match_purchase_order
from staging import matching, models
from staging.db import Conn

ALIASES_KIND = "vendor_aliases"  # the model kind of the learned alias tables (flows.alias_learning)


def load_vendor_master(conn: Conn, embedder: Embedder | None) -> VendorMaster:
    """The vendor master with the promoted vendor aliases (learned from clerks' links) and its
    name embeddings, from the cache in Postgres; only new or changed names are embedded, stale
    vectors pruned, and the cache update is committed."""
    _, table = models.promoted_json(conn, ALIASES_KIND)
    master = VendorMaster.from_rows(aliases.apply_to_rows(matching.vendor_rows(conn), table))
    if embedder is not None:
        master.embed_names(embedder, matching.VendorEmbeddingCache(conn))
        conn.commit()
    return master


def match_against_store(
    conn: Conn, result: DocumentResult, ctx: RunContext
) -> tuple[DocumentResult, list[BilledEntry]]:
    """The result with its PO match and duplicate hits, and what it bills on PO lines.

    A suspected duplicate bills nothing: paying it twice is what the check prevents.
    """
    invoice = result.invoice
    if invoice is None or result.status == Status.FAILED:
        return result, []
    started = time.perf_counter()
    vendor = result.vendor_match
    vendor_id = vendor.vendor_id if vendor else None
    candidates = matching.duplicate_candidates(
        conn,
        vendor_id=vendor_id,
        total=invoice.value("total"),
        invoice_number=invoice.value("invoice_number"),
        sha256=result.document.sha256 or None,
    )
    hits = find_duplicates(invoice, result.document, candidates, ctx.settings, vendor)
    po_number = invoice.value("po_number")
    po_data = matching.load_po_data(
        conn,
        vendor_ids=[vendor_id] if vendor_id else [],
        po_numbers=[po_number] if po_number else [],
    )
    ledger = matching.billed_ledger(conn, po_numbers=[o.po_number for o in po_data.orders.values()])
    if hits:
        ledger = ledger.without(h.document_id for h in hits)
    po = match_purchase_order(invoice, vendor, po_data, ledger, ctx.settings)
    reasons = [*result.reasons, *po.reasons]
    if hits:
        reasons.append(ReasonCode.DUPLICATE_SUSPECTED)
    timings = {**result.timings, "po_and_duplicates": round(time.perf_counter() - started, 4)}
    updated = result.model_copy(
        update={
            "po_match": po.model_dump(mode="json"),
            "duplicates": [h.model_dump(mode="json") for h in hits],
            "reasons": sorted(set(reasons)),
            "timings": timings,
        }
    )
    return updated, ([] if hits else po.billed)
