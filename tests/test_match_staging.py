"""The matching stage against real Postgres: vendor master rows and the embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

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
    master = matching.load_vendor_master(conn, embedder)
    assert embedder.calls == [3]  # two names, one alias
    assert master.embeddings is not None and master.embeddings.shape == (3, embedder.dim)

    again = matching.load_vendor_master(conn, embedder)
    assert embedder.calls == [3], "a second load reads the cache"
    assert np.allclose(again.embeddings, master.embeddings)

    insert_vendors(conn, [("V2", "Beta Druck und Medien AG", [], "DE222222222")])
    changed = matching.load_vendor_master(conn, embedder)
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
