"""Leave-vendor-out calibration figures: how honest the confidence is on vendors it never saw.

The calibration is fitted on labelled documents, so scoring it on the same documents flatters
it: a vendor's layout seen in the fit gets confidences that describe that vendor. Here every
vendor (the label's `group`) of the folder is scored with a model fitted on everything else:
the stored samples of the other labelled sets (data/calibration/) and this folder's other
vendors. The auto-accept share and precision under the configured thresholds are then given
beside the same figures from the stored model (in-sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.confidence import (
    CALIBRATION_FILE,
    GroupedSample,
    confidence,
    fit_calibration,
    load_model,
    read_samples,
)

Sample = tuple[str, dict[str, float], bool]


@dataclass
class AcceptFigures:
    """Values scored, auto-accepted, and right among the auto-accepted."""

    scored: int = 0
    accepted: int = 0
    right: int = 0

    @property
    def share(self) -> float:
        """The share of values auto-accepted."""
        return self.accepted / self.scored if self.scored else 0.0

    @property
    def precision(self) -> float:
        """The share of auto-accepted values that are right."""
        return self.right / self.accepted if self.accepted else 0.0

    def add(self, probability: float, threshold: float, right: bool) -> None:
        """Count one value (its confidence rounded as values carry it)."""
        self.scored += 1
        if round(probability, 4) >= threshold:
            self.accepted += 1
            self.right += right

    def as_dict(self) -> dict[str, Any]:
        """For the JSON figures."""
        return {
            "values": self.scored,
            "auto_accepted": self.accepted,
            "auto_accepted_share": round(self.share, 4),
            "auto_accepted_precision": round(self.precision, 4),
        }


def other_sets(folder: Path, store: Path = CALIBRATION_FILE.parent) -> list[GroupedSample]:
    """The stored calibration samples (with their vendor) of every labelled set but
    `folder`'s own."""
    own = store / f"samples_{folder.resolve().name}.jsonl"
    rows: list[GroupedSample] = []
    for file in sorted(store.glob("samples_*.jsonl")):
        if file != own:
            rows += read_samples(file)
    return rows


def leave_vendor_out(
    samples: list[Sample],
    groups: list[str],
    others: list[GroupedSample],
    thresholds: dict[str, float],
    stored: dict[str, Any] | None = None,
) -> tuple[AcceptFigures, AcceptFigures]:
    """(in-sample, leave-vendor-out) auto-accept figures of one folder's values.

    In-sample uses the `stored` calibration (default: the one the extractors use);
    leave-vendor-out scores each vendor's values with a calibration fitted without that vendor,
    here or in the other sets (the same vendor's documents in another set, such as the scans of
    its PDFs, would tell the model about it).
    """
    stored = stored if stored is not None else load_model()
    in_sample, grouped = AcceptFigures(), AcceptFigures()
    for field, evidence, right in samples:
        in_sample.add(confidence(field, evidence, stored), thresholds.get(field, 1.01), right)
    for vendor in sorted(set(groups)):
        rest = [s for s, g in zip(samples, groups, strict=True) if g != vendor]
        model = fit_calibration([o[:3] for o in others if o[3] != vendor] + rest)
        for (field, evidence, right), g in zip(samples, groups, strict=True):
            if g == vendor:
                grouped.add(confidence(field, evidence, model), thresholds.get(field, 1.01), right)
    return in_sample, grouped
