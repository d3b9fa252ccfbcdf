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
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractors.fields.search import Candidate
from invoices.records import Method

FEATURES: tuple[str, ...] = (
    "label",
    "position",
    "agreement",
    "support",
    "checksum",
    "arithmetic",
    "line_sum",
    "ocr",
    "word_confidence",
    "value_confidence",
    "derived",
    "skipped",
    "address",
    "address_form",
    "address_foreign",
    "address_buyer",
    "address_seller",
    "address_other_seller",
    "receipt",
    "sign_conflict",
    "ocr_arithmetic",
    "ocr_checksum",
    "ocr_receipt",
    "bias",
)

# Evidence worth more on a scan: a misread digit breaks the arithmetic or the checksum, so a
# scanned value that passes them is proven as read, while on a text layer the characters were
# hardly in doubt. Computed from the recorded evidence (`with_interactions`), so stored samples
# carry them too.
# A receipt's scan (`receipt`: a till roll's narrow column, `extractors.page_evidence`) is
# weighed apart from an invoice's, so that receipts' OCR errors do not set the weight of
# every scan.
INTERACTIONS: dict[str, tuple[str, str]] = {
    "ocr_arithmetic": ("ocr", "arithmetic"),
    "ocr_checksum": ("ocr", "checksum"),
    "ocr_receipt": ("ocr", "receipt"),
}

CALIBRATION_FILE = (
    Path(__file__).resolve().parent.parent / "data" / "calibration" / "confidence.json"
)

# Before any calibration: a cautious hand-set model (every weight is a guess, so values stay
# below the default auto-accept thresholds unless several kinds of evidence agree). It is also
# the model of a field whose samples are all right (nothing to fit), so it must rank a value
# after skipped text (a type word in a sentence) below a scanned but clean one.
_PRIOR = {
    "label": 1.5,
    "position": 0.5,
    "agreement": 1.0,
    "support": 0.2,
    "checksum": 2.0,
    "arithmetic": 1.5,
    "line_sum": 1.0,
    "ocr": -0.8,
    "word_confidence": 0.5,
    "value_confidence": 0.5,
    "derived": -0.5,
    "skipped": -1.5,
    "address": 0.3,
    "address_form": 0.5,
    "address_foreign": -1.0,
    "address_buyer": -1.0,
    "address_seller": 0.3,
    "address_other_seller": -0.5,
    "receipt": 0.0,
    # the amounts' printed sign against the document type (`extractors.page_evidence`): one
    # of the two was read wrong, and nothing tells which
    "sign_conflict": -2.0,
    "ocr_arithmetic": 0.5,
    "ocr_checksum": 0.5,
    "ocr_receipt": -0.5,
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
        "line_sum": cand.extra.get("line_sum", 0.0),
        "ocr": 1.0 if ocr else 0.0,
        "word_confidence": cand.line.confidence if ocr else 1.0,
        "value_confidence": cand.extra.get("value_confidence", value_confidence(cand))
        if ocr
        else 1.0,
        "derived": cand.extra.get("derived", 0.0),
        "skipped": cand.extra.get("skipped", 0.0),
        "address": cand.extra.get("address", 0.0),
        "address_form": cand.extra.get("address_form", 0.0),
        "address_foreign": cand.extra.get("address_foreign", 0.0),
        "address_buyer": cand.extra.get("address_buyer", 0.0),
        "address_seller": cand.extra.get("address_seller", 0.0),
        "address_other_seller": cand.extra.get("address_other_seller", 0.0),
        "receipt": cand.extra.get("receipt", 0.0),
        "sign_conflict": cand.extra.get("sign_conflict", 0.0),
        "bias": 1.0,
    }


def value_confidence(cand: Candidate) -> float:
    """Tesseract's confidence in the value's own characters: the least sure of the words under
    the value's box (a misread digit lowers its word, not the mean of a long line); the line's
    confidence when the value has no box or no word under it."""
    if cand.bbox is None or not cand.line.words:
        return cand.line.confidence
    left, right = cand.bbox[0], cand.bbox[2]
    under = [w.confidence for w in cand.line.words if w.bbox[0] < right and w.bbox[2] > left]
    return min(under) if under else cand.line.confidence


