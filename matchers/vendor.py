"""Vendor resolution: link an invoice to one vendor of the master, or to none.

Candidates come from exact keys (VAT id, IBAN, e-mail domain), name trigrams and name
embeddings; each candidate gets a calibrated probability from `vendor_model` with the
per-feature scores that explain it. The best candidate is linked only at or above the
threshold: an unknown vendor is VENDOR_UNKNOWN, never the nearest one. A linked vendor whose
master IBAN differs from the invoice's is BANK_DETAILS_CHANGED.

The model is only run when it can change the answer: when an exact key already gives a
decisive probability, the name embedding is not computed (the cheap path of the cascade).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from stdnum import iban as iban_check

from invoices.records import Invoice, ReasonCode, VendorMatch
from matchers.embeddings import Embedder
from matchers.master import VendorMaster, VendorRecord
from matchers.normalize import (
    compact_id,
    country_of,
    email_domain,
    legal_form,
    normalize_address,
    normalize_name,
    normalize_po_number,
    normalize_vat_id,
    po_citation,
)
from matchers.vendor_model import Explanation, VendorModel, load_vendor_model

__all__ = ["InvoiceKeys", "VendorMaster", "VendorRecord", "VendorResolver", "compare"]


@dataclass(frozen=True)
class InvoiceKeys:
    """The vendor evidence an invoice carries, normalised once."""

    name: str
    legal_form: str
    address: str
    vat_id: str
    iban: str
    domain: str
    country: str
    currency: str
    po_key: str = ""
    # order-like numbers printed without a label (see extractors.fields.references), normalised
    references: tuple[str, ...] = ()

    @classmethod
    def from_invoice(cls, invoice: Invoice) -> InvoiceKeys:
        """The keys of an extracted invoice (empty strings for absent fields)."""
        vat, iban = invoice.value("vendor_vat_id"), invoice.value("iban")
        return cls(
            name=normalize_name(invoice.value("vendor_name")),
            legal_form=legal_form(invoice.value("vendor_name")),
            address=normalize_address(invoice.value("vendor_address")),
            vat_id=normalize_vat_id(vat),
            iban=compact_id(iban),
            domain=email_domain(invoice.value("vendor_email")),
            country=country_of(vat, iban),
            currency=(invoice.value("currency") or "").upper(),
            po_key=normalize_po_number(po_citation(invoice.value("po_number"))),
            references=tuple(
                k for r in invoice.references if (k := normalize_po_number(po_citation(r)))
            ),
        )


def _key_score(a: str, b: str | None) -> float | None:
    """1 equal, 0.5 one character apart (an OCR slip), 0 different, None when one is absent."""
    if not a or not b:
        return None
    if a == b:
        return 1.0
    return 0.5 if len(a) > 6 and Levenshtein.distance(a, b, score_cutoff=1) <= 1 else 0.0


def _best_key_score(a: str, own: str | None, learned: Sequence[str]) -> float | None:
    """The key score against the master's value and any learned alias of it (the best one)."""
    scores = [s for b in (own, *learned) if (s := _key_score(a, b)) is not None]
    return max(scores) if scores else None


def compare(
    keys: InvoiceKeys, record: VendorRecord, cosine: float | None, po_vendor: str | None = None
) -> dict[str, float | None]:
    """The per-feature similarity scores of an invoice against one vendor record.

    `po_vendor` is the vendor of the purchase order the invoice cites, when that PO exists.
    """
    name = (
        max(
            (
                max(fuzz.ratio(keys.name, n), fuzz.token_sort_ratio(keys.name, n)) / 100.0
                for n in record.names_normalized
            ),
            default=0.0,
        )
        if keys.name
        else None
    )
    address = (
        fuzz.token_set_ratio(keys.address, record.address_normalized) / 100.0
        if keys.address and record.address_normalized
        else None
    )
    vendor_domain = email_domain(record.email)
    blended = name if name is None or cosine is None else (name + max(0.0, cosine)) / 2
    return {
        "name": blended,  # what the model weighs: one name feature, so it counts once
        "name_fuzzy": name,
        "name_embedding": cosine,
        # another legal form under the same name is another company (a look-alike)
        "legal_form": (
            float(keys.legal_form in record.legal_forms)
            if keys.legal_form and record.legal_forms
            else None
        ),
        "address": address,
        "vat_id": _best_key_score(keys.vat_id, record.vat_id, record.alias_vat_ids),
        "iban": _best_key_score(keys.iban, record.iban, record.alias_ibans),
        "email_domain": _key_score(keys.domain.replace(".", ""), vendor_domain.replace(".", "")),
        "country": (
            float(keys.country == record.country) if keys.country and record.country else None
        ),
        "currency": (
            float(keys.currency == record.currency) if keys.currency and record.currency else None
        ),
        "po_vendor": None if po_vendor is None else float(record.vendor_id == po_vendor),
    }


