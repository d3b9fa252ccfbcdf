"""Classification commands: `train-classifier`, `eval-classification DIR`, `llm-server`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from invoices.settings import Settings, load_settings
from staging.embedded import database


def _settings(args: argparse.Namespace, **overrides: Any) -> Settings:
    """Settings with the `--embedder` choice: a model package, or `hashing` (no model)."""
    if args.embedder:
        if args.embedder.startswith("hashing"):
            overrides["embedding_backend"] = "hashing"
        else:
            overrides["embedding_model"] = args.embedder
    return load_settings(**overrides)


def cmd_train(args: argparse.Namespace) -> int:
    """Retrain the history model from coded history and corrections; promote only if not worse."""
    from flows.classification import retrain_classifier

    with database(_settings(args)) as s:
        report = retrain_classifier(s, args.version)
    print(json.dumps(report.as_dict(), indent=2, default=str))
    return 0


def _eval_settings(args: argparse.Namespace) -> Settings:
    """The settings of `eval-classification`: the command's LLM and threshold options over
    the environment's."""
    base = _settings(args)
    overrides: dict[str, Any] = {}
    if args.threshold is not None:
        overrides["classifier_history_threshold"] = args.threshold
    if args.llm_url:
        overrides["llm_base_url"] = args.llm_url
        overrides["classifier_backends"] = (*base.classifier_backends, "llm")
    local = args.llm_local or base.llm_endpoint_local
    overrides["llm_endpoint_local"] = local
    if local:
        overrides["llm_response_format"] = "json_object"
    if args.llm_model:
        overrides["llm_model"] = args.llm_model
    if args.llm_timeout:
        overrides["llm_timeout_seconds"] = args.llm_timeout
    overrides["llm_max_calls"] = args.llm_max_calls
    return base.model_copy(update=overrides)


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the cascade on a labelled folder and print the figures as JSON."""
    from flows.evaluation import eval_classification

    report = eval_classification(
        args.folder,
        _eval_settings(args),
        pipeline_text=not args.text_layer_only,
        workers=args.workers,
        limit=args.limit,
    )
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
    p.add_argument(
        "--text-layer-only",
        action="store_true",
        help="classify on the PDF text layer alone (fast; scans then have no text)",
    )
    p.add_argument("--workers", type=int, default=2, help="documents read at once")
    p.set_defaults(handler=cmd_eval)

    p = subparsers.add_parser("llm-server", help="run the local llama.cpp server (SmolLM2)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--threads", type=int, default=2)
    p.set_defaults(handler=cmd_llm_server)
