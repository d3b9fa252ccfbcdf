"""The vendor master in memory, indexed for candidate generation at scale.

Three ways to find candidates for an invoice, all cheap on 50,000 vendors: exact keys (VAT id,
IBAN, e-mail domain) in dictionaries, character trigrams of the normalised name in an inverted
index, and the nearest name embeddings by a blocked matrix product.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from matchers.embeddings import Embedder, EmbeddingCache, text_key
from matchers.normalize import (
    compact_id,
    email_domain,
    legal_form,
    normalize_address,
    normalize_name,
    normalize_vat_id,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VendorRecord:
    """One vendor master row, with the normalised keys matching compares."""

    vendor_id: str
    name: str
    aliases: tuple[str, ...] = ()
    address: str | None = None
    country: str | None = None
    vat_id: str | None = None
    iban: str | None = None
    bic: str | None = None
    email: str | None = None
    currency: str | None = None
    # VAT ids and IBANs learned from clerks' links (matchers.aliases), beside the master's own
    alias_vat_ids: tuple[str, ...] = ()
    alias_ibans: tuple[str, ...] = ()
    names_normalized: tuple[str, ...] = field(default=(), compare=False)
    address_normalized: str = field(default="", compare=False)
    legal_forms: frozenset[str] = field(default=frozenset(), compare=False)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> VendorRecord:
        """A record from a vendors-table row or CSV dict (aliases as a list or `|` string)."""
        aliases = row.get("aliases") or ()
        if isinstance(aliases, str):
            aliases = [a.strip() for a in aliases.split("|") if a.strip()]
        name = str(row["name"])
        names = tuple(dict.fromkeys(n for n in (normalize_name(x) for x in [name, *aliases]) if n))
        return cls(
            vendor_id=str(row["vendor_id"]),
            name=name,
            aliases=tuple(aliases),
            address=row.get("address") or None,
            country=_strip(row.get("country")),
            vat_id=normalize_vat_id(row.get("vat_id")) or None,
            iban=compact_id(row.get("iban")) or None,
            bic=row.get("bic") or None,
            email=row.get("email") or None,
            currency=_strip(row.get("currency")),
            alias_vat_ids=tuple(
                v for v in map(normalize_vat_id, row.get("alias_vat_ids") or ()) if v
            ),
            alias_ibans=tuple(v for v in map(compact_id, row.get("alias_ibans") or ()) if v),
            names_normalized=names,
            address_normalized=normalize_address(row.get("address")),
            legal_forms=frozenset(f for f in (legal_form(x) for x in [name, *aliases]) if f),
        )


def _strip(value: Any) -> str | None:
    return str(value).strip().upper() or None if value else None


def trigrams(text: str) -> set[str]:
    """The character trigrams of a normalised name, padded so short names have some."""
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class VendorMaster:
    """The vendor records with exact-key, trigram and embedding indexes."""

    def __init__(self, records: Iterable[VendorRecord]) -> None:
        self.records: list[VendorRecord] = list(records)
        self.index_of = {r.vendor_id: i for i, r in enumerate(self.records)}
        self.by_vat: dict[str, list[int]] = defaultdict(list)
        self.by_iban: dict[str, list[int]] = defaultdict(list)
        self.by_domain: dict[str, list[int]] = defaultdict(list)
        texts: list[str] = []
        owners: list[int] = []
        for i, record in enumerate(self.records):
            for vat in dict.fromkeys([record.vat_id or "", *record.alias_vat_ids]):
                if vat:
                    self.by_vat[vat].append(i)
            for iban in dict.fromkeys([record.iban or "", *record.alias_ibans]):
                if iban:
                    self.by_iban[iban].append(i)
            if domain := email_domain(record.email):
                self.by_domain[domain].append(i)
            for name in record.names_normalized:
                texts.append(name)
                owners.append(i)
        self.name_texts = texts
        self.name_owner = np.asarray(owners, dtype=np.int32)
        self._postings, self._gram_sizes = _trigram_index(texts)
        self._address_postings, self._address_sizes = _trigram_index(
            [r.address_normalized for r in self.records]
        )
        self.by_vat_key: dict[str, list[int]] = defaultdict(list)
        for vat, indexes in self.by_vat.items():
            self.by_vat_key[_vat_key(vat)].extend(indexes)
        self.embeddings: np.ndarray | None = None
        self.embedder_name: str | None = None

    @classmethod
    def from_rows(cls, rows: Iterable[Mapping[str, Any]]) -> VendorMaster:
        """A master from rows of the vendors table (dicts)."""
        return cls(VendorRecord.from_row(r) for r in rows)

    def __len__(self) -> int:
        return len(self.records)

    def attach_embeddings(self, vectors: np.ndarray, embedder_name: str) -> None:
        """Use precomputed name embeddings, one row per `name_texts` entry (e.g. from cache)."""
        if vectors.shape[0] != len(self.name_texts):
            raise ValueError(f"{vectors.shape[0]} vectors for {len(self.name_texts)} names")
        self.embeddings = np.ascontiguousarray(vectors, dtype=np.float32)
        self.embedder_name = embedder_name

    def embed_names(self, embedder: Embedder, cache: EmbeddingCache) -> int:
        """Attach the name embeddings, reading them from `cache` and embedding only the texts
        it lacks (new vendors, changed names); stale cache entries are pruned. Returns how many
        stale entries were pruned."""
        keys = [text_key(t) for t in self.name_texts]
        vectors = cache.vectors(embedder.name)
        missing = list(
            dict.fromkeys(t for t, k in zip(self.name_texts, keys, strict=True) if k not in vectors)
        )
        if missing:
            log.info("embedding %d vendor names not in the cache", len(missing))
            fresh = embedder.encode(missing)
            cache.add(embedder.name, missing, fresh)
            vectors.update({text_key(t): v for t, v in zip(missing, fresh, strict=True)})
        pruned = cache.prune(embedder.name, set(keys))
        if pruned:
            log.info("pruned %d stale vendor embeddings", pruned)
        matrix = (
            np.stack([vectors[k] for k in keys])
            if keys
            else np.zeros((0, embedder.dim), dtype=np.float32)
        )
        self.attach_embeddings(matrix, embedder.name)
        return pruned

    def ensure_embeddings(self, embedder: Embedder) -> None:
        """Compute the name embeddings with `embedder` unless they are already attached."""
        if self.embeddings is None or self.embedder_name != embedder.name:
            self.attach_embeddings(embedder.encode(self.name_texts), embedder.name)

    def exact_candidates(self, vat_id: str, iban: str, domain: str) -> dict[int, list[str]]:
        """Vendors sharing an exact key with the invoice, with the keys they share."""
        found: dict[int, list[str]] = defaultdict(list)
        for key, index, label in (
            (vat_id, self.by_vat, "vat_id"),
            (iban, self.by_iban, "iban"),
            (domain, self.by_domain, "email_domain"),
        ):
            for i in index.get(key, ()) if key else ():
                found[i].append(label)
        if vat_id and not found:  # a VAT id misread by one character (O/0, a digit more)
            for variant in _one_off(_vat_key(vat_id)):
                for i in self.by_vat_key.get(variant, ()):
                    found[i].append("vat_id_near")
        return found

    def address_candidates(self, address: str, k: int) -> list[tuple[int, float]]:
        """Up to `k` vendors whose addresses share the most trigrams with `address`."""
        rows, scores = _trigram_search(
            self._address_postings, self._address_sizes, len(self.records), address
        )
        order = np.argsort(-scores)[:k]
        return [(int(rows[j]), float(scores[j])) for j in order]

    def trigram_candidates(self, name: str, k: int) -> list[tuple[int, float]]:
        """Up to `k` vendors whose names share the most trigrams (Jaccard) with `name`.

        Trigrams shared by a large share of the master (`" mu"`, `"ter"`) are skipped unless
        nothing rarer is left: they cost the most and tell the least.
        """
        rows, jaccard = _trigram_search(
            self._postings, self._gram_sizes, len(self.name_texts), name
        )
        return self._best_per_vendor(rows, jaccard, k) if len(rows) else []

    def _best_per_vendor(
        self, rows: np.ndarray, scores: np.ndarray, k: int
    ) -> list[tuple[int, float]]:
        take = min(len(rows), k * 3)
        top = (
            np.argpartition(-scores, take - 1)[:take] if take < len(rows) else np.arange(len(rows))
        )
        best: dict[int, float] = {}
        for j in top[np.argsort(-scores[top])]:
            owner = int(self.name_owner[rows[j]])
            if owner not in best:
                best[owner] = float(scores[j])
        return list(best.items())[:k]

    def embedding_candidates(
        self, queries: np.ndarray, k: int, block: int = 256
    ) -> list[list[tuple[int, float]]]:
        """For each query vector, up to `k` vendors by best name cosine (blocked top-k)."""
        if self.embeddings is None:
            raise RuntimeError("vendor embeddings are not attached")
        out: list[list[tuple[int, float]]] = []
        all_rows = np.arange(len(self.name_texts))
        for start in range(0, len(queries), block):
            sims = queries[start : start + block] @ self.embeddings.T
            for row in sims:
                out.append(self._best_per_vendor(all_rows, row, k))
        return out

    def name_cosine(self, query: np.ndarray, vendor_index: int) -> float:
        """The best cosine between a query vector and any name of one vendor."""
        assert self.embeddings is not None
        rows = self._rows_of(vendor_index)
        return float(np.max(self.embeddings[rows] @ query)) if len(rows) else 0.0

    def _rows_of(self, vendor_index: int) -> np.ndarray:
        if not hasattr(self, "_row_start"):
            starts = np.searchsorted(self.name_owner, np.arange(len(self.records) + 1))
            self._row_start = starts
        return np.arange(self._row_start[vendor_index], self._row_start[vendor_index + 1])


def _trigram_index(texts: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Postings (trigram -> rows) and trigram counts per row."""
    postings: dict[str, list[int]] = defaultdict(list)
    sizes = np.zeros(len(texts), dtype=np.int32)
    for row, text in enumerate(texts):
        if not text:
            continue
        grams = trigrams(text)
        sizes[row] = len(grams)
        for gram in grams:
            postings[gram].append(row)
    return {g: np.asarray(r, dtype=np.int32) for g, r in postings.items()}, sizes


