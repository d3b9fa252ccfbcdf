"""Recalibrating extraction confidence from what clerks confirmed and corrected.

The confidence model (`extractors.confidence`) is fitted on labelled sets. Clerks' reviews
are labels too: a reviewed value a clerk left alone was right, one a clerk corrected was wrong.
A recalibration maps a value's confidence p, per field, to sigmoid(a * logit(p) + b), fitted on
those labels by Newton's method with an L2 pull towards the identity (a = 1, b = 0), so a field
with few reviews moves little. How hard each field is pulled is chosen by cross validation on
its reviews, grouped by document (`fit_grouped`): a field whose reviews no mapping predicts
better than its own confidence keeps it, as does a field with fewer than `min_samples`
reviews. The identity (an empty model) is the model before any recalibration.

Scoring (lower is better): Brier score, log loss and expected calibration error (ECE, 10 bins).
Pure: no database; `flows.retrain` reads the samples and stores the versions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.confidence import confidence, read_samples
from extractors.extract import cap_derived
from invoices.records import HEADER_FIELDS, Invoice

EPS = 1e-4
IDENTITY: tuple[float, float] = (1.0, 0.0)
GUARDED = ("brier", "log_loss")  # a candidate worse on any of these is refused


@dataclass(frozen=True)
class Sample:
    """One reviewed value: its field, its staged confidence, and whether it was right."""

    field: str
    confidence: float
    right: bool
    method: str | None = None  # how the value was read (text_layer, ocr, rule, ...)


# field, or "field@method" for the values of a field read one way -> (a, b)
Recalibration = dict[str, tuple[float, float]]


def _mapping(
    model: Mapping[str, Sequence[float]], field: str, method: str | None
) -> Sequence[float]:
    """The mapping of a value: its field's and method's, else its field's, else the identity."""
    return (method and model.get(f"{field}@{method}")) or model.get(field) or IDENTITY


def _logit(p: float) -> float:
    p = min(1 - EPS, max(EPS, p))
    return math.log(p / (1 - p))


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def apply(
    model: Mapping[str, Sequence[float]], field: str, confidence: float, method: str | None = None
) -> float:
    """The recalibrated confidence of one value (the identity for an empty model)."""
    a, b = _mapping(model, field, method)
    return _sigmoid(a * _logit(confidence) + b)


def raw(
    model: Mapping[str, Sequence[float]], field: str, confidence: float, method: str | None = None
) -> float:
    """The confidence before `model` was applied (the inverse of `apply`)."""
    a, b = _mapping(model, field, method)
    if a == 0:
        return confidence
    return round(_sigmoid((_logit(confidence) - b) / a), 6)


def _fit_one(
    samples: Sequence[Sample], penalty: float, iterations: int = 25
) -> tuple[float, float]:
    a, b = IDENTITY
    xs = [_logit(s.confidence) for s in samples]
    ys = [1.0 if s.right else 0.0 for s in samples]
    for _ in range(iterations):
        ga, gb = penalty * (a - 1), penalty * b
        haa, hab, hbb = penalty, 0.0, penalty
        for x, y in zip(xs, ys, strict=True):
            p = _sigmoid(a * x + b)
            w = p * (1 - p)
            ga, gb = ga + (p - y) * x, gb + (p - y)
            haa, hab, hbb = haa + w * x * x, hab + w * x, hbb + w
        det = haa * hbb - hab * hab
        if det <= 1e-12:
            break
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        # a stays positive (a recalibration keeps the order of confidences) and both bounded
        a, b = min(4.0, max(0.05, a - da)), min(4.0, max(-4.0, b - db))
        if abs(da) + abs(db) < 1e-9:
            break
    return round(a, 6), round(b, 6)


def fit(samples: Sequence[Sample], *, min_samples: int = 10, penalty: float = 2.0) -> Recalibration:
    """A recalibration per field with at least `min_samples` reviews; other fields keep their
    confidence (no pooled mapping: one field's errors must not move another's confidence)."""
    model: Recalibration = {}
    by_field: dict[str, list[Sample]] = {}
    for s in samples:
        by_field.setdefault(s.field, []).append(s)
    for field, group in sorted(by_field.items()):
        if len(group) >= min_samples:
            model[field] = _fit_one(group, penalty)
    return model


PENALTIES = (0.5, 2.0, 8.0, 32.0)  # the L2 pulls towards the identity tried per field
CV_FOLDS = 5


def _log_loss(mapping: tuple[float, float] | None, samples: Sequence[Sample]) -> float:
    model = {} if mapping is None else {"f": mapping}
    total = 0.0
    for s in samples:
        p = apply(model, "f", s.confidence)
        total -= math.log(max(p, EPS)) if s.right else math.log(max(1 - p, EPS))
    return total


Fit = Callable[[Sequence[Sample], int], "tuple[float, float] | None"]


