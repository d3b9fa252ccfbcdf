"""Calibrated confidence: each field's evidence mapped to the probability it is right.

The evidence of a value (how it was read, the OCR word confidence, the strength of its label,
whether other candidates agree, the checks it passes) becomes a feature vector; a logistic
model per field, fitted on labelled documents (`fit_calibration`, stored in
`data/calibration/confidence.json`), turns it into a probability. A threshold on that number
then means what it says: of the values at or above 0.9, about nine in ten are right.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractors.fields_search import Candidate
from invoices.records import Method

FEATURES: tuple[str, ...] = (
    "label",
    "position",
    "agreement",
    "support",
    "checksum",
    "arithmetic",
    "ocr",
    "word_confidence",
    "derived",
    "bias",
)

CALIBRATION_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "calibration" / "confidence.json"
)

# Before any calibration: a cautious hand-set model (every weight is a guess, so values stay
# below the default auto-accept thresholds unless several kinds of evidence agree).
_PRIOR = {
    "label": 1.5,
    "position": 0.5,
    "agreement": 1.0,
    "support": 0.2,
    "checksum": 2.0,
    "arithmetic": 1.5,
    "ocr": -0.8,
    "word_confidence": 0.5,
    "derived": -0.5,
    "bias": -2.0,
}


def features(cand: Candidate) -> dict[str, float]:
    """The evidence of one candidate as named numbers."""
    ocr = cand.line.method == Method.OCR
    return {
        "label": cand.label_weight,
        "position": cand.position,
        "agreement": cand.extra.get("agreement", 1.0),
        "support": min(cand.extra.get("support", 1.0), 4.0) / 4.0,
        "checksum": cand.extra.get("checksum", 0.0),
        "arithmetic": cand.extra.get("arithmetic", 0.0),
        "ocr": 1.0 if ocr else 0.0,
        "word_confidence": cand.line.confidence if ocr else 1.0,
        "derived": cand.extra.get("derived", 0.0),
        "bias": 1.0,
    }


@lru_cache(maxsize=4)
def load_model(path: str = str(CALIBRATION_FILE)) -> dict[str, dict[str, float]]:
    """The fitted weights per field ("*" for fields without their own), or the prior."""
    file = Path(path)
    if file.exists():
        return json.loads(file.read_text())["weights"]
    return {"*": dict(_PRIOR)}


def confidence(
    field: str, evidence: dict[str, float], model: dict[str, Any] | None = None
) -> float:
    """The calibrated probability that a value with this evidence is right."""
    weights_by_field = model if model is not None else load_model()
    weights = weights_by_field.get(field) or weights_by_field.get("*") or _PRIOR
    z = sum(weights.get(name, 0.0) * evidence.get(name, 0.0) for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def fit_calibration(
    samples: list[tuple[str, dict[str, float], bool]], min_samples: int = 25
) -> dict[str, dict[str, float]]:
    """Logistic weights per field from (field, evidence, was_right) samples.

    Fields with fewer than `min_samples` samples share one model fitted on all of them.
    """
    from sklearn.linear_model import LogisticRegression

    def fit(rows: list[tuple[str, dict[str, float], bool]]) -> dict[str, float]:
        x = [[ev.get(name, 0.0) for name in FEATURES if name != "bias"] for _, ev, _ in rows]
        y = [int(ok) for _, _, ok in rows]
        if len(set(y)) < 2:
            return dict(_PRIOR, bias=4.0 if y and y[0] else -4.0)
        model = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
        names = [name for name in FEATURES if name != "bias"]
        weights = {name: float(w) for name, w in zip(names, model.coef_[0], strict=True)}
        weights["bias"] = float(model.intercept_[0])
        return weights

    out: dict[str, dict[str, float]] = {"*": fit(samples)}
    for field in sorted({f for f, _, _ in samples}):
        rows = [s for s in samples if s[0] == field]
        if len(rows) >= min_samples:
            out[field] = fit(rows)
    return out


def save_calibration(weights: dict[str, dict[str, float]], path: Path = CALIBRATION_FILE) -> None:
    """Store fitted weights where `load_model` finds them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"features": list(FEATURES), "weights": weights}, indent=1) + "\n")
    load_model.cache_clear()


def choose_thresholds(
    samples: list[tuple[str, dict[str, float], bool]],
    target: float = 0.99,
    floor: float = 0.5,
    model: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Per field, the lowest confidence at and above which values were right `target` of the time.

    A field whose values never reach the target gets a threshold above every value seen (1.0).
    """
    model = model if model is not None else load_model()
    by_field: dict[str, list[tuple[float, bool]]] = {}
    for name, evidence, ok in samples:
        by_field.setdefault(name, []).append((confidence(name, evidence, model), ok))
    chosen: dict[str, float] = {}
    for name, rows in sorted(by_field.items()):
        rows.sort(key=lambda r: -r[0])
        best = 1.0
        right = 0
        for count, (conf, ok) in enumerate(rows, start=1):
            right += ok
            # only cut between distinct confidences, so the threshold admits exactly these rows
            following = rows[count][0] if count < len(rows) else -1.0
            if right / count >= target and following < conf:
                best = max(floor, conf)
        chosen[name] = math.floor(min(best, 1.0) * 1000) / 1000  # never round above a value
    return chosen


def thresholds_for_every_set(
    sample_sets: dict[str, list[tuple[str, dict[str, float], bool]]], target: float = 0.99
) -> dict[str, float]:
    """Per field, the strictest of the thresholds each labelled set needs on its own.

    A threshold chosen on the pooled values can hold on average and fail on one kind of
    document (OCR receipts): taking the maximum keeps `target` on every set.
    """
    chosen: dict[str, float] = {}
    for samples in sample_sets.values():
        for name, value in choose_thresholds(samples, target).items():
            chosen[name] = max(chosen.get(name, 0.0), value)
    return dict(sorted(chosen.items()))
