"""Classification commands: `train-classifier`, `eval-classification DIR`, `llm-server`."""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

from invoices.settings import load_settings

log = logging.getLogger("invoices")


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the history model from coded history and corrections; promote only if not worse."""
    from classifiers.embedding import get_embedder
    from classifiers.learning import retrain
    from invoices.commands.core import database
    from staging import db

    settings = load_settings()
    with database(settings) as s:
        assert s.database_url
        with db.connection(s.database_url, s.db_schema) as conn:
            db.upgrade(conn)
            report = retrain(conn, get_embedder(args.embedder or s.embedding_model), args.version)
    print(json.dumps(report.as_dict(), indent=2, default=str))
    return 0


def _cascade_for_folder(args: argparse.Namespace) -> Any:
    """A cascade trained in memory on the folder's master data (no database needed)."""
    from classifiers.approval import DEFAULT_APPROVAL_RULES, parse_rules
    from classifiers.cascade import Cascade
    from classifiers.embedding import get_embedder
    from classifiers.evaluation import coded_lines_from_csv, read_csv
    from classifiers.training import train_history_model

    settings = load_settings()
    master = args.folder / "master"
    history = embedder = None
    lines = coded_lines_from_csv(master / "coded_history.csv")
    if lines:
        embedder = get_embedder(args.embedder or settings.embedding_model)
        started = time.perf_counter()
        history, _ = train_history_model(lines, embedder, "eval-" + args.folder.name)
        log.info(
            "history model on %d lines in %.1fs: %s",
            len(lines),
            time.perf_counter() - started,
            history.metrics,
        )
    chart = {r["gl_account"]: r["name"] for r in read_csv(master / "gl_accounts.csv")}
    if not chart and history is not None:
        chart = {code: code for code in history.gl_accounts}
    centres = [r["cost_centre"] for r in read_csv(master / "cost_centres.csv")]
    return Cascade(
        history=history,
        embedder=embedder,
        llm=_llm(args, settings, chart, centres),
        rules=parse_rules(settings.approval_rules or DEFAULT_APPROVAL_RULES),
        history_threshold=args.threshold
        if args.threshold is not None
        else settings.classifier_history_threshold,
        llm_threshold=settings.classifier_llm_threshold,
    )


def _llm(args: argparse.Namespace, settings: Any, chart: dict[str, str], centres: list[str]) -> Any:
    url = args.llm_url or (settings.llm_base_url if "llm" in settings.classifier_backends else None)
    if not url or not chart:
        return None
    from classifiers.guard import Budget, CircuitBreaker
    from classifiers.llm_backend import LLMBackend
    from classifiers.llm_http import HttpChatEndpoint

    local = args.llm_local or settings.llm_endpoint_local
    endpoint = HttpChatEndpoint(
        url,
        args.llm_model or settings.llm_model,
        api_key=settings.llm_api_key,
        local=local,
        timeout_seconds=args.llm_timeout or settings.llm_timeout_seconds,
        response_format="json_object" if local else settings.llm_response_format,
    )
    return LLMBackend(
        endpoint=endpoint,
        chart=chart,
        cost_centres=centres,
        budget=Budget(
            max_calls=args.llm_max_calls,
            max_tokens=settings.llm_max_tokens_per_run,
            max_cost=settings.llm_max_cost,
            cost_per_1k_tokens=settings.llm_cost_per_1k_tokens,
        ),
        breaker=CircuitBreaker(
            settings.llm_breaker_failures, settings.llm_breaker_cooldown_seconds
        ),
        max_tokens=settings.llm_max_tokens,
        retries=settings.llm_retries,
        batch_lines=settings.llm_batch_lines,
    )


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the cascade on a labelled folder and print the figures as JSON."""
    from classifiers.evaluation import evaluate_folder

    cascade = _cascade_for_folder(args)
    try:
        report = evaluate_folder(cascade, args.folder, limit=args.limit)
    finally:
        cascade.close()
    text = json.dumps(report, indent=2, default=str)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


def cmd_llm_server(args: argparse.Namespace) -> int:
    """Run the local llama.cpp server with the packaged SmolLM2 model."""
    from classifiers.local_server import main

    return main(["--port", str(args.port), "--threads", str(args.threads)])


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the classification sub-commands."""
    p = subparsers.add_parser("train-classifier", help="retrain the GL history model")
    p.add_argument("--version", default=None, help="version name (default: a timestamp)")
    p.add_argument("--embedder", default=None, help="embedding package, or 'hashing'")
    p.set_defaults(handler=cmd_train)

    p = subparsers.add_parser(
        "eval-classification", help="score classification on a labelled folder"
    )
    p.add_argument("folder", type=Path)
    p.add_argument("--limit", type=int, default=None, help="score only the first N documents")
    p.add_argument("--threshold", type=float, default=None, help="history confidence threshold")
    p.add_argument("--embedder", default=None, help="embedding package, or 'hashing'")
    p.add_argument("--llm-url", default=None, help="OpenAI-compatible endpoint (default: settings)")
    p.add_argument("--llm-model", default=None)
    p.add_argument("--llm-local", action="store_true", help="endpoint is local: no masking")
    p.add_argument("--llm-max-calls", type=int, default=None, help="LLM call budget of the run")
    p.add_argument("--llm-timeout", type=float, default=None, help="seconds per LLM call")
    p.add_argument("--out", type=Path, default=None, help="also write the figures to this file")
    p.set_defaults(handler=cmd_eval)

    p = subparsers.add_parser("llm-server", help="run the local llama.cpp server (SmolLM2)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(handler=cmd_llm_server)
