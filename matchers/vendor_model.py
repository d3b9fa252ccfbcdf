"""The vendor match model: per-feature comparison levels, their log-likelihood ratios, and a
calibrated probability.

In the manner of Fellegi-Sunter record linkage, each comparison (name, address, VAT id, IBAN,
...) falls into a level, each level carries a weight (log of how much more often it occurs for
true matches than for non-matches), and a missing value weighs nothing. The weights sum with a
prior into log-odds; a Platt scaling on top corrects for features that are not independent.
`fit_vendor_model` estimates weights and scaling from labelled candidate pairs, so the
probability is calibrated on data rather than guessed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

# Levels per feature: (level name, lower bound of the similarity score), best first. Key
# features (vat, iban, email_domain, country, currency, legal_form) use the scores 1 (equal),
# 0.5 (one character apart: an OCR slip) and 0 (different).
LEVELS: dict[str, tuple[tuple[str, float], ...]] = {
    # the mean of the fuzzy string score and the embedding cosine (fuzzy alone without a model)
    "name": (
        ("exact", 0.98),
        ("high", 0.92),
        ("good", 0.85),
        ("fair", 0.75),
        ("weak", 0.6),
        ("none", -1.0),
    ),
    "legal_form": (("equal", 1.0), ("different", -1.0)),
    "address": (("high", 0.9), ("good", 0.75), ("fair", 0.55), ("none", -1.0)),
    "vat_id": (("equal", 1.0), ("near", 0.5), ("different", -1.0)),
    "iban": (("equal", 1.0), ("near", 0.5), ("different", -1.0)),
    "email_domain": (("equal", 1.0), ("near", 0.5), ("different", -1.0)),
    "country": (("equal", 1.0), ("different", -1.0)),
    "currency": (("equal", 1.0), ("different", -1.0)),
    # the invoice cites an existing purchase order of this vendor (or of another one)
    "po_vendor": (("equal", 1.0), ("different", -1.0)),
}
FEATURES: tuple[str, ...] = tuple(LEVELS)

# Hand-set starting weights (natural-log likelihood ratios), replaced by a fitted model file.
DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "name": {"exact": 7.0, "high": 4.0, "good": 2.0, "fair": -0.5, "weak": -3.0, "none": -5.0},
    "legal_form": {"equal": 0.5, "different": -5.0},
    "address": {"high": 3.0, "good": 1.5, "fair": -0.5, "none": -2.5},
    "vat_id": {"equal": 10.0, "near": 4.0, "different": -4.0},
    "iban": {"equal": 9.0, "near": 3.0, "different": -1.5},
    "email_domain": {"equal": 5.0, "near": 2.0, "different": -1.0},
    "country": {"equal": 0.3, "different": -2.0},
    "currency": {"equal": 0.2, "different": -0.5},
    "po_vendor": {"equal": 4.0, "different": -1.0},
}

MODEL_FILE = Path(__file__).with_name("vendor_model.json")


def level_of(feature: str, score: float) -> str:
    """The comparison level a similarity score falls into for `feature`."""
    for name, lower in LEVELS[feature]:
        if score >= lower:
            return name
    return LEVELS[feature][-1][0]


@dataclass(frozen=True)
class Explanation:
    """A candidate's probability with the per-feature scores and log-odds that explain it."""

    probability: float
    log_odds: float
    scores: dict[str, float]
    contributions: dict[str, float]