@dataclass
class _Scored:
    index: int
    via: list[str]
    explanation: Explanation


class VendorMatcher(Protocol):
    """The vendor-matching stage: the vendor master record an invoice comes from (or none),
    with the per-feature scores that explain it."""

    def resolve(self, invoice: Invoice) -> VendorMatch:
        """The best vendor for one invoice."""
        ...


class VendorResolver:
    """Links invoices to the vendor master; `resolve` for one, `resolve_many` for a batch."""

    def __init__(
        self,
        master: VendorMaster,
        embedder: Embedder | None,
        settings: Any,
        model: VendorModel | None = None,
        po_vendors: Mapping[str, str] | None = None,
    ) -> None:
        self.master = master
        # normalised PO number -> vendor id: a cited PO that exists names its vendor
        self.po_vendors: Mapping[str, str] = po_vendors or {}
        self.embedder = embedder
        self.model = model or load_vendor_model()
        self.threshold = float(getattr(settings, "vendor_match_threshold", 0.5))
        self.k = int(getattr(settings, "vendor_candidates", 10))
        self.decisive = float(getattr(settings, "vendor_decisive_probability", 0.999))
        if embedder is not None:
            master.ensure_embeddings(embedder)

    def resolve(self, invoice: Invoice) -> VendorMatch:
        """The vendor of one invoice, with the scores and candidates that explain it."""
        return self.resolve_many([invoice])[0]

    def resolve_many(self, invoices: Sequence[Invoice]) -> list[VendorMatch]:
        """Vendors of a batch of invoices: embeddings are computed in one batch, only for the
        invoices an exact key did not already decide."""
        keys = [InvoiceKeys.from_invoice(i) for i in invoices]
        results: list[VendorMatch | None] = [None] * len(keys)
        undecided: list[int] = []
        for n, key in enumerate(keys):
            exact = dict(self._exact_candidates(key))
            scored = self._score(key, exact, None) if exact else []
            if scored and scored[0].explanation.probability >= self.decisive:
                results[n] = self._decide(key, scored)  # an exact key settled it
            else:
                undecided.append(n)
        vectors = self._encode([keys[n].name for n in undecided])
        neighbours = (
            self.master.embedding_candidates(vectors, self.k)
            if vectors is not None and len(undecided)
            else [[] for _ in undecided]
        )
        for row, n in enumerate(undecided):
            candidates = self._cheap_candidates(keys[n])
            for index, _cos in neighbours[row]:
                candidates.setdefault(index, [])
            query = vectors[row] if vectors is not None else None
            results[n] = self._decide(keys[n], self._score(keys[n], candidates, query))
        return [r for r in results if r is not None]

    def training_pairs(
        self, invoices: Sequence[Invoice], truth: Sequence[str | None]
    ) -> list[tuple[dict[str, float | None], bool]]:
        """(scores, is_match) for every candidate of every invoice, all generators on, plus the
        true vendor when no generator found it: the input of `fit_vendor_model`."""
        keys = [InvoiceKeys.from_invoice(i) for i in invoices]
        vectors = self._encode([k.name for k in keys])
        neighbours = (
            self.master.embedding_candidates(vectors, self.k)
            if vectors is not None
            else [[] for _ in keys]
        )
        pairs: list[tuple[dict[str, float | None], bool]] = []
        for row, (key, vendor_id) in enumerate(zip(keys, truth, strict=True)):
            candidates = set(self._cheap_candidates(key)) | {i for i, _ in neighbours[row]}
            if vendor_id in self.master.index_of:
                candidates.add(self.master.index_of[vendor_id])
            for index in candidates:
                record = self.master.records[index]
                cosine = (
                    self.master.name_cosine(vectors[row], index)
                    if vectors is not None and key.name and record.names_normalized
                    else None
                )
                scores = compare(key, record, cosine, self._po_vendor(key))
                pairs.append((scores, record.vendor_id == vendor_id))
        return pairs

    def _encode(self, names: list[str]) -> np.ndarray | None:
        if self.embedder is None or self.master.embeddings is None:
            return None
        unique = list(dict.fromkeys(names))
        vectors = self.embedder.encode(unique) if unique else np.zeros((0, self.embedder.dim))
        position = {name: i for i, name in enumerate(unique)}
        return vectors[[position[n] for n in names]] if names else vectors

    def _po_vendor(self, key: InvoiceKeys) -> str | None:
        """The vendor of the PO the invoice cites: under its label, else one printed without
        a label that is a known PO number (only when all such numbers name one vendor)."""
        if key.po_key:
            return self.po_vendors.get(key.po_key)
        vendors = {v for r in key.references if (v := self.po_vendors.get(r)) is not None}
        return vendors.pop() if len(vendors) == 1 else None

    def _exact_candidates(self, key: InvoiceKeys) -> dict[int, list[str]]:
        candidates = self.master.exact_candidates(key.vat_id, key.iban, key.domain)
        po_vendor = self._po_vendor(key)
        if po_vendor is not None and po_vendor in self.master.index_of:
            candidates.setdefault(self.master.index_of[po_vendor], []).append("po_number")
        return candidates

    def _cheap_candidates(self, key: InvoiceKeys) -> dict[int, list[str]]:
        candidates = self._exact_candidates(key)
        for index, _jaccard in self.master.trigram_candidates(key.name, self.k):
            candidates.setdefault(index, [])
        for index, _jaccard in self.master.address_candidates(key.address, 3):
            candidates.setdefault(index, [])
        return dict(candidates)

    def _score(
        self, key: InvoiceKeys, candidates: dict[int, list[str]], query: np.ndarray | None
    ) -> list[_Scored]:
        scored = []
        for index, via in candidates.items():
            record = self.master.records[index]
            cosine = None
            if key.name and query is not None and record.names_normalized:
                cosine = self.master.name_cosine(query, index)
            explanation = self.model.explain(compare(key, record, cosine, self._po_vendor(key)))
            scored.append(_Scored(index, via, explanation))
        scored.sort(key=lambda s: (-s.explanation.log_odds, self.master.records[s.index].vendor_id))
        return scored

    def _decide(self, key: InvoiceKeys, scored: list[_Scored]) -> VendorMatch:
        candidates = [self._candidate(s) for s in scored[:3]]
        if not scored or scored[0].explanation.probability < self.threshold:
            best = scored[0].explanation if scored else None
            return VendorMatch(
                method="none",
                probability=best.probability if best else 0.0,
                scores=_scores(best) if best else {},
                candidates=candidates,
                reasons=[ReasonCode.VENDOR_UNKNOWN],
            )
        top = scored[0]
        record = self.master.records[top.index]
        reasons = (
            [ReasonCode.BANK_DETAILS_CHANGED] if bank_details_changed(key.iban, record) else []
        )
        return VendorMatch(
            vendor_id=record.vendor_id,
            vendor_name=record.name,
            method=_method(top),
            probability=round(top.explanation.probability, 6),
            scores=_scores(top.explanation),
            candidates=candidates,
            reasons=reasons,
        )

    def _candidate(self, scored: _Scored) -> dict[str, Any]:
        record = self.master.records[scored.index]
        return {
            "vendor_id": record.vendor_id,
            "name": record.name,
            "probability": round(scored.explanation.probability, 6),
            "via": scored.via,
            "scores": scored.explanation.scores,
            "weights": scored.explanation.contributions,
        }


def _scores(explanation: Explanation) -> dict[str, float]:
    out = dict(explanation.scores)
    out.update({f"weight.{k}": round(v, 4) for k, v in explanation.contributions.items()})
    out["log_odds"] = round(explanation.log_odds, 4)
    return out


def _method(scored: _Scored) -> str:
    scores = scored.explanation.scores
    for feature in ("vat_id", "iban", "email_domain", "po_vendor"):
        if scores.get(feature) == 1.0:
            return feature
    return "similarity"


def bank_details_changed(invoice_iban: str, record: VendorRecord) -> bool:
    """Whether the invoice asks for payment to an account other than the master's.

    A checksum-invalid IBAN one or two characters from the master's is an extraction slip
    (validation reports IBAN_INVALID), not a new account.
    """
    if not invoice_iban or not record.iban or invoice_iban == record.iban:
        return False
    if not iban_check.is_valid(invoice_iban):
        return Levenshtein.distance(invoice_iban, record.iban) > 2
    return True