def with_defaults(evidence: dict[str, float]) -> dict[str, float]:
    """Evidence recorded before a feature existed, completed from what it had: the value's
    own word confidence is taken as its line's; a sign that was not compared is no conflict."""
    evidence = dict(evidence)
    evidence.setdefault("sign_conflict", 0.0)
    if "value_confidence" in evidence or "word_confidence" not in evidence:
        return evidence
    return dict(evidence, value_confidence=evidence["word_confidence"])


def with_interactions(evidence: dict[str, float]) -> dict[str, float]:
    """The evidence with its `INTERACTIONS` (products of two recorded features) added."""
    extra = {n: evidence.get(a, 0.0) * evidence.get(b, 0.0) for n, (a, b) in INTERACTIONS.items()}
    return {**evidence, **extra}


@lru_cache(maxsize=4)
def load_model(path: str = str(CALIBRATION_FILE)) -> dict[str, dict[str, float]]:
    """The fitted weights per field ("*" for fields without their own), or the prior. A
    feature newer than the fit keeps its prior weight in every field until the next fit."""
    file = Path(path)
    if not file.exists():
        return {"*": dict(_PRIOR)}
    stored = json.loads(file.read_text())
    newer = {n: _PRIOR[n] for n in FEATURES if n not in stored.get("features", FEATURES)}
    return {name: {**newer, **weights} for name, weights in stored["weights"].items()}


def confidence(
    field: str, evidence: dict[str, float], model: dict[str, Any] | None = None
) -> float:
    """The calibrated probability that a value with this evidence is right."""
    weights_by_field = model if model is not None else load_model()
    weights = weights_by_field.get(field) or weights_by_field.get("*") or _PRIOR
    evidence = with_interactions(evidence)
    z = sum(weights.get(name, 0.0) * evidence.get(name, 0.0) for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# The direction each kind of evidence may move the confidence: a stronger label, a better
# position, agreeing candidates, a checksum or arithmetic that holds never make a value less
# likely right; text skipped between label and value, or a value derived by rule, never more.
# Fitted freely, a field with few samples learnt the opposite (a broken reading surer than a
# whole one), which describes the sample, not the next vendor.
SIGNS: dict[str, tuple[float | None, float | None]] = {
    "label": (0.0, None),
    "position": (0.0, None),
    "agreement": (0.0, None),
    "support": (0.0, None),
    "checksum": (0.0, None),
    "arithmetic": (0.0, None),
    "line_sum": (0.0, None),
    "word_confidence": (0.0, None),
    "value_confidence": (0.0, None),
    "address": (0.0, None),
    "address_form": (0.0, None),
    "address_seller": (0.0, None),
    "ocr_arithmetic": (0.0, None),
    "ocr_checksum": (0.0, None),
    "skipped": (None, 0.0),
    "derived": (None, 0.0),
    "receipt": (None, 0.0),
    "ocr_receipt": (None, 0.0),
    "address_foreign": (None, 0.0),
    "address_buyer": (None, 0.0),
    "address_other_seller": (None, 0.0),
    "sign_conflict": (None, 0.0),
}


def fit_calibration(
    samples: list[tuple[str, dict[str, float], bool]], min_samples: int = 25
) -> dict[str, dict[str, float]]:
    """Logistic weights per field from (field, evidence, was_right) samples, each weight kept
    to the direction `SIGNS` allows (L2-penalised log loss, as a logistic regression with C=1).

    Fields with fewer than `min_samples` samples share one model fitted on all of them.
    """
    import numpy as np
    from scipy.optimize import minimize

    names = [name for name in FEATURES if name != "bias"]
    bounds = [SIGNS.get(name, (None, None)) for name in names] + [(None, None)]

    def fit(rows: list[tuple[str, dict[str, float], bool]]) -> dict[str, float]:
        full = [with_interactions(ev) for _, ev, _ in rows]
        x = np.array([[ev.get(name, 0.0) for name in names] for ev in full], dtype=float)
        y = np.array([float(ok) for _, _, ok in rows])
        if len(set(y.tolist())) < 2:
            return dict(_PRIOR, bias=4.0 if y.size and y[0] else -4.0)

        def loss(w: Any) -> tuple[float, Any]:
            # L2-penalised log loss (as scikit-learn's LogisticRegression with C=1), the bias free
            z = x @ w[:-1] + w[-1]
            p = 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))
            value = float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * w[:-1] @ w[:-1])
            grad = np.append(x.T @ (p - y) + w[:-1], np.sum(p - y))
            return value, grad

        found = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B", bounds=bounds)
        weights = {name: float(w) for name, w in zip(names, found.x[:-1], strict=True)}
        weights["bias"] = float(found.x[-1])
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
        # values carry their confidence rounded to 4 places (`extract.field_value`)
        by_field.setdefault(name, []).append((round(confidence(name, evidence, model), 4), ok))
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
        chosen[name] = min(best, 1.0)  # exactly the lowest admitted value: rounding it down
        # would admit values that were left out
    return chosen


