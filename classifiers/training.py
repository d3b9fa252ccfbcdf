"""Training, evaluation and promotion of the history model.

The most recent invoices (by date) are held out: the model is fitted on the older ones, its
temperature calibrated and its scores measured on the held-out ones, then it is refitted on
everything with that temperature. A new model is promoted only if it scores at least as well
as the current one on the same held-out lines.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from datetime import date

import numpy as np
from sklearn.linear_model import LogisticRegression

from classifiers.history import CodedLine, HistoryModel, _Head, _text, fit_temperature
from classifiers.records import LineQuery
from classifiers.store import Embedder, embedder_name

log = logging.getLogger(__name__)

HOLDOUT_SHARE = 0.15
PROMOTION_METRIC = "gl_top1"
PROMOTION_TOLERANCE = 0.0
C_REGULARISATION = 10.0
MAX_REGRESSION_ROWS = 4000


def split_by_date(
    lines: Sequence[CodedLine], holdout_share: float = HOLDOUT_SHARE
) -> tuple[list[CodedLine], list[CodedLine]]:
    """(train, holdout): the latest `holdout_share` of invoices are held out, whole."""
    first_seen: dict[str, tuple[date, str]] = {}
    for line in lines:
        key = (line.invoice_date or date.min, line.invoice_id)
        first_seen[line.invoice_id] = min(first_seen.get(line.invoice_id, key), key)
    ordered = sorted(first_seen, key=lambda inv: first_seen[inv])
    cut = len(ordered) - int(round(len(ordered) * holdout_share))
    held = set(ordered[cut:])
    return [ln for ln in lines if ln.invoice_id not in held], [
        ln for ln in lines if ln.invoice_id in held
    ]


def fit_model(
    lines: Sequence[CodedLine],
    embedder: Embedder,
    version: str,
    temperatures: tuple[float, float] = (1.0, 1.0),
) -> HistoryModel:
    """A history model fitted on `lines` (GL and cost-centre heads share the features)."""
    if not lines:
        raise ValueError("no coded lines to train on")
    emb = embedder.encode([_text(ln.description) for ln in lines])
    vendors = {v: i for i, v in enumerate(sorted({ln.vendor_id for ln in lines if ln.vendor_id}))}
    weights = np.array([ln.weight for ln in lines])
    skeleton = HistoryModel(
        version=version,
        embedder_name=embedder_name(embedder),
        vendors=vendors,
        gl=_Head([], None, np.zeros(0, dtype=int)),
        cc=_Head([], None, np.zeros(0, dtype=int)),
        ref_embeddings=emb.astype(np.float16),
        ref_vendor=np.array([vendors.get(ln.vendor_id or "", -1) for ln in lines]),
        ref_ids=[f"{ln.invoice_id}:{ln.line_no}" for ln in lines],
        ref_texts=[_text(ln.description) for ln in lines],
    )
    x = skeleton._features(emb, [ln.vendor_id for ln in lines])
    gl_labels = [ln.gl_account for ln in lines]
    cc_labels = [ln.cost_centre for ln in lines]
    # History repeats itself: fit on distinct (vendor, text, label) rows weighted by count.
    keys = [(ln.vendor_id, _text(ln.description)) for ln in lines]
    skeleton.gl = _fit_head(x, gl_labels, keys, weights, temperatures[0])
    skeleton.cc = _fit_head(x, cc_labels, keys, weights, temperatures[1])
    return skeleton


def _fit_head(
    x: np.ndarray,
    labels: Sequence[str | None],
    keys: list[tuple[str | None, str]],
    weights: np.ndarray,
    temperature: float,
) -> _Head:
    classes = sorted({lab for lab in labels if lab})
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index.get(lab, -1) if lab else -1 for lab in labels])
    clf = None
    if len(classes) > 1:
        first: dict[tuple, int] = {}
        total: dict[tuple, float] = {}
        for row, (key, label) in enumerate(zip(keys, y, strict=True)):
            if label >= 0:
                first.setdefault((key, label), row)
                total[(key, label)] = total.get((key, label), 0.0) + float(weights[row])
        rows = np.array(list(first.values()))
        w = np.array([total[k] for k in first])
        if len(rows) > MAX_REGRESSION_ROWS:  # the neighbours carry the rest
            keep = np.random.default_rng(0).choice(len(rows), MAX_REGRESSION_ROWS, replace=False)
            rows, w = rows[keep], w[keep]
        clf = LogisticRegression(C=C_REGULARISATION, max_iter=200, tol=1e-3)
        clf.fit(x[rows], y[rows], sample_weight=w / w.mean())
    return _Head(classes=classes, clf=clf, ref_labels=y, temperature=temperature)


def evaluate_model(
    model: HistoryModel, lines: Sequence[CodedLine], embedder: Embedder
) -> dict[str, float]:
    """GL top-1/top-3, cost-centre top-1 and GL log loss of `model` on coded `lines`."""
    if not lines:
        return {}
    queries = [
        LineQuery(line_no=ln.line_no, description=ln.description, vendor_id=ln.vendor_id)
        for ln in lines
    ]
    results = model.suggest(queries, embedder, top_n=3)
    top1 = top3 = cc1 = cc_n = 0
    for line, (gl, cc) in zip(lines, results, strict=True):
        codes = [c.code for c in gl.top]
        top1 += int(codes[:1] == [line.gl_account])
        top3 += int(line.gl_account in codes)
        if line.cost_centre:
            cc_n += 1
            cc1 += int(cc.code == line.cost_centre)
    n = len(lines)
    return {
        "lines": float(n),
        "gl_top1": round(top1 / n, 4),
        "gl_top3": round(top3 / n, 4),
        "cc_top1": round(cc1 / cc_n, 4) if cc_n else 0.0,
        "vendors_with_history": float(sum(model.has_history(ln.vendor_id) for ln in lines)),
    }


def train_history_model(
    lines: Sequence[CodedLine], embedder: Embedder, version: str
) -> tuple[HistoryModel, list[CodedLine]]:
    """A calibrated model on all `lines`, its metrics measured on the held-out recent invoices.

    Returns the model and the held-out lines (to score the current model on the same lines,
    through `without_references`).
    """
    train, holdout = split_by_date(lines)
    if not holdout or not train:
        model = fit_model(lines, embedder, version)
        model.metrics = evaluate_model(model, lines, embedder) | {"holdout": 0.0}
        return model, list(lines)
    probe = fit_model(train, embedder, version)
    temps = _calibrate(probe, holdout, embedder)
    probe.gl.temperature, probe.cc.temperature = temps
    metrics = evaluate_model(probe, holdout, embedder)
    log.info("history model %s on %d held-out lines: %s", version, len(holdout), metrics)
    model = with_references(probe, lines, embedder)
    model.metrics = metrics | {
        "holdout": 1.0,
        "gl_temperature": temps[0],
        "cc_temperature": temps[1],
    }
    return model, holdout


def with_references(
    model: HistoryModel, lines: Sequence[CodedLine], embedder: Embedder
) -> HistoryModel:
    """The model with `lines` as its nearest-neighbour references (the regression is kept).

    Refitting the regression on the held-out lines too would double the training time for
    little gain; the neighbours carry the recent invoices.
    """
    emb = embedder.encode([_text(ln.description) for ln in lines])
    ref_vendors = {
        v: i for i, v in enumerate(sorted({ln.vendor_id for ln in lines if ln.vendor_id}))
    }
    out = copy.copy(model)
    out.ref_vendors = ref_vendors
    out.ref_embeddings = emb.astype(np.float16)
    out.ref_vendor = np.array([ref_vendors.get(ln.vendor_id or "", -1) for ln in lines])
    out.ref_ids = [f"{ln.invoice_id}:{ln.line_no}" for ln in lines]
    out.ref_texts = [_text(ln.description) for ln in lines]
    out.gl = _relabel(model.gl, [ln.gl_account for ln in lines])
    out.cc = _relabel(model.cc, [ln.cost_centre for ln in lines])
    return out


def without_references(model: HistoryModel, ref_ids: set[str]) -> HistoryModel:
    """The model with some reference lines removed (to score it on lines it must not see)."""
    keep = np.array([rid not in ref_ids for rid in model.ref_ids], dtype=bool)
    out = copy.copy(model)
    out.ref_embeddings = model.ref_embeddings[keep]
    out.ref_vendor = model.ref_vendor[keep]
    out.ref_ids = [rid for rid, k in zip(model.ref_ids, keep, strict=True) if k]
    out.ref_texts = (
        [t for t, k in zip(model.ref_texts, keep, strict=True) if k] if model.ref_texts else []
    )
    out.gl = _Head(model.gl.classes, model.gl.clf, model.gl.ref_labels[keep], model.gl.temperature)
    out.cc = _Head(model.cc.classes, model.cc.clf, model.cc.ref_labels[keep], model.cc.temperature)
    return out


def _relabel(head: _Head, labels: list[str | None]) -> _Head:
    """The head with reference labels for new lines; classes the regression never saw are
    added for the neighbour vote only."""
    classes = list(head.classes)
    for lab in labels:
        if lab and lab not in classes:
            classes.append(lab)
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[lab] if lab else -1 for lab in labels])
    return _Head(classes=classes, clf=head.clf, ref_labels=y, temperature=head.temperature)


def _calibrate(
    model: HistoryModel, holdout: Sequence[CodedLine], embedder: Embedder
) -> tuple[float, float]:
    emb = embedder.encode([_text(ln.description) for ln in holdout])
    vids = [ln.vendor_id for ln in holdout]
    x = model._features(emb, vids)
    sims, same = model._similarities(emb, vids)
    temps = []
    for head, labels in (
        (model.gl, [ln.gl_account for ln in holdout]),
        (model.cc, [ln.cost_centre for ln in holdout]),
    ):
        rows = [i for i, lab in enumerate(labels) if lab in head.classes]
        if head.clf is None or not rows:
            temps.append(1.0)
            continue
        probs = head.distribution(x[rows], sims[rows], same[rows])
        truth = np.array([head.classes.index(str(labels[i])) for i in rows])
        temps.append(fit_temperature(probs, truth))
    return temps[0], temps[1]


def better_or_equal(new: dict[str, float], current: dict[str, float] | None) -> bool:
    """Whether a new model may replace the current one (both scored on the same lines)."""
    if not current or PROMOTION_METRIC not in current:
        return True
    return new.get(PROMOTION_METRIC, 0.0) + PROMOTION_TOLERANCE >= current[PROMOTION_METRIC]
