"""Log lines that say which run and which document they belong to.

Two context variables hold the batch run id and the document (its id, the first 12 hex digits
of its sha256, and its file name); a filter on every handler copies them onto each record, so
the plain format shows `run=... doc=... file=...` and the JSON format has them as keys. One
grep for a file name or document id finds that document's whole story in a run's log.
"""

from __future__ import annotations

import contextvars
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_RUN: contextvars.ContextVar[str] = contextvars.ContextVar("invoices_run", default="-")
_DOC: contextvars.ContextVar[tuple[str, str]] = contextvars.ContextVar(
    "invoices_document", default=("-", "-")
)

PLAIN_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s [run=%(run_id)s doc=%(document_id)s file=%(file_name)s]"
    " %(message)s"
)


class RunContextFilter(logging.Filter):
    """Copies the current run and document onto every record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.run_id = _RUN.get()
        record.document_id, record.file_name = _DOC.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, run, document, file."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", _RUN.get()),
            "document_id": getattr(record, "document_id", _DOC.get()[0]),
            "file_name": getattr(record, "file_name", _DOC.get()[1]),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def _handlers() -> Iterator[logging.Handler]:
    seen: set[int] = set()
    for name in ("", "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if id(handler) not in seen:
                seen.add(id(handler))
                yield handler


def configure(json_lines: bool = False) -> None:
    """Put the run/document filter (and the chosen format) on the root and Prefect handlers;
    called by the command line and at the start of every run (Prefect sets up its own)."""
    formatter: logging.Formatter = (
        JsonFormatter() if json_lines else logging.Formatter(PLAIN_FORMAT)
    )
    for handler in _handlers():
        if not any(isinstance(f, RunContextFilter) for f in handler.filters):
            handler.addFilter(RunContextFilter())
        if isinstance(handler, logging.StreamHandler):  # not the one that ships logs to the API
            handler.setFormatter(formatter)


def run_logger(fallback: logging.Logger) -> logging.Logger | logging.LoggerAdapter[Any]:
    """The Prefect run logger inside a flow or task run (its lines reach the Prefect server
    too), else `fallback`."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return fallback


@contextmanager
def run_scope(run_id: uuid.UUID | str) -> Iterator[None]:
    """Every log line inside carries this run id."""
    token = _RUN.set(str(run_id))
    try:
        yield
    finally:
        _RUN.reset(token)


@contextmanager
def document_scope(sha256: str, file_name: str) -> Iterator[None]:
    """Every log line inside carries this document's id and file name."""
    token = _DOC.set(((sha256 or "-")[:12], file_name))
    try:
        yield
    finally:
        _DOC.reset(token)


def current_scope() -> tuple[str, tuple[str, str]]:
    """The run and document this thread's log lines carry, for a worker process to carry on."""
    return _RUN.get(), _DOC.get()


@contextmanager
def carried_scope(scope: tuple[str, tuple[str, str]]) -> Iterator[None]:
    """Every log line inside carries the run and document of `current_scope()` elsewhere."""
    run_token, doc_token = _RUN.set(scope[0]), _DOC.set(scope[1])
    try:
        yield
    finally:
        _DOC.reset(doc_token)
        _RUN.reset(run_token)