def _cv_loss(reviewed: Sequence[tuple[int, Sample]], folds: int, fit_fold: Fit) -> float:
    """The log loss on each fold of the reviews (grouped by document) of what `fit_fold` fits
    on the other folds (it gets those samples and the held-out fold's number)."""
    loss = 0.0
    for f in range(folds):
        held = [s for doc, s in reviewed if doc % folds == f]
        if held:
            rest = [s for doc, s in reviewed if doc % folds != f]
            loss += _log_loss(fit_fold(rest, f), held)
    return loss


def choose_penalty(
    reviewed: Sequence[tuple[int, Sample]],
    penalties: Sequence[float] = PENALTIES,
    folds: int = CV_FOLDS,
    fallback: Fit | None = None,
) -> float | None:
    """The pull towards the identity that predicts a group's reviews best, by k-fold cross
    validation grouped by document (a document's values are never on both sides); None when
    no fitted mapping beats the fallback (default: leaving the confidences as they are).
    Ties go to the stronger pull."""
    if len({doc % folds for doc, _ in reviewed}) < 2:
        return None
    best: tuple[float, float | None] = (
        _cv_loss(reviewed, folds, fallback or (lambda rest, f: None)),
        None,
    )
    for penalty in sorted(penalties, reverse=True):

        def fitted(rest: Sequence[Sample], _fold: int, p: float = penalty) -> tuple[float, float]:
            return _fit_one(rest, p)

        loss = _cv_loss(reviewed, folds, fitted)
        if loss < best[0] - 1e-9:
            best = (loss, penalty)
    return best[1]


def fit_grouped(
    reviewed: Sequence[tuple[int, Sample]],
    *,
    min_samples: int = 10,
    penalties: Sequence[float] = PENALTIES,
    folds: int = CV_FOLDS,
) -> tuple[Recalibration, dict[str, float | None]]:
    """A recalibration per field with at least `min_samples` reviews, and per field and method
    (text_layer, ocr, ...) where a method has that many and cross validation says its own
    mapping predicts its reviews better than the field's. Each pull towards the identity is
    chosen by grouped cross validation (`choose_penalty`); a field no mapping helps keeps its
    confidence. Returns the model and the pull chosen per field (and field@method)."""
    by_field: dict[str, list[tuple[int, Sample]]] = {}
    for doc, s in reviewed:
        by_field.setdefault(s.field, []).append((doc, s))
    model: Recalibration = {}
    chosen: dict[str, float | None] = {}
    for field, group in sorted(by_field.items()):
        if len(group) < min_samples:
            continue
        chosen[field] = penalty = choose_penalty(group, penalties, folds)
        if penalty is not None:
            model[field] = _fit_one([s for _, s in group], penalty)

        def field_fit(rest: Sequence[Sample], f: int, grp=group, p=penalty) -> Any:
            # the field's own mapping fitted without fold f (of every method)
            if p is None:
                return None
            return _fit_one([s for doc, s in grp if doc % folds != f], p)

        methods = {s.method for _, s in group if s.method}
        for method in sorted(methods) if len(methods) > 1 else ():
            sub = [(doc, s) for doc, s in group if s.method == method]
            if len(sub) < min_samples:
                continue
            key = f"{field}@{method}"
            chosen[key] = own = choose_penalty(sub, penalties, folds, fallback=field_fit)
            if own is not None:
                model[key] = _fit_one([s for _, s in sub], own)
    return model, chosen


def score(model: Mapping[str, Sequence[float]], samples: Iterable[Sample]) -> dict[str, float]:
    """Brier score, log loss and ECE of a recalibration on reviewed values (lower is better)."""
    pairs = [
        (apply(model, s.field, s.confidence, s.method), 1.0 if s.right else 0.0) for s in samples
    ]
    if not pairs:
        return {"samples": 0, "brier": 0.0, "log_loss": 0.0, "ece": 0.0}
    n = len(pairs)
    brier = sum((p - y) ** 2 for p, y in pairs) / n
    loss = -sum(y * math.log(max(p, EPS)) + (1 - y) * math.log(max(1 - p, EPS)) for p, y in pairs)
    bins: dict[int, list[tuple[float, float]]] = {}
    for p, y in pairs:
        bins.setdefault(min(9, int(p * 10)), []).append((p, y))
    ece = sum(abs(sum(p for p, _ in b) - sum(y for _, y in b)) for b in bins.values()) / n
    return {"samples": n, "brier": round(brier, 6), "log_loss": round(loss / n, 6),
            "ece": round(ece, 6)}  # fmt: skip


def worse_on(candidate: Mapping[str, float], current: Mapping[str, float]) -> list[str]:
    """The guarded figures on which the candidate is worse than the current (none: promote)."""
    return [k for k in GUARDED if candidate[k] > current[k] + 1e-9]


def recalibrate_invoice(invoice: Invoice, model: Mapping[str, Sequence[float]]) -> Invoice:
    """The invoice with each header value's confidence recalibrated (values untouched), a
    value filled by rule capped at its sources' new confidence (`cap_derived`)."""
    if not model:
        return invoice
    update: dict[str, Any] = {}
    for name in HEADER_FIELDS:
        fv = getattr(invoice, name)
        if fv is not None:
            method = fv.provenance.method.value if fv.provenance else None
            update[name] = fv.with_confidence(round(apply(model, name, fv.confidence, method), 4))
    return cap_derived(invoice.model_copy(update=update))


