"""Building the cascade once per run, from settings and Postgres.

The backends are chosen by `settings.classifier_backends` through the `BACKENDS` registry:
`history` loads the promoted history model from Postgres (training a first one from the coded
history when none exists yet), `llm` builds the guarded client of the OpenAI-compatible endpoint
at `settings.llm_base_url`. The LLM cache and call log are written to Postgres as the run goes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
from classifiers.cascade import Cascade
from classifiers.embedding import Embedder, embedder_name, get_embedder
from classifiers.guard import Budget, CircuitBreaker
from classifiers.history import HistoryModel
from classifiers.learning import retrain
from classifiers.llm import CallRecord, ChatEndpoint
from classifiers.llm_backend import LLMBackend
from invoices.settings import Settings
from staging import classification as sql
from staging import db
from staging.db import Conn

log = logging.getLogger(__name__)


class PgLLMCache:
    """The LLM cache in Postgres (shared by every run)."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def get(self, key: str) -> dict[str, Any] | None:
        """A cached answer by content hash."""
        return sql.llm_cache_get(self.conn, key)

    def put(self, key: str, model: str, answer: dict[str, Any]) -> None:
        """Remember a valid answer."""
        sql.llm_cache_put(self.conn, key, model, answer)


def pg_call_log(conn: Conn, run_id: uuid.UUID | None) -> Callable[[CallRecord], None]:
    """A call-log sink that appends each record to `llm_calls`."""

    def sink(record: CallRecord) -> None:
        sql.insert_llm_calls(conn, [record.model_dump()], run_id)

    return sink


@dataclass
class Resources:
    """What the backend factories may use."""

    settings: Settings
    conn: Conn
    run_id: uuid.UUID | None
    embedder: Embedder | None
    endpoint: ChatEndpoint | None


def load_history(res: Resources) -> HistoryModel | None:
    """The promoted history model; trains and promotes a first one if there is none yet."""
    row = sql.promoted_model(res.conn)
    if row is None and res.embedder is not None and sql.coded_history(res.conn):
        log.info("no promoted history model: training the first one")
        retrain(res.conn, res.embedder)
        row = sql.promoted_model(res.conn)
    if row is None:
        log.warning("no coded history: the history backend is off for this run")
        return None
    model = HistoryModel.from_bytes(bytes(row["artifact"]))
    log.info("history model %s loaded", model.version)
    if res.embedder is not None and embedder_name(res.embedder) != model.embedder_name:
        log.warning(
            "history model %s was trained with embedder %s, the run uses %s: retrain",
            model.version,
            model.embedder_name,
            embedder_name(res.embedder),
        )
    return model


def build_llm(res: Resources) -> LLMBackend | None:
    """The guarded LLM backend from settings (None when no endpoint is configured)."""
    s = res.settings
    endpoint = res.endpoint
    if endpoint is None and s.llm_base_url:
        from classifiers.llm_http import HttpChatEndpoint

        endpoint = HttpChatEndpoint(
            s.llm_base_url,
            s.llm_model,
            api_key=s.llm_api_key,
            local=s.llm_endpoint_local,
            timeout_seconds=s.llm_timeout_seconds,
            response_format=s.llm_response_format,
        )
    chart = sql.chart_of_accounts(res.conn)
    if endpoint is None or not chart:
        return None
    return LLMBackend(
        endpoint=endpoint,
        chart=chart,
        cost_centres=sql.cost_centre_codes(res.conn),
        budget=Budget(
            max_calls=s.llm_max_calls,
            max_tokens=s.llm_max_tokens_per_run,
            max_cost=s.llm_max_cost,
            cost_per_1k_tokens=s.llm_cost_per_1k_tokens,
        ),
        breaker=CircuitBreaker(s.llm_breaker_failures, s.llm_breaker_cooldown_seconds),
        cache=PgLLMCache(res.conn),
        call_log=pg_call_log(res.conn, res.run_id),
        max_tokens=s.llm_max_tokens,
        retries=s.llm_retries,
        batch_lines=s.llm_batch_lines,
    )


BACKENDS: dict[str, Callable[[Resources], Any]] = {"history": load_history, "llm": build_llm}


def open_cascade(
    settings: Settings,
    *,
    run_id: uuid.UUID | None = None,
    embedder: Embedder | None = None,
    endpoint: ChatEndpoint | None = None,
) -> Cascade:
    """The run's cascade; call `close()` on it at the end of the run."""
    unknown = set(settings.classifier_backends) - set(BACKENDS)
    if unknown:
        raise ValueError(
            f"unknown classifier backends {sorted(unknown)}; known: {sorted(BACKENDS)}"
        )
    if not settings.database_url:
        raise ValueError("classification needs settings.database_url")
    conn = db.connect(settings.database_url, settings.db_schema, autocommit=True)
    if embedder is None and "history" in settings.classifier_backends:
        hashing = getattr(settings, "embedding_backend", "minilm") == "hashing"
        embedder = get_embedder("hashing" if hashing else settings.embedding_model)
    res = Resources(settings, conn, run_id, embedder, endpoint)
    built = {name: BACKENDS[name](res) for name in settings.classifier_backends}
    llm = built.get("llm")
    cascade = Cascade(
        history=built.get("history"),
        embedder=embedder,
        llm=llm,
        rules=parse_rules(settings.approval_rules or DEFAULT_APPROVAL_RULES),
        history_threshold=settings.classifier_history_threshold,
        llm_threshold=settings.classifier_llm_threshold,
    )
    if llm is not None and hasattr(llm.endpoint, "close"):
        cascade.closers.append(llm.endpoint.close)
    cascade.closers.append(conn.close)
    return cascade