GroupedSample = tuple[str, dict[str, float], bool, str]


def read_samples(path: Path) -> list[GroupedSample]:
    """A samples file: `[field, evidence, was_right, vendor]` per line. A line written before
    samples carried their vendor gets a group of its own (it can only leave its own fold)."""
    rows: list[GroupedSample] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not raw.strip():
            continue
        item = json.loads(raw)
        group = item[3] if len(item) > 3 and item[3] else f"{path.stem}#{number}"
        rows.append((item[0], with_defaults(item[1]), bool(item[2]), str(group)))
    return rows


def vendor_folds(groups: Sequence[str], folds: int = 5) -> dict[str, int]:
    """Each vendor's fold: vendors by size, largest first, each to the lightest fold so far
    (as scikit-learn's GroupKFold), ties broken by name so the split never changes. With
    `folds` 0, every vendor is a fold of its own (leave one vendor out)."""
    sizes: dict[str, int] = {}
    for group in groups:
        sizes[group] = sizes.get(group, 0) + 1
    if folds <= 0:
        return {group: index for index, group in enumerate(sorted(sizes))}
    load = [0] * max(1, min(folds, len(sizes)))
    out: dict[str, int] = {}
    for group, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        fold = min(range(len(load)), key=lambda i: (load[i], i))
        out[group] = fold
        load[fold] += size
    return out


def out_of_fold(samples: Sequence[GroupedSample], folds: int = 0) -> list[float]:
    """Each sample's confidence under a calibration fitted without its vendor's values (folds
    grouped by vendor; 0: each vendor left out alone, as `invoices eval` scores a folder),
    rounded as values carry it: how the calibration scores a vendor it has never seen, which
    is what a threshold must be chosen on."""
    fold_of = vendor_folds([s[3] for s in samples], folds)
    out = [0.0] * len(samples)
    for fold in sorted(set(fold_of.values())):
        train = [(f, ev, ok) for f, ev, ok, g in samples if fold_of[g] != fold]
        model = fit_calibration(train) if train else {"*": dict(_PRIOR)}
        for index, (name, evidence, _, group) in enumerate(samples):
            if fold_of[group] == fold:
                out[index] = round(confidence(name, evidence, model), 4)
    return out


# What the auto-accepted values of a set must be right at least as often as. A generated corpus
# knows every value's truth and prints the layouts a new vendor may bring (the layout families),
# so it is held to the stricter figure issue #17 asks of it; the real sets keep 0.99.
TARGET = 0.99
GENERATED_TARGET = 0.995
# Each field's auto-accepted values, all sets together, must be right at least this often: the
# joint target alone lets one weak field ride on the strong ones (a set of many sure totals can
# carry a vendor address that is wrong one time in six).
FIELD_TARGET = 0.98


def set_targets(names: Sequence[str]) -> dict[str, float]:
    """The target of each calibration set by its name: `GENERATED_TARGET` for the generated
    corpora (`samples_generated_*`), `TARGET` for the real ones."""
    return {
        name: GENERATED_TARGET if name.removeprefix("samples_").startswith("generated") else TARGET
        for name in names
    }


