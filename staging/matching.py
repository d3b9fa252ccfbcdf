"""SQL of the matching stage: vendor master rows, the vendor-embedding cache, purchase orders,
the billed-quantity ledger and prior invoices for duplicate checks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from matchers.duplicates import PriorInvoice
from matchers.embeddings import text_key
from matchers.normalize import normalize_po_number, po_citation
from matchers.po import BilledEntry
from matchers.po_data import BilledLedger, PoData
from staging.db import Conn

log = logging.getLogger(__name__)

# the SQL twin of matchers.normalize.normalize_po_number, indexed by migration 012
PO_NUMBER_KEY = (
    "ltrim(regexp_replace(regexp_replace(upper(po.po_number), '[^0-9A-Z]', '', 'g'),"
    " '^(PURCHASEORDER|PO|ORDER|BESTELLUNG|BESTELLNR|BEST|NR|NO)+', ''), '0')"
)
VENDOR_COLUMNS = "vendor_id, name, aliases, address, country, vat_id, iban, bic, email, currency"


def vendor_rows(conn: Conn) -> list[dict[str, Any]]:
    """Every vendor master row, as dicts for `VendorMaster.from_rows`."""
    return conn.execute(f"SELECT {VENDOR_COLUMNS} FROM vendors ORDER BY vendor_id").fetchall()


class VendorEmbeddingCache:
    """The vendor-name embedding cache in the `vendor_embeddings` table (an
    `matchers.embeddings.EmbeddingCache`); writes are committed by the caller."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def vectors(self, model: str) -> dict[str, np.ndarray]:
        """All cached vectors of one embedding model, by text key."""
        with self.conn.cursor(binary=True) as cur:
            cur.execute(
                "SELECT text_key, dim, vector FROM vendor_embeddings WHERE model = %s", (model,)
            )
            return {
                r["text_key"]: np.frombuffer(r["vector"], dtype="<f4", count=r["dim"])
                for r in cur.fetchall()
            }

    def add(self, model: str, texts: Sequence[str], vectors: np.ndarray) -> int:
        """Cache vectors of texts under their content keys (existing keys are kept)."""
        rows = [
            (model, text_key(t), t, int(v.shape[0]), v.astype("<f4").tobytes())
            for t, v in zip(texts, vectors, strict=True)
        ]
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO vendor_embeddings (model, text_key, text, dim, vector)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (model, text_key) DO NOTHING",
                rows,
            )
        return len(rows)

    def prune(self, model: str, keep: set[str]) -> int:
        """Drop cached vectors of texts no longer in the master; returns how many."""
        cur = self.conn.execute(
            "DELETE FROM vendor_embeddings WHERE model = %s AND NOT (text_key = ANY(%s))",
            (model, list(keep)),
        )
        return cur.rowcount


def po_vendor_keys(conn: Conn) -> dict[str, str]:
    """Normalised PO number -> vendor id, for every purchase order (a cited PO that exists is
    evidence of who sent the invoice)."""
    rows = conn.execute("SELECT po_number, vendor_id FROM purchase_orders").fetchall()
    return {normalize_po_number(r["po_number"]): str(r["vendor_id"]) for r in rows}


def load_po_data(
    conn: Conn,
    vendor_ids: Sequence[str] | None = None,
    po_numbers: Sequence[str] | None = None,
) -> PoData:
    """Purchase orders with their lines and received quantities: all of them, or those of the
    given vendors plus the given PO numbers (as printed: matched after normalisation, so pass
    the numbers themselves and the flow also gets the vendors' other POs)."""
    where, params = "", ()
    if vendor_ids is not None or po_numbers is not None:
        keys = [normalize_po_number(po_citation(n)) for n in po_numbers or []]
        where = (
            f" WHERE po.vendor_id = ANY(%s) OR po.po_number = ANY(%s) OR {PO_NUMBER_KEY} = ANY(%s)"
        )
        params = (list(vendor_ids or []), list(po_numbers or []), [k for k in keys if k])
    orders = conn.execute(
        "SELECT po.po_number, po.vendor_id, po.currency, po.order_date, po.status"
        f" FROM purchase_orders po{where}",
        params,
    ).fetchall()
    numbers = [o["po_number"] for o in orders]
    lines = conn.execute(
        "SELECT po_number, line_no, sku, description, quantity, unit, unit_price, tax_rate"
        " FROM purchase_order_lines WHERE po_number = ANY(%s) ORDER BY po_number, line_no",
        (numbers,),
    ).fetchall()
    received = conn.execute(
        "SELECT po_number, line_no, sum(quantity) AS quantity FROM goods_receipts"
        " WHERE po_number = ANY(%s) GROUP BY po_number, line_no",
        (numbers,),
    ).fetchall()
    return PoData.from_rows(orders, lines, received)


