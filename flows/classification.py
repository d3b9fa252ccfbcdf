"""Classification wired to Postgres and the shared embedding model: the run's cascade, and
retraining the GL history model."""

from __future__ import annotations

import uuid

from classifiers.cascade import Cascade
from classifiers.learning import TrainingReport, retrain
from classifiers.llm import ChatEndpoint
from classifiers.runtime import open_cascade
from classifiers.store import Embedder
from invoices.settings import Settings
from matchers.embeddings import load_embedder
from staging import db
from staging.classification import ClassificationStore


def classifier_embedder(settings: Settings) -> Embedder:
    """The shared embedding model at the input length of line descriptions."""
    return load_embedder(settings, settings.classifier_embedding_max_tokens)


def open_run_cascade(
    settings: Settings,
    run_id: uuid.UUID | None = None,
    *,
    embedder: Embedder | None = None,
    endpoint: ChatEndpoint | None = None,
) -> Cascade:
    """The run's cascade on its own autocommit connection (closed with the cascade), with the
    shared embedder when the history backend is on."""
    if not settings.database_url:
        raise ValueError("classification needs settings.database_url")
    if embedder is None and "history" in settings.classifier_backends:
        embedder = classifier_embedder(settings)
    conn = db.connect(settings.database_url, settings.db_schema, autocommit=True)
    try:
        cascade = open_cascade(
            settings, ClassificationStore(conn), run_id=run_id, embedder=embedder, endpoint=endpoint
        )
    except BaseException:
        conn.close()
        raise
    cascade.closers.append(conn.close)
    return cascade


def retrain_classifier(settings: Settings, version: str | None = None) -> TrainingReport:
    """Retrain the history model from the coded history and the clerks' corrections; the new
    version is promoted only if it is not worse than the current one."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        return retrain(ClassificationStore(conn), classifier_embedder(settings), version)
