"""The staging store: documents, staged invoices, the exception queue and the audit log.

Each document is staged in one transaction, so a crash mid-batch never leaves half a document,
and what was staged before stays staged. The audit log is append-only (a trigger rejects UPDATE,
DELETE and TRUNCATE); every decision the pipeline or a clerk makes lands there. Batch runs
(their start, end and report) are in `staging.runs`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from psycopg.types.json import Jsonb

from invoices.records import (
    HEADER_FIELDS,
    Document,
    DocumentResult,
    Invoice,
    LineItem,
    ReasonCode,
    Status,
)
from staging.db import Conn

PIPELINE_ACTOR = "pipeline"


def audit(
    conn: Conn,
    action: str,
    *,
    actor: str = PIPELINE_ACTOR,
    document_id: int | None = None,
    run_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one entry to the audit log."""
    conn.execute(
        "INSERT INTO audit_log (actor, action, document_id, run_id, detail)"
        " VALUES (%s, %s, %s, %s, %s)",
        (actor, action, document_id, run_id, Jsonb(detail or {})),
    )


def lock_staging(conn: Conn) -> None:
    """Serialise staging within the current transaction, so that two copies of one invoice in
    the same batch see each other in the duplicate check."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext('staging:' || current_schema()))")


def known_files(
    conn: Conn, files: Iterable[tuple[str, str]]
) -> tuple[set[tuple[str, str]], dict[str, dict[str, Any]]]:
    """For (sha256, source path) pairs: the pairs already recorded, and for every sha256 already
    staged the original document (document_id, file_name) it belongs to."""
    pairs = [(h, p) for h, p in files if h]
    if not pairs:
        return set(), {}
    hashes = sorted({h for h, _ in pairs})
    rows = conn.execute(
        "SELECT document_id, sha256, source_path, file_name, status FROM documents"
        " WHERE sha256 = ANY(%s)",
        (hashes,),
    ).fetchall()
    recorded = {(r["sha256"].strip(), r["source_path"]) for r in rows}
    originals = {
        r["sha256"].strip(): {"document_id": r["document_id"], "file_name": r["file_name"]}
        for r in rows
        if r["status"] != "skipped"
    }
    return recorded & set(pairs), originals


def _field_json(invoice: Invoice) -> dict[str, Any]:
    dumped = invoice.model_dump(mode="json", exclude={"lines", "tax_lines"})
    fields = {name: fv for name, fv in dumped.items() if fv is not None}
    fields["tax_lines"] = [t.model_dump(mode="json") for t in invoice.tax_lines]
    return fields


def _min_confidence(invoice: Invoice) -> float | None:
    confidences = [fv.confidence for n in HEADER_FIELDS if (fv := getattr(invoice, n)) is not None]
    return min(confidences) if confidences else None


def _money(value: Any) -> Decimal | None:
    return value if isinstance(value, Decimal) else None


def _insert_document(
    conn: Conn,
    result: DocumentResult,
    run_id: uuid.UUID,
    duplicate_of: int | None = None,
) -> int:
    doc = result.document
    row = conn.execute(
        "INSERT INTO documents (sha256, source_path, file_name, media_type, size_bytes, pages,"
        " status, text_methods, errors, timings, first_run_id, duplicate_of)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING document_id",
        (
            doc.sha256 or None,
            str(doc.path),
            doc.path.name,
            doc.media_type,
            doc.size_bytes,
            doc.pages,
            result.status.value,
            result.text_methods,
            Jsonb([e.model_dump(mode="json") for e in result.errors]),
            Jsonb(result.timings),
            run_id,
            duplicate_of,
        ),
    ).fetchone()
    assert row is not None
    return int(row["document_id"])


def _insert_invoice(
    conn: Conn, document_id: int, result: DocumentResult, run_id: uuid.UUID
) -> None:
    inv = result.invoice
    assert inv is not None
    match = result.vendor_match
    conn.execute(
        "INSERT INTO invoices (document_id, run_id, document_type, vendor_name, vendor_vat_id,"
        " iban, invoice_number, invoice_date, due_date, po_number, currency, subtotal, tax, total,"
        " amount_due, vendor_id, vendor_match, fields, checks, classification, min_confidence,"
        " status, po_match, duplicates) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
        " %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            document_id,
            run_id,
            inv.value("document_type"),
            inv.value("vendor_name"),
            inv.value("vendor_vat_id"),
            inv.value("iban"),
            inv.value("invoice_number"),
            inv.value("invoice_date"),
            inv.value("due_date"),
            inv.value("po_number"),
            _currency(inv.value("currency")),
            _money(inv.value("subtotal")),
            _money(inv.value("tax")),
            _money(inv.value("total")),
            _money(inv.value("amount_due")),
            match.vendor_id if match else None,
            Jsonb(match.model_dump(mode="json")) if match else None,
            Jsonb(_field_json(inv)),
            Jsonb([c.model_dump(mode="json") for c in result.checks]),
            Jsonb(result.classification) if result.classification is not None else None,
            _min_confidence(inv),
            "exception" if result.is_exception else "staged",
            Jsonb(result.po_match) if result.po_match is not None else None,
            Jsonb(result.duplicates),
        ),
    )
    _insert_lines(conn, document_id, inv.lines)


def _currency(code: Any) -> str | None:
    return code if isinstance(code, str) and len(code) == 3 else None


def _insert_lines(conn: Conn, document_id: int, lines: Sequence[LineItem]) -> None:
    def v(fv: Any) -> Any:
        return None if fv is None else fv.value

    rows = [
        (
            document_id,
            no,
            v(line.description),
            v(line.sku),
            v(line.quantity),
            v(line.unit),
            v(line.unit_price),
            v(line.tax_rate),
            v(line.line_total),
            Jsonb(line.model_dump(mode="json")),
        )
        for no, line in enumerate(lines, start=1)
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO invoice_lines (document_id, line_no, description, sku, quantity, unit,"
                " unit_price, tax_rate, line_total, fields)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )


def stage_result(
    conn: Conn,
    result: DocumentResult,
    run_id: uuid.UUID,
    exception_details: dict[str, Any] | None = None,
) -> int | None:
    """Stage one document's result in one transaction; returns its document id.

    Returns None when this file (same bytes, same path) is already recorded, or when a document
    with the same bytes is already staged (a concurrent or repeated run): the earlier row wins.
    """
    doc = result.document
    with conn.transaction():
        if doc.sha256:
            recorded, originals = known_files(conn, [(doc.sha256, str(doc.path))])
            if recorded or doc.sha256 in originals:
                return None
        document_id = _insert_document(conn, result, run_id)
        if result.invoice is not None and result.status != Status.FAILED:
            _insert_invoice(conn, document_id, result, run_id)
        audit(
            conn,
            "document_staged" if result.status != Status.FAILED else "document_failed",
            document_id=document_id,
            run_id=run_id,
            detail={
                "file": doc.path.name,
                "sha256": doc.sha256,
                "status": result.status.value,
                "errors": [e.model_dump(mode="json") for e in result.errors],
                "vendor_id": result.vendor_match.vendor_id if result.vendor_match else None,
            },
        )
        if result.is_exception:
            reasons = sorted({r.value for r in result.reasons}) or ["PROCESSING_ERROR"]
            open_exception(conn, document_id, run_id, reasons, exception_details or {})
    return document_id


def stage_identical_file(conn: Conn, document: Document, run_id: uuid.UUID) -> int | None:
    """Record a file whose bytes equal an already staged document's, under another name: a
    `skipped` document pointing at the original, with a DUPLICATE_SUSPECTED exception.

    Returns None when this path is already recorded, or when no original is staged (then the
    file is an ordinary new document)."""
    with conn.transaction():
        recorded, originals = known_files(conn, [(document.sha256, str(document.path))])
        original = originals.get(document.sha256)
        if recorded or original is None:
            return None
        result = DocumentResult(
            document=document, status=Status.SKIPPED, reasons=[ReasonCode.DUPLICATE_SUSPECTED]
        )
        document_id = _insert_document(conn, result, run_id, duplicate_of=original["document_id"])
        hit = {
            "document_id": original["document_id"],
            "kind": "exact_file",
            "score": 1.0,
            "earlier_file": original["file_name"],
            "evidence": [
                {
                    "field": "sha256",
                    "this": document.sha256,
                    "earlier": document.sha256,
                    "relation": "equal",
                    "weight": 1.0,
                }
            ],
        }
        audit(
            conn,
            "document_skipped_identical",
            document_id=document_id,
            run_id=run_id,
            detail={
                "file": document.path.name,
                "original_document_id": original["document_id"],
                "original_file": original["file_name"],
            },
        )
        open_exception(
            conn, document_id, run_id, [ReasonCode.DUPLICATE_SUSPECTED.value], {"duplicates": [hit]}
        )
    return document_id


def open_exception(
    conn: Conn,
    document_id: int,
    run_id: uuid.UUID | None,
    reasons: list[str],
    details: dict[str, Any],
) -> int:
    """Put a document in the exception queue (or add reasons to its open exception)."""
    row = conn.execute(
        "INSERT INTO exception_queue (document_id, run_id, reason_codes, details)"
        " VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (document_id) WHERE status = 'open' DO UPDATE SET"
        " reason_codes = (SELECT array_agg(DISTINCT r ORDER BY r) FROM"
        "   unnest(exception_queue.reason_codes || EXCLUDED.reason_codes) AS r),"
        " details = exception_queue.details || EXCLUDED.details, updated_at = now()"
        " RETURNING exception_id",
        (document_id, run_id, reasons, Jsonb(details)),
    ).fetchone()
    assert row is not None
    audit(
        conn,
        "exception_opened",
        document_id=document_id,
        run_id=run_id,
        detail={"exception_id": row["exception_id"], "reason_codes": reasons},
    )
    return int(row["exception_id"])


def resolve_exception(
    conn: Conn, exception_id: int, *, actor: str, resolution: str, approve: bool
) -> None:
    """A clerk closes an exception: the invoice becomes approved or rejected, and it is audited."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE exception_queue SET status = 'resolved', resolution = %s, assignee ="
            " coalesce(assignee, %s), resolved_at = now(), updated_at = now()"
            " WHERE exception_id = %s AND status = 'open' RETURNING document_id",
            (resolution, actor, exception_id),
        ).fetchone()
        if row is None:
            raise LookupError(f"no open exception {exception_id}")
        conn.execute(
            "UPDATE invoices SET status = %s, updated_at = now() WHERE document_id = %s",
            ("approved" if approve else "rejected", row["document_id"]),
        )
        audit(
            conn,
            "exception_resolved",
            actor=actor,
            document_id=row["document_id"],
            detail={"exception_id": exception_id, "resolution": resolution, "approved": approve},
        )


def open_exception_queue(conn: Conn, limit: int = 500) -> list[dict[str, Any]]:
    """The open exceptions, oldest first, with what a clerk needs to work them."""
    return conn.execute(
        "SELECT e.exception_id, e.document_id, e.reason_codes, e.details, e.assignee,"
        " e.created_at, d.file_name, d.errors, i.fields, i.vendor_id, i.total, i.currency"
        " FROM exception_queue e JOIN documents d USING (document_id)"
        " LEFT JOIN invoices i USING (document_id)"
        " WHERE e.status = 'open' ORDER BY e.created_at, e.exception_id LIMIT %s",
        (limit,),
    ).fetchall()