@dataclass
class Candidate:
    """A fitted recalibration with its figures beside the current model's, and the decision."""

    model: Recalibration
    metrics: dict[str, Any]
    baseline: dict[str, Any]
    promote: bool
    decision: str
    trained: int
    held_back: int


GUARDED_SETS = ("held_back", "labelled")


def _keep_if_not_worse(
    model: Recalibration, current: Mapping[str, Sequence[float]], labelled: Sequence[Sample]
) -> tuple[Recalibration, list[str]]:
    """The fitted mapping of each field (or field and method) that is not worse than the current
    one on the labelled values it would apply to (the labelled sets are independent of the
    held-back documents, so this choice does not flatter the held-back score); the current
    mapping for the others. The mappings of a field and method are judged first: a field's own
    mapping then applies to every method left without one, and is judged on all of those."""
    kept: Recalibration = {k: (float(v[0]), float(v[1])) for k, v in current.items()}
    dropped = []
    for key in sorted(model, key=lambda k: ("@" not in k, k)):
        field, _, method = key.partition("@")
        own = {k.partition("@")[2] for k in kept if k.startswith(field + "@")}
        values = [s for s in labelled if s.field == field
                  and (s.method == method if method else s.method not in own)]  # fmt: skip
        if values and worse_on(score({key: model[key]}, values), score(current, values)):
            dropped.append(key)
        else:
            kept[key] = model[key]
    return kept, sorted(dropped)


def is_held_back(document_id: int) -> bool:
    """Three documents in ten (by id) are held back from fitting to score the candidates."""
    return document_id % 10 in (0, 3, 6)


def _labelled_method(evidence: Mapping[str, float]) -> str:
    """How a labelled value was read, as its evidence tells: filled or derived by rule (the
    extractor marks those `derived`), else by OCR or from the text layer."""
    if evidence.get("derived", 0.0) > 0:
        return "rule"
    return "ocr" if evidence.get("ocr", 0.0) > 0 else "text_layer"


def labelled_samples(paths: Iterable[Any]) -> list[Sample]:
    """The labelled sets' values (`data/calibration/samples_*.jsonl`) with the confidence the
    shipped model gives them: the candidates are scored on these too."""
    samples = []
    for path in paths:
        for field, evidence, right, _ in read_samples(Path(path)):
            method = _labelled_method(evidence)
            samples.append(
                Sample(field, round(confidence(field, evidence), 4), bool(right), method)
            )
    return samples


def train_candidate(
    reviewed: Sequence[tuple[int, Sample]],
    current: Mapping[str, Sequence[float]],
    labelled: Sequence[Sample] = (),
    **fit_options: Any,
) -> Candidate:
    """Fit a recalibration on the reviewed values of the documents not held back, score it and
    the current model on the held-back ones (and on the labelled sets), and decide: promote
    only when no guarded figure, on either, gets worse."""
    fitting = [(doc, s) for doc, s in reviewed if not is_held_back(doc)]
    train = [s for _, s in fitting]
    test = [s for doc, s in reviewed if is_held_back(doc)]
    if not train or not test:
        raise ValueError(f"too few reviewed values: {len(train)} to fit, {len(test)} held back")
    chosen: dict[str, float | None] = {}
    if "penalty" in fit_options:  # a fixed pull for every field
        fitted = fit(train, **fit_options)
    else:
        fitted, chosen = fit_grouped(fitting, **fit_options)
    model, dropped = _keep_if_not_worse(fitted, current, labelled)
    metrics: dict[str, Any] = {"held_back": score(model, test)}
    if chosen:
        metrics["penalty_by_field"] = chosen
    baseline: dict[str, Any] = {"held_back": score(current, test)}
    if labelled:
        metrics["labelled"], baseline["labelled"] = score(model, labelled), score(current, labelled)
    metrics["fields_left_as_they_were"] = dropped
    worse = [f"{k}.{f}" for k in GUARDED_SETS if k in metrics
             for f in worse_on(metrics[k], baseline[k])]  # fmt: skip
    gain = baseline["held_back"]["brier"] - metrics["held_back"]["brier"]
    if model == {k: tuple(v) for k, v in current.items()}:
        worse = ["nothing"]
        decision = "refused: nothing changed" + (
            f" (worse on the labelled sets, left as they were: {', '.join(dropped)})"
            if dropped
            else " (no field has enough reviews to move its calibration)"
        )
    elif worse:
        decision = f"refused: worse on {', '.join(worse)}"
    elif gain <= 0:
        worse = ["held_back.brier (not better)"]
        decision = f"refused: held-back Brier {metrics['held_back']['brier']} is not better"
    else:
        decision = (
            f"promoted: held-back Brier {metrics['held_back']['brier']}"
            f" vs {baseline['held_back']['brier']} (-{gain:.6f})"
        )
    return Candidate(model, metrics, baseline, not worse, decision, len(train), len(test))
