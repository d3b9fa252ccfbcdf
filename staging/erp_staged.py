"""What the ERP outbox reads from the staging store to build an entry: the staged invoice with
its vendor and coded lines (`load_staged_invoice`, for the pure `invoices.erp_payload` mapping),
the settings' GL and tax mapping, and the PDF sent along with the bill."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from invoices.erp_payload import ErpMapping, StagedInvoice, StagedLine, StagedVendor
from invoices.settings import Settings
from staging.db import Conn


def erp_mapping(settings: Settings) -> ErpMapping:
    """The GL and tax mapping of the settings."""
    return ErpMapping(gl_accounts=settings.erp_gl_accounts, tax_codes=settings.erp_tax_codes)


def load_staged_invoice(conn: Conn, document_id: int) -> StagedInvoice:
    """The staged invoice with its vendor (master data first, printed values second) and the
    GL account and cost centre of every line from its classification."""
    row = conn.execute(
        "SELECT i.*, v.name AS master_name, v.vat_id AS master_vat_id, v.country, v.address,"
        " v.iban AS master_iban FROM invoices i LEFT JOIN vendors v USING (vendor_id)"
        " WHERE i.document_id = %s",
        (document_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no staged invoice {document_id}")
    coding = row["classification"] or {}
    by_line = {c["line_no"]: c for c in coding.get("lines", [])}
    lines = conn.execute(
        "SELECT * FROM invoice_lines WHERE document_id = %s ORDER BY line_no", (document_id,)
    ).fetchall()
    fields = row["fields"] or {}
    return StagedInvoice(
        document_id=document_id,
        document_type=row["document_type"],
        invoice_number=row["invoice_number"],
        invoice_date=row["invoice_date"],
        due_date=row["due_date"],
        currency=row["currency"],
        po_number=row["po_number"],
        buyer_name=(fields.get("buyer_name") or {}).get("value"),
        subtotal=row["subtotal"],
        tax=row["tax"],
        total=row["total"],
        vendor=StagedVendor(
            vendor_id=row["vendor_id"],
            name=row["master_name"] or row["vendor_name"],
            vat_id=row["master_vat_id"] or row["vendor_vat_id"],
            country=row["country"],
            address=row["address"] or (fields.get("vendor_address") or {}).get("value"),
            iban=row["master_iban"] or row["iban"],
        ),
        lines=[_staged_line(line, by_line.get(line["line_no"], {})) for line in lines],
        gl_account=_code(coding.get("gl_account")),
        cost_centre=_code(coding.get("cost_centre")),
    )


def _staged_line(line: dict[str, Any], coding: dict[str, Any]) -> StagedLine:
    return StagedLine(
        line_no=line["line_no"],
        description=line["description"],
        quantity=line["quantity"],
        unit=line["unit"],
        unit_price=line["unit_price"],
        tax_rate=line["tax_rate"],
        line_total=line["line_total"],
        gl_account=_code(coding.get("gl_account")),
        cost_centre=_code(coding.get("cost_centre")),
    )


def _code(suggestion: Any) -> str | None:
    return suggestion.get("code") if isinstance(suggestion, dict) else None


def attachment(conn: Conn, document_id: int) -> tuple[bytes | None, str | None]:
    row = conn.execute(
        "SELECT source_path, file_name FROM documents WHERE document_id = %s", (document_id,)
    ).fetchone()
    if row is None:
        return None, None
    path = Path(row["source_path"])
    try:
        return path.read_bytes(), row["file_name"]
    except OSError:
        return None, row["file_name"]  # the file left the inbox: the bill goes without it
