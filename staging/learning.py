"""The learning loop's store side: reviewed values as labels, candidate calibrations recorded
with their figures, and the promoted calibration a run uses.

Staged confidences are the ones the run's calibration produced; the run records that version
in its metrics (`model_versions.calibration`), and the labels are mapped back to the raw
confidence of the extractor before fitting, so a new candidate is always fitted and scored on
the same scale as the current one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from extractors import recalibration
from staging import classification, models
from staging.corrections import correction_samples
from staging.db import Conn

KIND = "calibration"
IDENTITY_VERSION = "calibration-identity"


def _calibration_by_run(conn: Conn) -> dict[str, dict[str, Any]]:
    rows = conn.execute(
        "SELECT run_id::text AS run_id, metrics -> 'model_versions' ->> 'calibration' AS version"
        " FROM batch_runs"
    ).fetchall()
    used = {r["run_id"]: r["version"] for r in rows if r["version"]}
    artifacts = models.json_artifacts(conn, KIND, sorted(set(used.values())))
    return {run: artifacts.get(version, {}) for run, version in used.items()}


def reviewed_samples(conn: Conn) -> list[tuple[int, recalibration.Sample]]:
    """(document id, sample) for every reviewed header value, at the extractor's raw confidence."""
    by_run = _calibration_by_run(conn)
    samples = []
    for row in correction_samples(conn):
        if row["confidence"] is None:
            continue
        used = by_run.get(str(row["run_id"]), {})
        method = row["method"]
        raw = recalibration.raw(used, row["field"], float(row["confidence"]), method)
        sample = recalibration.Sample(row["field"], raw, not row["corrected"], method)
        samples.append((row["document_id"], sample))
    return samples


def _ensure_identity(conn: Conn) -> None:
    if models.promoted_json(conn, KIND)[0] is None:
        classification.save_model(
            conn, version=IDENTITY_VERSION, kind=KIND, trained_lines=0, corrections=0,
            embedder="", metrics={}, baseline=None, promote=True,
            decision="the shipped calibration unchanged (identity): the first baseline",
            artifact=b"{}",
        )  # fmt: skip


def retrain_calibration(
    conn: Conn, labelled: Sequence[Path] = (), version: str | None = None, **fit_options: Any
) -> dict[str, Any]:
    """Fit a candidate recalibration from the reviewed values, score it against the promoted
    one on the held-back documents (and the labelled sets), record it with its figures, and
    promote it only when no guarded figure gets worse. Returns what was decided."""
    _ensure_identity(conn)
    current_version, current = models.promoted_json(conn, KIND)
    samples = reviewed_samples(conn)
    candidate = recalibration.train_candidate(
        samples, current, recalibration.labelled_samples(labelled), **fit_options
    )
    version = version or "calibration-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    classification.save_model(
        conn, version=version, kind=KIND, trained_lines=candidate.trained,
        corrections=sum(1 for _, s in samples if not s.right), embedder="",
        metrics=candidate.metrics, baseline={**candidate.baseline, "version": current_version},
        promote=candidate.promote, decision=candidate.decision,
        artifact=json.dumps(candidate.model).encode("utf-8"),
    )  # fmt: skip
    return {
        "kind": KIND, "version": version, "promoted": candidate.promote,
        "decision": candidate.decision, "current": current_version,
        "metrics": candidate.metrics, "baseline": candidate.baseline,
        "fitted_on": candidate.trained, "held_back": candidate.held_back,
    }  # fmt: skip


def promoted_calibration(conn: Conn) -> tuple[str | None, dict[str, Any]]:
    """The promoted recalibration (version, model) a run applies; (None, {}) before any."""
    return models.promoted_json(conn, KIND)
