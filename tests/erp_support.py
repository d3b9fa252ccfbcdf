"""Staged invoices for the ERP tests: a generated corpus staged from its ground truth
(`synthetic.staged` builds the results the batch would have staged; this stages them)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from invoices.settings import Settings, load_settings
from staging import master, runs, store
from staging.db import Conn
from synthetic.staged import (  # noqa: F401  (the tests import them from here)
    PROVENANCE,
    TAX_RATES,
    billable_labels,
    classification_from_truth,
    gl_mapping,
    invoice_from_label,
    result_from_label,
    tax_mapping,
)


def stage_corpus(conn: Conn, corpus: Path, limit: int | None = None) -> list[int]:
    """Load the corpus's master data and stage its billable invoices; their document ids."""
    master.load_master_dir(conn, corpus / "master")
    conn.commit()
    run_id = runs.start_run(conn, str(corpus))
    ids = []
    for label in billable_labels(corpus)[:limit]:
        ids.append(stage_label(conn, corpus, label, run_id))
    return ids


def stage_label(conn: Conn, corpus: Path, label: dict[str, Any], run_id: uuid.UUID) -> int:
    """Stage one labelled document as the batch would have; its document id."""
    document_id = store.stage_result(conn, result_from_label(corpus, label), run_id)
    assert document_id is not None
    return document_id


def staged_from_invoice(invoice: Any, document_id: int, gl_account: str) -> Any:
    """A StagedInvoice from an extracted Invoice, every line coded to one GL account."""
    from invoices.erp_payload import StagedInvoice, StagedLine, StagedVendor

    def v(field: Any) -> Any:
        return None if field is None else field.value

    return StagedInvoice(
        document_id=document_id,
        document_type=v(invoice.document_type),
        invoice_number=v(invoice.invoice_number),
        invoice_date=v(invoice.invoice_date),
        due_date=v(invoice.due_date),
        currency=v(invoice.currency),
        po_number=v(invoice.po_number),
        buyer_name=v(invoice.buyer_name),
        subtotal=v(invoice.subtotal),
        tax=v(invoice.tax),
        total=v(invoice.total),
        vendor=StagedVendor(
            name=v(invoice.vendor_name),
            vat_id=v(invoice.vendor_vat_id),
            address=v(invoice.vendor_address),
            iban=v(invoice.iban),
        ),
        lines=[
            StagedLine(
                line_no=no,
                description=v(line.description),
                quantity=v(line.quantity),
                unit_price=v(line.unit_price),
                tax_rate=v(line.tax_rate),
                line_total=v(line.line_total),
                gl_account=gl_account,
            )
            for no, line in enumerate(invoice.lines, start=1)
        ],
        gl_account=gl_account,
    )


def file_erp_settings(
    database_url: str, schema: str, corpus: Path, outbound: Path, **overrides: Any
) -> Settings:
    """Settings for the en16931 file adapter writing to `outbound`, with the corpus's GL and
    tax mapping and a quick relay poll."""
    return load_settings(
        database_url=database_url,
        db_schema=schema,
        erp_adapter="en16931",
        erp_outbound_dir=outbound,
        erp_gl_accounts=gl_mapping(corpus),
        erp_tax_codes=tax_mapping(),
        erp_poll_seconds=0.2,
        **overrides,
    )
