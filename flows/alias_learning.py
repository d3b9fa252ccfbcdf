"""The retrain flow's vendor-alias part: learn aliases from clerks' links, score the candidate
table against the promoted one, promote only when matching gets no worse.

The guarded figures (`matchers.aliases.worse_on`): on the held-back links (k-fold, see
`matchers.aliases.cross_validate`) the candidate may not put fewer links on their vendor nor more
on another; on the confirmed invoices (linked by the pipeline, accepted, never relinked) the
full candidate table may not move fewer of them to their vendor nor more to another. The table
promoted is the one learned from every link; its held-back figures are those of the same
procedure on the links it had not seen.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np

from flows.matching import ALIASES_KIND
from invoices.records import Invoice
from matchers import aliases
from matchers.embeddings import Embedder
from matchers.master import VendorMaster
from matchers.vendor import VendorResolver
from staging import classification, matching, models, vendor_review
from staging.db import Conn

KIND = ALIASES_KIND
IDENTITY_VERSION = "vendor-aliases-none"


class _Memo:
    """An embedder that encodes each text once (the folds rebuild the master many times)."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.seen: dict[str, np.ndarray] = {}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.seen]
        if missing:
            self.seen.update(zip(missing, self.inner.encode(missing), strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self.seen[t] for t in texts])


def _invoice(fields: dict[str, Any]) -> Invoice:
    return Invoice.model_validate({**(fields or {}), "lines": []})


def _ensure_identity(conn: Conn) -> None:
    if models.promoted_json(conn, KIND)[0] is None:
        classification.save_model(
            conn, version=IDENTITY_VERSION, kind=KIND, trained_lines=0, corrections=0,
            embedder="", metrics={}, baseline=None, promote=True,
            decision="no learned aliases: the first baseline", artifact=b"{}",
        )  # fmt: skip


def retrain_aliases(
    conn: Conn, embedder: Embedder, settings: Any, version: str | None = None
) -> dict[str, Any]:
    """Learn a candidate alias table from the links, score it, record it with its figures and
    promote it only when no guarded figure gets worse. Returns what was decided."""
    _ensure_identity(conn)
    current_version, current = models.promoted_json(conn, KIND)
    rows = matching.vendor_rows(conn)
    link_rows = vendor_review.vendor_links(conn)
    links = [aliases.Link(r["link_id"], r["document_id"], r["vendor_id"], r["printed_name"],
                          r["printed_vat_id"], r["printed_iban"]) for r in link_rows]  # fmt: skip
    confirmed = vendor_review.confirmed_invoices(conn)
    invoices = {r["document_id"]: _invoice(r["fields"]) for r in [*link_rows, *confirmed]}
    memo, po_vendors = _Memo(embedder), matching.po_vendor_keys(conn)

    def resolve(table: aliases.AliasTable, docs: Sequence[int]) -> list[str | None]:
        master = VendorMaster.from_rows(aliases.apply_to_rows(rows, table))
        resolver = VendorResolver(master, memo, settings, po_vendors=po_vendors)
        return [m.vendor_id for m in resolver.resolve_many([invoices[d] for d in docs])]

    candidate = aliases.learn(links, rows)
    held_c, held_b = aliases.cross_validate(links, rows, current, resolve)
    truth = [aliases.Link(-r["document_id"], r["document_id"], r["vendor_id"]) for r in confirmed]
    docs = [r["document_id"] for r in confirmed]
    conf_c = aliases.score_links(truth, resolve(candidate, docs)) if docs else None
    conf_b = aliases.score_links(truth, resolve(current, docs)) if docs else None
    metrics = {"held_back": held_c, "confirmed": conf_c, "aliases": aliases.size(candidate)}
    baseline = {"held_back": held_b, "confirmed": conf_b, "aliases": aliases.size(current),
                "version": current_version}  # fmt: skip
    worse = aliases.worse_on(metrics, baseline)
    if aliases.same_aliases(candidate, current):
        decision = (
            f"refused: nothing changed ({aliases.size(candidate)} aliases from {len(links)} links)"
        )
    elif worse:
        decision = f"refused: worse on {', '.join(worse)}"
    else:
        decision = (
            f"promoted: {aliases.size(candidate)} aliases from {len(links)} links; held-back links"
            f" right {held_c['right']}/{held_c['links']} vs {held_b['right']}, wrong"
            f" {held_c['wrong']} vs {held_b['wrong']}"
        )
    promote = decision.startswith("promoted")
    version = version or "vendor-aliases-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    classification.save_model(
        conn, version=version, kind=KIND, trained_lines=len(links), corrections=len(links),
        embedder=embedder.name, metrics=metrics, baseline=baseline, promote=promote,
        decision=decision, artifact=json.dumps(candidate).encode("utf-8"),
    )  # fmt: skip
    return {"kind": KIND, "version": version, "promoted": promote, "decision": decision,
            "current": current_version, "metrics": metrics, "baseline": baseline}  # fmt: skip


def promoted_aliases(conn: Conn) -> tuple[str | None, aliases.AliasTable]:
    """The promoted alias table matching uses: (version, table); (None, {}) before any."""
    return models.promoted_json(conn, KIND)
