"""The learning loop: `retrain`, weekly (and `invoices retrain`), refits the models clerks'
work can improve and promotes each candidate only when no guarded figure gets worse.

- the extraction confidence calibration, from reviewed values (staging.learning), scored on
  held-back documents and on the labelled sets in data/calibration;
- the vendor aliases, from the links clerks made on VENDOR_UNKNOWN items (flows.alias_learning),
  scored on held-back links and on the invoices already confirmed;
- the GL history model, from the coded history and classification corrections
  (classifiers.learning via flows.classification).

Each candidate is stored with its figures and the current model's (classifier_models);
`invoices rollback KIND` restores the version promoted before.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import alias_learning
from flows.classification import retrain_classifier
from invoices.settings import Settings, load_settings
from matchers.embeddings import load_embedder
from staging import db, learning, models

CALIBRATION_SETS = sorted(
    (Path(__file__).resolve().parent.parent / "data" / "calibration").glob("samples_*.jsonl")
)
WEEKLY = "0 3 * * 0"  # Sundays 03:00 UTC
KINDS = ("calibration", "vendor_aliases", "history")


@task(name="retrain-calibration", cache_policy=NO_CACHE)
def retrain_calibration_task(settings: Settings) -> dict[str, Any]:
    """Fit, score and maybe promote a confidence recalibration."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        return learning.retrain_calibration(conn, CALIBRATION_SETS)


@task(name="retrain-vendor-aliases", cache_policy=NO_CACHE)
def retrain_aliases_task(settings: Settings) -> dict[str, Any]:
    """Learn, score and maybe promote a vendor alias table from the clerks' links."""
    assert settings.database_url
    embedder = load_embedder(settings)
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        return alias_learning.retrain_aliases(conn, embedder, settings)


@task(name="retrain-gl-history", cache_policy=NO_CACHE)
def retrain_history_task(settings: Settings) -> dict[str, Any]:
    """Retrain the GL history model (promoted only if not worse on held-out lines)."""
    return {"kind": "history", **retrain_classifier(settings).as_dict()}


@flow(name="retrain")
def retrain(overrides: dict[str, Any] | None = None, kinds: list[str] | None = None) -> dict:
    """Refit every kind asked for (all by default); returns each one's decision."""
    settings = load_settings(**(overrides or {}))
    tasks = {
        "calibration": retrain_calibration_task,
        "vendor_aliases": retrain_aliases_task,
        "history": retrain_history_task,
    }
    report = {kind: tasks[kind](settings) for kind in (kinds or KINDS)}
    for kind, outcome in report.items():
        get_run_logger().info("%s %s: %s", kind, outcome.get("version"), outcome.get("decision"))
    return report


def rollback(settings: Settings, kind: str, actor: str) -> tuple[str, str]:
    """Restore the version of `kind` promoted before the current one."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        return models.rollback(conn, kind, actor=actor)


def serve_weekly() -> None:  # pragma: no cover - a long-running process
    """Serve the flow with its weekly schedule (needs a Prefect server: PREFECT_API_URL)."""
    from prefect.schedules import Cron

    retrain.serve(name="retrain-weekly", schedules=[Cron(WEEKLY, timezone="UTC")])


def retrain_now(settings: Settings, kinds: list[str] | None = None) -> dict[str, Any]:
    """The retrain flow, now, on a database that is up (what `invoices retrain` runs)."""
    assert settings.database_url
    overrides = {"database_url": settings.database_url, "db_schema": settings.db_schema}
    return retrain(overrides=overrides, kinds=kinds)
