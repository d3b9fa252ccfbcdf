"""The matching stage against real Postgres: vendor master rows and the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from flows.matching import load_vendor_master
from invoices.settings import load_settings
from matchers.embeddings import HashingEmbedder, load_embedder, packaged_model_path
from staging import matching

pytestmark = pytest.mark.db

VENDORS = [
    ("V1", "Alpha Logistik GmbH", ["Alpha Logistics"], "DE111111111"),
    ("V2", "Beta Druckerei AG", [], "DE222222222"),
]


def insert_vendors(conn, rows) -> None:
    for vendor_id, name, aliases, vat in rows:
        conn.execute(
            "INSERT INTO vendors (vendor_id, name, aliases, vat_id) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (vendor_id) DO UPDATE SET name = excluded.name,"
            " aliases = excluded.aliases",
            (vendor_id, name, aliases, vat),
        )
    conn.commit()


class CountingEmbedder(HashingEmbedder):
    """Counts how many texts it was asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def encode(self, texts):
        self.calls.append(len(texts))
        return super().encode(texts)


def test_embeddings_are_cached_and_refreshed_when_the_master_changes(conn) -> None:
    insert_vendors(conn, VENDORS)
    embedder = CountingEmbedder()
    master = load_vendor_master(conn, embedder)
    assert embedder.calls == [3]  # two names, one alias
    assert master.embeddings is not None and master.embeddings.shape == (3, embedder.dim)

    again = load_vendor_master(conn, embedder)
    assert embedder.calls == [3], "a second load reads the cache"
    assert np.allclose(again.embeddings, master.embeddings)

    insert_vendors(conn, [("V2", "Beta Druck und Medien AG", [], "DE222222222")])
    changed = load_vendor_master(conn, embedder)
    assert embedder.calls == [3, 1], "only the changed name is embedded"
    stored = conn.execute("SELECT count(*) AS n FROM vendor_embeddings").fetchone()["n"]
    assert stored == 3, "the old name's vector was pruned"
    row = changed.name_texts.index("beta druck medien")
    assert np.allclose(changed.embeddings[row], embedder.encode(["beta druck medien"])[0])


def test_packaged_minilm_loads_offline_and_ranks_names() -> None:
    assert (packaged_model_path() / "model.safetensors").exists()
    embedder = load_embedder(load_settings())
    vectors = embedder.encode(["alpha logistics", "alpha logistik", "beta printing house"])
    assert vectors.shape == (3, 384)
    assert np.allclose((vectors**2).sum(axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def _po_master(conn) -> None:
    conn.execute("INSERT INTO vendors (vendor_id, name) VALUES ('V1', 'Alpha'), ('V2', 'Beta')")
    conn.execute(
        "INSERT INTO purchase_orders (po_number, vendor_id, currency, status) VALUES"
        " ('PO-1', 'V1', 'EUR', 'open'), ('PO-2', 'V1', 'EUR', 'closed'),"
        " ('PO-3', 'V2', 'EUR', 'open')"
    )
    conn.execute(
        "INSERT INTO purchase_order_lines (po_number, line_no, description, quantity, unit_price)"
        " VALUES ('PO-1', 1, 'Copy paper', 10, 4.5), ('PO-1', 2, 'Toner', 2, 89),"
        " ('PO-2', 1, 'Chair', 1, 300), ('PO-3', 1, 'Transport', 5, 80)"
    )
    conn.execute(
        "INSERT INTO goods_receipts (receipt_id, po_number, line_no, quantity) VALUES"
        " ('GR1', 'PO-1', 1, 6), ('GR2', 'PO-1', 1, 4), ('GR3', 'PO-1', 2, 1)"
    )


def _document(conn, n: int, **invoice) -> int:
    doc = conn.execute(
        "INSERT INTO documents (sha256, source_path, file_name, media_type, size_bytes, status)"
        " VALUES (%s, %s, %s, 'application/pdf', 1, 'success') RETURNING document_id",
        (f"{n:064d}", f"/in/{n}.pdf", f"{n}.pdf"),
    ).fetchone()["document_id"]
    columns = ", ".join(invoice)
    conn.execute(
        f"INSERT INTO invoices (document_id, {columns}) VALUES (%s{', %s' * len(invoice)})",
        (doc, *invoice.values()),
    )
    return doc


def test_po_data_ledger_and_duplicate_candidates(conn) -> None:
    from decimal import Decimal

    from matchers.po import BilledEntry

    _po_master(conn)
    data = matching.load_po_data(conn)
    assert set(data.orders) == {"PO-1", "PO-2", "PO-3"}
    assert data.orders["PO-1"].line(1).received == Decimal("10")
    assert data.orders["PO-2"].status == "closed"
    only_v2 = matching.load_po_data(conn, vendor_ids=["V2"], po_numbers=["PO-2"])
    assert set(only_v2.orders) == {"PO-2", "PO-3"}
    as_printed = matching.load_po_data(conn, vendor_ids=[], po_numbers=["po 0001"])
    assert set(as_printed.orders) == {"PO-1"}, "found by the normalised number"

    d1 = _document(conn, 1, vendor_id="V1", invoice_number="A-1", total=Decimal("100.00"))
    d2 = _document(conn, 2, vendor_id="V2", invoice_number="B-7", total=Decimal("-55.00"))
    _document(conn, 3, vendor_id="V2", invoice_number="B-8", total=Decimal("12.00"))
    matching.record_billing(
        conn,
        d1,
        [
            BilledEntry(po_number="PO-1", line_no=1, quantity=Decimal("3"), amount=Decimal("13.5")),
            BilledEntry(po_number="PO-1", line_no=1, quantity=Decimal("2"), amount=Decimal("9")),
        ],
    )
    matching.record_billing(
        conn,
        d2,
        [BilledEntry(po_number="PO-1", line_no=1, quantity=Decimal("4"), amount=Decimal("18"))],
    )
    matching.record_billing(
        conn,
        d1,
        [BilledEntry(po_number="PO-1", line_no=1, quantity=Decimal("5"), amount=Decimal("22.5"))],
    )
    assert matching.billed_ledger(conn).billed("PO-1", 1) == Decimal("9")
    assert matching.billed_ledger(conn, exclude_document_id=d2).billed("PO-1", 1) == Decimal("5")
    assert matching.billed_ledger(conn, po_numbers=["PO-3"]).billed("PO-1", 1) == Decimal("0")

    found = matching.duplicate_candidates(
        conn, vendor_id="V9", total=Decimal("55.00"), invoice_number="A-1", exclude_document_id=None
    )
    assert sorted(p.document_id for p in found) == [d1, d2]
    assert {p.invoice_number for p in found} == {"A-1", "B-7"}
    by_vendor = matching.duplicate_candidates(
        conn, vendor_id="V2", total=None, invoice_number=None, exclude_document_id=d2
    )
    assert [p.invoice_number for p in by_vendor] == ["B-8"]