def billed_ledger(
    conn: Conn,
    po_numbers: Sequence[str] | None = None,
    exclude_document_id: int | None = None,
) -> BilledLedger:
    """What staged documents billed per PO line (optionally only some POs, and leaving out
    the document being re-processed)."""
    rows = conn.execute(
        "SELECT document_id, po_number, line_no, quantity FROM po_billing_ledger"
        " WHERE (%(pos)s::text[] IS NULL OR po_number = ANY(%(pos)s))"
        " AND (%(doc)s::bigint IS NULL OR document_id <> %(doc)s)",
        {"pos": None if po_numbers is None else list(po_numbers), "doc": exclude_document_id},
    ).fetchall()
    return BilledLedger(rows)


def record_billing(conn: Conn, document_id: int, entries: Iterable[BilledEntry]) -> int:
    """Write what a staged invoice bills on PO lines (replacing its earlier rows)."""
    conn.execute("DELETE FROM po_billing_ledger WHERE document_id = %s", (document_id,))
    totals: dict[tuple[str, int], list[Decimal]] = {}
    for e in entries:
        acc = totals.setdefault((e.po_number, e.line_no), [Decimal(0), Decimal(0)])
        acc[0] += e.quantity
        acc[1] += e.amount
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO po_billing_ledger (document_id, po_number, line_no, quantity, amount)"
            " VALUES (%s, %s, %s, %s, %s)",
            [(document_id, po, line, q, a) for (po, line), (q, a) in totals.items()],
        )
    return len(totals)


def duplicate_candidates(
    conn: Conn,
    *,
    vendor_id: str | None,
    total: Decimal | None,
    invoice_number: str | None,
    sha256: str | None = None,
    exclude_document_id: int | None = None,
    limit: int = 500,
) -> list[PriorInvoice]:
    """Earlier staged invoices (any batch) that share the vendor, the absolute amount, the
    printed invoice number or the file: the candidates `find_duplicates` weighs."""
    rows = conn.execute(
        "SELECT i.document_id, d.sha256, d.file_name, i.vendor_id, i.vendor_name,"
        " i.invoice_number, i.invoice_date, i.total, i.currency, i.document_type,"
        " coalesce((SELECT array_agg(l.line_total ORDER BY l.line_no) FROM invoice_lines l"
        "  WHERE l.document_id = i.document_id AND l.line_total IS NOT NULL), '{}')"
        " AS line_amounts"
        " FROM invoices i JOIN documents d USING (document_id)"
        " WHERE (%(doc)s::bigint IS NULL OR i.document_id <> %(doc)s) AND ("
        " i.vendor_id = %(vendor)s OR abs(i.total) = abs(%(total)s::numeric)"
        " OR i.invoice_number = %(number)s OR d.sha256 = %(sha)s)"
        " ORDER BY i.document_id DESC LIMIT %(limit)s",
        {
            "doc": exclude_document_id,
            "vendor": vendor_id,
            "total": total,
            "number": invoice_number,
            "sha": sha256,
            "limit": limit,
        },
    ).fetchall()
    return [PriorInvoice(**{**r, "sha256": (r["sha256"] or "").strip() or None}) for r in rows]
