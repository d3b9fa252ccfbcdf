"""SQL of the matching stage: vendor master rows, the vendor-embedding cache, purchase orders,
the billed-quantity ledger and prior invoices for duplicate checks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import psycopg

from matchers.embeddings import Embedder, text_key
from matchers.master import VendorMaster

log = logging.getLogger(__name__)

VENDOR_COLUMNS = "vendor_id, name, aliases, address, country, vat_id, iban, bic, email, currency"


def vendor_rows(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every vendor master row, as dicts for `VendorMaster.from_rows`."""
    return conn.execute(f"SELECT {VENDOR_COLUMNS} FROM vendors ORDER BY vendor_id").fetchall()


def cached_embeddings(conn: psycopg.Connection, model: str) -> dict[str, np.ndarray]:
    """All cached vectors of one embedding model, by text key."""
    with conn.cursor(binary=True) as cur:
        cur.execute(
            "SELECT text_key, dim, vector FROM vendor_embeddings WHERE model = %s", (model,)
        )
        return {
            r["text_key"]: np.frombuffer(r["vector"], dtype="<f4", count=r["dim"])
            for r in cur.fetchall()
        }


def store_embeddings(
    conn: psycopg.Connection, model: str, texts: Sequence[str], vectors: np.ndarray
) -> int:
    """Cache vectors of texts under their content keys (existing keys are kept)."""
    rows = [
        (model, text_key(t), t, int(v.shape[0]), v.astype("<f4").tobytes())
        for t, v in zip(texts, vectors, strict=True)
    ]
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO vendor_embeddings (model, text_key, text, dim, vector)"
            " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (model, text_key) DO NOTHING",
            rows,
        )
    return len(rows)


def prune_embeddings(conn: psycopg.Connection, model: str, keep: Iterable[str]) -> int:
    """Drop cached vectors of texts no longer in the master; returns how many were dropped."""
    cur = conn.execute(
        "DELETE FROM vendor_embeddings WHERE model = %s AND NOT (text_key = ANY(%s))",
        (model, list(keep)),
    )
    return cur.rowcount


def load_vendor_master(conn: psycopg.Connection, embedder: Embedder | None) -> VendorMaster:
    """The vendor master with its name embeddings, refreshed in the cache when it changed.

    Only texts missing from the cache (new vendors, changed names) are embedded; stale
    cache rows are pruned. Commits the cache update.
    """
    master = VendorMaster.from_rows(vendor_rows(conn))
    if embedder is None:
        return master
    keys = [text_key(t) for t in master.name_texts]
    cache = cached_embeddings(conn, embedder.name)
    missing = list(
        dict.fromkeys(t for t, k in zip(master.name_texts, keys, strict=True) if k not in cache)
    )
    if missing:
        log.info("embedding %d vendor names not in the cache", len(missing))
        vectors = embedder.encode(missing)
        store_embeddings(conn, embedder.name, missing, vectors)
        cache.update({text_key(t): v for t, v in zip(missing, vectors, strict=True)})
    pruned = prune_embeddings(conn, embedder.name, set(keys))
    conn.commit()
    if pruned:
        log.info("pruned %d stale vendor embeddings", pruned)
    matrix = (
        np.stack([cache[k] for k in keys])
        if keys
        else np.zeros((0, embedder.dim), dtype=np.float32)
    )
    master.attach_embeddings(matrix, embedder.name)
    return master
