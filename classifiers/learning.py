"""Retraining the history model from coded history plus the clerks' corrections.

A new version is always recorded with its evaluation; it is promoted only if it scores at
least as well as the promoted one on the same held-out recent lines (the promoted model is
scored with those lines removed from its neighbours, so neither model has seen them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from classifiers.history import CodedLine, HistoryModel
from classifiers.store import ClassificationStore, Embedder, embedder_name
from classifiers.training import (
    PROMOTION_METRIC,
    better_or_equal,
    evaluate_model,
    train_history_model,
    without_references,
)

log = logging.getLogger(__name__)

CORRECTION_WEIGHT = 2.0


@dataclass
class TrainingReport:
    """What `invoices train-classifier` did."""

    version: str
    trained_lines: int
    corrections: int
    metrics: dict[str, float]
    baseline: dict[str, float] | None
    promoted: bool
    decision: str

    def as_dict(self) -> dict[str, Any]:
        """For printing as JSON."""
        return dict(self.__dict__)


def coded_lines(rows: list[dict[str, Any]], weight: float = 1.0) -> list[CodedLine]:
    """CodedLine records from coded_history or correction rows."""
    return [
        CodedLine(
            invoice_id=str(r["invoice_id"]),
            line_no=int(r["line_no"]),
            vendor_id=r.get("vendor_id"),
            description=r.get("description") or "",
            gl_account=r["gl_account"],
            cost_centre=r.get("cost_centre"),
            amount=r.get("amount"),
            invoice_date=r.get("invoice_date"),
            weight=weight,
        )
        for r in rows
        if r.get("gl_account")
    ]


def merge_corrections(history: list[CodedLine], corrections: list[CodedLine]) -> list[CodedLine]:
    """History with each corrected line replaced by the clerk's coding (new lines appended)."""
    fixed = {(c.invoice_id, c.line_no): c for c in corrections}
    merged = [fixed.pop((h.invoice_id, h.line_no), h) for h in history]
    return merged + list(fixed.values())


def retrain(
    store: ClassificationStore, embedder: Embedder, version: str | None = None
) -> TrainingReport:
    """Train a new version, record it with its evaluation, promote it only if not worse."""
    history = coded_lines(store.coded_history())
    corrections = coded_lines(store.latest_corrections(), weight=CORRECTION_WEIGHT)
    lines = merge_corrections(history, corrections)
    if not lines:
        raise ValueError("no coded history and no corrections to train on")
    version = version or "history-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    model, holdout = train_history_model(lines, embedder, version)
    baseline = _baseline(store, holdout, embedder)
    promote = better_or_equal(model.metrics, baseline)
    if baseline is None:
        decision = "promoted: no current model"
    else:
        verb = "promoted" if promote else "refused"
        decision = (
            f"{verb}: {PROMOTION_METRIC} {model.metrics.get(PROMOTION_METRIC)} vs current "
            f"{baseline.get(PROMOTION_METRIC)} ({baseline.get('version')})"
        )
    store.save_model(
        version=version,
        kind="history",
        trained_lines=len(lines),
        corrections=len(corrections),
        embedder=embedder_name(embedder),
        metrics=model.metrics,
        baseline=baseline,
        promote=promote,
        decision=decision,
        artifact=model.to_bytes(),
    )
    log.info("history model %s: %s", version, decision)
    return TrainingReport(
        version, len(lines), len(corrections), model.metrics, baseline, promote, decision
    )


def _baseline(
    store: ClassificationStore, holdout: list[CodedLine], embedder: Embedder
) -> dict[str, Any] | None:
    row = store.promoted_model()
    if row is None:
        return None
    current = HistoryModel.from_bytes(bytes(row["artifact"]))
    unseen = without_references(current, {f"{ln.invoice_id}:{ln.line_no}" for ln in holdout})
    scores: dict[str, Any] = dict(evaluate_model(unseen, holdout, embedder))
    scores["version"] = current.version
    return scores
