"""The history backend: GL account and cost centre learnt from already-coded invoice lines.

Each line is the embedding of its description plus a one-hot of its vendor. Two views are
blended: a multinomial logistic regression (generalises to new vendors and new wordings) and a
nearest-neighbour vote over the coded lines of the same vendor (follows that vendor's habit, and
names the precedent lines it follows). The blend is calibrated by a temperature fitted on the
held-out, most recent invoices, so that "0.9" means right nine times in ten.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import numpy as np
from sklearn.linear_model import LogisticRegression

from classifiers.records import Candidate, LineQuery, Suggestion
from classifiers.store import Embedder

VENDOR_WEIGHT = 0.6
KNN_K = 8
KNN_SHARPNESS = 20.0
BLEND = 0.5  # share of the logistic regression in the blend


@dataclass(frozen=True)
class CodedLine:
    """One coded line of history (or a clerk's correction)."""

    invoice_id: str
    line_no: int
    vendor_id: str | None
    description: str
    gl_account: str
    cost_centre: str | None = None
    amount: Decimal | None = None
    invoice_date: date | None = None
    weight: float = 1.0


@dataclass
class _Head:
    """One target (GL account or cost centre): classifier, classes and reference labels."""

    classes: list[str]
    clf: LogisticRegression | None
    ref_labels: np.ndarray  # class index per reference line, -1 when unlabelled
    temperature: float = 1.0

    def distribution(self, x: np.ndarray, sims: np.ndarray, same_vendor: np.ndarray) -> np.ndarray:
        """Calibrated class probabilities for each query row."""
        n, k = x.shape[0], len(self.classes)
        if k <= 1:
            return np.ones((n, max(k, 1)))
        p_lr = np.full((n, k), 1.0 / k)
        if self.clf is not None:
            p_lr[:] = 0.0
            p_lr[:, self.clf.classes_] = self.clf.predict_proba(x)
        p_knn = _knn_vote(sims, same_vendor, self.ref_labels, k)
        blended = BLEND * p_lr + (1.0 - BLEND) * p_knn
        return _temper(blended, self.temperature)


@dataclass
class HistoryModel:
    """A trained history model; pickled into Postgres as one version."""

    version: str
    embedder_name: str
    vendors: dict[str, int]
    gl: _Head
    cc: _Head
    ref_embeddings: np.ndarray  # float16, one row per coded line
    ref_vendor: np.ndarray  # vendor index per coded line
    ref_ids: list[str]
    metrics: dict[str, float] = field(default_factory=dict)
    ref_texts: list[str] = field(default_factory=list)
    ref_vendors: dict[str, int] = field(default_factory=dict)  # vendor -> code in ref_vendor

    @property
    def gl_accounts(self) -> list[str]:
        """The GL accounts this model can suggest."""
        return self.gl.classes

    def has_history(self, vendor_id: str | None) -> bool:
        """Whether the vendor has coded lines in this model's history."""
        return vendor_id is not None and vendor_id in (self.ref_vendors or self.vendors)

    def suggest(
        self, queries: list[LineQuery], embedder: Embedder, top_n: int = 3
    ) -> list[tuple[Suggestion, Suggestion]]:
        """(GL suggestion, cost-centre suggestion) per query line, with cited precedents."""
        if not queries:
            return []
        emb = embedder.encode([_text(q.description) for q in queries])
        x = self._features(emb, [q.vendor_id for q in queries])
        sims, same = self._similarities(emb, [q.vendor_id for q in queries])
        p_gl = self.gl.distribution(x, sims, same)
        p_cc = self.cc.distribution(x, sims, same)
        out = []
        for row in range(len(queries)):
            gl = self._suggestion(self.gl, p_gl[row], top_n)
            gl.precedents = self._precedents(sims[row], same[row], gl.code)
            cc = self._suggestion(self.cc, p_cc[row], top_n)
            out.append((gl, cc))
        return out

    def _features(self, emb: np.ndarray, vendor_ids: list[str | None]) -> np.ndarray:
        onehot = np.zeros((emb.shape[0], len(self.vendors)), dtype=np.float32)
        for row, vid in enumerate(vendor_ids):
            if vid in self.vendors:
                onehot[row, self.vendors[vid]] = VENDOR_WEIGHT
        return np.hstack([emb.astype(np.float32), onehot])

    def _similarities(
        self, emb: np.ndarray, vendor_ids: list[str | None]
    ) -> tuple[np.ndarray, np.ndarray]:
        sims = emb.astype(np.float32) @ self.ref_embeddings.astype(np.float32).T
        codes = self.ref_vendors or self.vendors
        idx = np.array([codes.get(v, -2) if v else -2 for v in vendor_ids])
        same = self.ref_vendor[None, :] == idx[:, None]
        return sims, same

    def _suggestion(self, head: _Head, probs: np.ndarray, top_n: int) -> Suggestion:
        order = np.argsort(-probs)[:top_n]
        top = [
            Candidate(code=head.classes[i], probability=round(float(probs[i]), 4)) for i in order
        ]
        return Suggestion(
            code=top[0].code if top else None,
            confidence=top[0].probability if top else 0.0,
            top=top,
            backend="history",
            model_version=self.version,
        )

    def _precedents(self, sims: np.ndarray, same: np.ndarray, code: str | None) -> list[str]:
        if code is None or code not in self.gl.classes:
            return []
        wanted = self.gl.classes.index(code)
        mask = self.gl.ref_labels == wanted
        if (same & mask).any():
            mask = same & mask
        scored = np.where(mask, sims, -np.inf)
        best = np.argsort(-scored)[:3]
        return [self.ref_ids[i] for i in best if np.isfinite(scored[i])]

    def examples(self, precedent_ids: list[str]) -> list[tuple[str, str]]:
        """(description, GL account) of cited precedent lines, for the LLM prompt."""
        if not self.ref_texts:
            return []
        where = {rid: i for i, rid in enumerate(self.ref_ids)}
        out = []
        for rid in precedent_ids:
            i = where.get(rid)
            if i is not None and self.gl.ref_labels[i] >= 0:
                out.append((self.ref_texts[i], self.gl.classes[self.gl.ref_labels[i]]))
        return out

    def to_bytes(self) -> bytes:
        """The model, pickled, for storage in Postgres."""
        buf = io.BytesIO()
        pickle.dump(self, buf, protocol=pickle.HIGHEST_PROTOCOL)
        return buf.getvalue()

    @staticmethod
    def from_bytes(blob: bytes) -> HistoryModel:
        """A model read back from Postgres (only ever our own pickles)."""
        model = pickle.loads(blob)  # noqa: S301 - written by train_history_model
        if not isinstance(model, HistoryModel):
            raise TypeError("stored classifier artifact is not a HistoryModel")
        model.embedder_name = current_embedder_name(model.embedder_name)
        return model


def current_embedder_name(name: str) -> str:
    """The shared loader's name of the embedder a stored model was trained with: models stored
    before matching and classification shared one loader name the same MiniLM at 256 tokens
    "minilm:<package>" (see migration 021)."""
    if name.startswith("minilm:"):
        return f"{name.removeprefix('minilm:')}:f32:256"
    return name


def _text(description: str) -> str:
    return " ".join((description or "").split())[:300] or "(no description)"


def _knn_vote(sims: np.ndarray, same: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Similarity-weighted vote of the nearest coded lines, same vendor first."""
    n = sims.shape[0]
    out = np.zeros((n, k))
    valid = labels >= 0
    for row in range(n):
        pool = same[row] & valid
        if not pool.any():
            pool = valid
        scored = np.where(pool, sims[row], -np.inf)
        nearest = np.argpartition(-scored, min(KNN_K, scored.size - 1))[:KNN_K]
        nearest = nearest[np.isfinite(scored[nearest])]
        weights = np.exp(KNN_SHARPNESS * (scored[nearest] - scored[nearest].max()))
        np.add.at(out[row], labels[nearest], weights)
        total = out[row].sum()
        out[row] = out[row] / total if total > 0 else 1.0 / k
    return out


def _temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(probs, 1e-9, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(probs: np.ndarray, truth: np.ndarray) -> float:
    """The temperature minimising the log loss of `probs` on the true class indices."""
    best_t, best_loss = 1.0, float("inf")
    for t in np.exp(np.linspace(np.log(0.05), np.log(4.0), 61)):
        p = _temper(probs, float(t))[np.arange(len(truth)), truth]
        loss = float(-np.mean(np.log(np.clip(p, 1e-9, 1.0))))
        if loss < best_loss:
            best_t, best_loss = float(t), loss
    return best_t