def thresholds_for_every_set(
    sample_sets: dict[str, list[tuple[str, dict[str, float], bool]]],
    target: float = 0.99,
    model: dict[str, Any] | None = None,
    floor: float = 0.5,
    *,
    targets: dict[str, float] | None = None,
    field_target: float = 0.0,
) -> dict[str, float]:
    """Per-field thresholds under which the auto-accepted values of EVERY labelled set, all
    fields together, are right at least `target` of the time (a set named in `targets` its own
    figure there), and each field's, all sets together, at least `field_target`, accepting as
    many right values as possible.

    Starting with nothing accepted, thresholds are lowered greedily: each step takes, over all
    fields, the lower threshold that admits the most right values per wrong one and keeps every
    set at its target and the field at `field_target`. Fields whose values would break a set
    keep a threshold above them (1.0).
    """
    model = model if model is not None else load_model()
    return thresholds_on_scores(
        _scored_rows(sample_sets, model), target, floor, targets=targets, field_target=field_target
    )


def thresholds_on_scores(
    rows: dict[str, dict[str, list[tuple[float, bool]]]],
    target: float = 0.99,
    floor: float = 0.5,
    *,
    targets: dict[str, float] | None = None,
    field_target: float = 0.0,
) -> dict[str, float]:
    """`thresholds_for_every_set` on confidences already given: per set and field,
    (confidence, was right) pairs, most confident first (e.g. from `out_of_fold`)."""
    fields = sorted({name for per_set in rows.values() for name in per_set})
    levels = {
        name: sorted(
            {c for per_set in rows.values() for c, _ in per_set.get(name, []) if c >= floor},
            reverse=True,
        )
        for name in fields
    }
    per_set = {s: (targets or {}).get(s, target) for s in rows}
    chosen = {name: 1.01 for name in fields}
    while True:
        move = _best_move(rows, levels, chosen, per_set, field_target)
        if move is None:
            break
        chosen[move[0]] = move[1]
    return {name: min(1.0, value) for name, value in sorted(chosen.items())}


def _scored_rows(
    sample_sets: dict[str, list[tuple[str, dict[str, float], bool]]], model: dict[str, Any]
) -> dict[str, dict[str, list[tuple[float, bool]]]]:
    """Per set and field, (confidence rounded as values carry it, was right) pairs, most
    confident first."""
    out: dict[str, dict[str, list[tuple[float, bool]]]] = {}
    for set_name, samples in sample_sets.items():
        per_set = out.setdefault(set_name, {})
        for name, evidence, ok in samples:
            per_set.setdefault(name, []).append((round(confidence(name, evidence, model), 4), ok))
        for pairs in per_set.values():
            pairs.sort(key=lambda r: -r[0])
    return out


def _above(pairs: list[tuple[float, bool]], threshold: float) -> tuple[int, int]:
    """(count, right) of the pairs at or above a threshold (pairs most confident first)."""
    count = right = 0
    for conf, ok in pairs:
        if conf < threshold:
            break
        count += 1
        right += ok
    return count, right


def _best_move(
    rows: dict[str, dict[str, list[tuple[float, bool]]]],
    levels: dict[str, list[float]],
    chosen: dict[str, float],
    targets: dict[str, float],
    field_target: float = 0.0,
) -> tuple[str, float] | None:
    """The feasible lowering of one field's threshold with the best right-per-wrong gain: every
    set stays at its target, and the field's values, all sets together, at `field_target`."""
    base = {
        s: [sum(x) for x in zip(*(_above(p, chosen[f]) for f, p in per.items()), strict=True)]
        or [0, 0]
        for s, per in rows.items()
    }
    best: tuple[float, int, str, float] | None = None
    for name, values in levels.items():
        now = {s: _above(per.get(name, []), chosen[name]) for s, per in rows.items()}
        for value in (v for v in values if v < chosen[name]):
            gained = wrong = admitted = right_all = 0
            feasible = True
            for s, per in rows.items():
                count, right = _above(per.get(name, []), value)
                acc = base[s][0] - now[s][0] + count
                ok = base[s][1] - now[s][1] + right
                if acc and ok / acc < targets[s]:
                    feasible = False
                    break
                gained += right - now[s][1]
                wrong += (count - right) - (now[s][0] - now[s][1])
                admitted += count
                right_all += right
            if not feasible or gained <= 0 or (admitted and right_all / admitted < field_target):
                continue
            key = (gained / (wrong + 1), gained, name, value)
            if best is None or key[:2] > best[:2]:
                best = key
    return None if best is None else (best[2], best[3])