@dataclass
class VendorModel:
    """Weights per feature level, a prior, and Platt scaling (a * log_odds + b)."""

    prior: float = -2.0
    weights: dict[str, dict[str, float]] = field(
        default_factory=lambda: {f: dict(levels) for f, levels in DEFAULT_WEIGHTS.items()}
    )
    platt_a: float = 1.0
    platt_b: float = 0.0

    def log_odds(self, scores: Mapping[str, float | None]) -> tuple[float, dict[str, float]]:
        """Raw log-odds of a match and each present feature's contribution to it."""
        contributions: dict[str, float] = {}
        for feature in FEATURES:
            score = scores.get(feature)
            if score is None:
                continue
            contributions[feature] = self.weights[feature].get(level_of(feature, score), 0.0)
        return self.prior + sum(contributions.values()), contributions

    def explain(self, scores: Mapping[str, float | None]) -> Explanation:
        """The calibrated match probability of one candidate, with its explanation."""
        raw, contributions = self.log_odds(scores)
        z = self.platt_a * raw + self.platt_b
        probability = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
        present = {k: round(float(v), 4) for k, v in scores.items() if v is not None}
        return Explanation(probability, raw, present, contributions)

    def to_json(self) -> str:
        """The model as JSON (weights, prior, scaling)."""
        return json.dumps(
            {
                "prior": self.prior,
                "weights": self.weights,
                "platt_a": self.platt_a,
                "platt_b": self.platt_b,
            },
            indent=1,
        )

    @classmethod
    def from_json(cls, text: str) -> VendorModel:
        """A model read back from `to_json` output; unknown levels fall back to defaults."""
        data = json.loads(text)
        weights = {f: dict(levels) for f, levels in DEFAULT_WEIGHTS.items()}
        for feature, levels in data.get("weights", {}).items():
            if feature in weights:
                weights[feature].update({k: float(v) for k, v in levels.items()})
        return cls(
            float(data["prior"]),
            weights,
            float(data.get("platt_a", 1.0)),
            float(data.get("platt_b", 0.0)),
        )


def load_vendor_model(path: Path | None = None) -> VendorModel:
    """The fitted model shipped beside this module, or the hand-set defaults if none is."""
    path = path or MODEL_FILE
    if path.exists():
        return VendorModel.from_json(path.read_text(encoding="utf-8"))
    return VendorModel()


def fit_vendor_model(
    pairs: Iterable[tuple[Mapping[str, float | None], bool]], smoothing: float = 1.0
) -> VendorModel:
    """Estimate level weights log(m/u) and a Platt scaling from labelled candidate pairs.

    `pairs` are (scores, is_match) for candidates the resolver generated, so the u-probabilities
    describe the hard non-matches that actually compete, not random pairs.
    """
    pairs = list(pairs)
    n_match = sum(1 for _, m in pairs if m)
    n_non = len(pairs) - n_match
    if n_match == 0 or n_non == 0:
        raise ValueError("fitting needs both matching and non-matching pairs")
    weights: dict[str, dict[str, float]] = {}
    for feature, levels in LEVELS.items():
        m_count = {name: smoothing for name, _ in levels}
        u_count = {name: smoothing for name, _ in levels}
        for scores, is_match in pairs:
            score = scores.get(feature)
            if score is None:
                continue
            (m_count if is_match else u_count)[level_of(feature, score)] += 1
        m_total, u_total = sum(m_count.values()), sum(u_count.values())
        weights[feature] = {
            name: round(math.log((m_count[name] / m_total) / (u_count[name] / u_total)), 4)
            for name, _ in levels
        }
    model = VendorModel(prior=math.log(n_match / n_non), weights=weights)
    model.platt_a, model.platt_b = _platt(model, pairs)
    return model


def _platt(
    model: VendorModel, pairs: list[tuple[Mapping[str, float | None], bool]]
) -> tuple[float, float]:
    """Logistic regression of the label on the raw log-odds (Newton steps, two parameters)."""
    xs = [model.log_odds(s)[0] for s, _ in pairs]
    ys = [1.0 if m else 0.0 for _, m in pairs]
    # a ridge towards the unscaled model (1% of the data's weight) keeps separable data finite
    a, b, ridge = 1.0, 0.0, 1.0 + 0.01 * len(pairs)
    for _ in range(50):
        ga = gb = haa = hab = hbb = 0.0
        for x, y in zip(xs, ys, strict=True):
            p = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, a * x + b))))
            w = max(p * (1 - p), 1e-9)
            ga += (p - y) * x
            gb += p - y
            haa += w * x * x
            hab += w * x
            hbb += w
        ga, gb = ga + ridge * (a - 1.0), gb + ridge * b
        haa, hbb = haa + ridge, hbb + ridge
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        a, b = min(2.0, max(0.2, a - da)), min(10.0, max(-10.0, b - db))
        if abs(da) < 1e-6 and abs(db) < 1e-6:
            break
    return round(a, 6), round(b, 6)