def _trigram_search(
    postings: dict[str, np.ndarray], sizes: np.ndarray, n_rows: int, text: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rows sharing trigrams with `text` and their (approximate) Jaccard similarity.

    Trigrams shared by a large share of the rows are skipped unless nothing rarer is left:
    they cost the most and tell the least.
    """
    query = trigrams(text) if text else set()
    found = sorted((postings[g] for g in query if g in postings), key=len)
    if not found:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    common = max(200, n_rows // 50)
    used = [p for p in found if len(p) <= common] or found[:3]
    counts = np.bincount(np.concatenate(used), minlength=n_rows)
    rows = np.flatnonzero(counts >= max(1, len(used) // 4))
    hits = counts[rows]
    return rows, hits / (len(used) + sizes[rows] * len(used) / len(query) - hits)


_VAT_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _vat_key(vat: str) -> str:
    """A VAT id with O/0 and I/1 confusions folded after the country prefix."""
    return vat[:2] + vat[2:].translate(_VAT_CONFUSABLE)


def _one_off(key: str) -> list[str]:
    """The key itself and every variant with one character dropped (a digit read twice)."""
    return [key] + [key[:i] + key[i + 1 :] for i in range(2, len(key))]


def records_by_id(master: VendorMaster, ids: Sequence[str]) -> list[VendorRecord]:
    """The records of the given vendor ids that exist in the master."""
    return [master.records[master.index_of[i]] for i in ids if i in master.index_of]
