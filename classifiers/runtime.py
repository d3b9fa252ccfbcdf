"""Building the cascade once per run, from settings and the classification store.

The backends are chosen by `settings.classifier_backends` through the `BACKENDS` registry:
`history` loads the promoted history model from the store (training a first one from the coded
history when none exists yet), `llm` builds the guarded client of the OpenAI-compatible endpoint
at `settings.llm_base_url`. The LLM cache and call log are written to the store as the run goes.
The store and the embedder are passed in (`flows` wires them to Postgres and the shared model).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
from classifiers.cascade import Cascade
from classifiers.evaluation import coded_lines_from_csv, read_csv
from classifiers.guard import Budget, CircuitBreaker
from classifiers.history import HistoryModel
from classifiers.learning import retrain
from classifiers.llm import CallRecord, ChatEndpoint
from classifiers.llm_backend import LLMBackend
from classifiers.store import ClassificationStore, Embedder, embedder_name
from classifiers.training import train_history_model
from invoices.settings import Settings

log = logging.getLogger(__name__)


class StoredLLMCache:
    """The LLM cache in the classification store (shared by every run)."""

    def __init__(self, store: ClassificationStore) -> None:
        self.store = store

    def get(self, key: str) -> dict[str, Any] | None:
        """A cached answer by content hash."""
        return self.store.llm_cache_get(key)

    def put(self, key: str, model: str, answer: dict[str, Any]) -> None:
        """Remember a valid answer."""
        self.store.llm_cache_put(key, model, answer)


def stored_call_log(
    store: ClassificationStore, run_id: uuid.UUID | None
) -> Callable[[CallRecord], None]:
    """A call-log sink that appends each record to the store's call log."""

    def sink(record: CallRecord) -> None:
        store.insert_llm_calls([record.model_dump()], run_id)

    return sink


@dataclass
class Resources:
    """What the backend factories may use."""

    settings: Settings
    store: ClassificationStore
    run_id: uuid.UUID | None
    embedder: Embedder | None
    endpoint: ChatEndpoint | None


def load_history(res: Resources) -> HistoryModel | None:
    """The promoted history model; trains and promotes a first one if there is none yet."""
    row = res.store.promoted_model()
    if row is None and res.embedder is not None and res.store.coded_history():
        log.info("no promoted history model: training the first one")
        retrain(res.store, res.embedder)
        row = res.store.promoted_model()
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
    return llm_backend(
        res.settings,
        res.store.chart_of_accounts(),
        res.store.cost_centre_codes(),
        endpoint=res.endpoint,
        cache=StoredLLMCache(res.store),
        call_log=stored_call_log(res.store, res.run_id),
    )


def llm_backend(
    settings: Settings,
    chart: dict[str, str],
    cost_centres: list[str],
    *,
    endpoint: ChatEndpoint | None = None,
    cache: StoredLLMCache | None = None,
    call_log: Callable[[CallRecord], None] | None = None,
) -> LLMBackend | None:
    """The LLM backend under the budget and breaker of `settings`, over `endpoint` or the
    OpenAI-compatible one at `settings.llm_base_url` (None without an endpoint or a chart)."""
    s = settings
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
    if endpoint is None or not chart:
        return None
    return LLMBackend(
        endpoint=endpoint,
        chart=chart,
        cost_centres=cost_centres,
        budget=Budget(
            max_calls=s.llm_max_calls,
            max_tokens=s.llm_max_tokens_per_run,
            max_cost=s.llm_max_cost,
            cost_per_1k_tokens=s.llm_cost_per_1k_tokens,
        ),
        breaker=CircuitBreaker(s.llm_breaker_failures, s.llm_breaker_cooldown_seconds),
        cache=cache,
        call_log=call_log,
        max_tokens=s.llm_max_tokens,
        retries=s.llm_retries,
        batch_lines=s.llm_batch_lines,
    )


BACKENDS: dict[str, Callable[[Resources], Any]] = {"history": load_history, "llm": build_llm}


def open_cascade(
    settings: Settings,
    store: ClassificationStore,
    *,
    run_id: uuid.UUID | None = None,
    embedder: Embedder | None = None,
    endpoint: ChatEndpoint | None = None,
) -> Cascade:
    """The run's cascade over `store`, with `embedder` for the history backend (without one
    the history backend is off); call `close()` on it at the end of the run."""
    unknown = set(settings.classifier_backends) - set(BACKENDS)
    if unknown:
        raise ValueError(
            f"unknown classifier backends {sorted(unknown)}; known: {sorted(BACKENDS)}"
        )
    res = Resources(settings, store, run_id, embedder, endpoint)
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
    return cascade


def cascade_for_folder(folder: Path, settings: Settings, embedder: Embedder | None) -> Cascade:
    """A cascade trained in memory on a labelled folder's master data (no database): the
    history model from `master/coded_history.csv` (when `embedder` is given), the chart and
    cost centres from its CSVs, and the LLM when `settings` names an endpoint."""
    master = folder / "master"
    history = None
    lines = coded_lines_from_csv(master / "coded_history.csv")
    if lines and embedder is not None:
        started = time.perf_counter()
        history, _ = train_history_model(lines, embedder, "eval-" + folder.name)
        log.info(
            "history model on %d lines in %.1fs: %s",
            len(lines),
            time.perf_counter() - started,
            history.metrics,
        )
    else:
        embedder = None
    chart = {r["gl_account"]: r["name"] for r in read_csv(master / "gl_accounts.csv")}
    if not chart and history is not None:
        chart = {code: code for code in history.gl_accounts}
    centres = [r["cost_centre"] for r in read_csv(master / "cost_centres.csv")]
    llm = llm_backend(settings, chart, centres) if "llm" in settings.classifier_backends else None
    return Cascade(
        history=history,
        embedder=embedder,
        llm=llm,
        rules=parse_rules(settings.approval_rules or DEFAULT_APPROVAL_RULES),
        history_threshold=settings.classifier_history_threshold,
        llm_threshold=settings.classifier_llm_threshold,
    )
