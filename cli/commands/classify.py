"""Classification commands: `train-classifier`, `eval-classification DIR`, `llm-server`,
`bench-llm`."""

from __future__ import annotations

import argparse
import json
import tempfile
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
        misses=args.misses,
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


def cmd_bench_llm(args: argparse.Namespace) -> int:
    """Time the language model on generated lines, called as the cascade calls it."""
    from classifiers.bench_llm import labelled_invoices, parse_llama_perf, run_bench
    from classifiers.llm_http import HttpChatEndpoint
    from classifiers.local_server import packaged_gguf, start_server
    from synthetic.coding import chart_of_accounts, coded_invoices, cost_centre_codes

    invoices = labelled_invoices(coded_invoices(args.invoices, args.lines, args.seed))
    server, url, model = None, args.url, args.llm_model
    if url is None:
        log_path = Path(tempfile.mkdtemp(prefix="bench-llm-")) / "server.log"
        server = start_server(
            packaged_gguf(), threads=args.threads, n_ctx=args.n_ctx, log_path=log_path
        )
        url, model = server.base_url, server.model_path.stem
    endpoint = HttpChatEndpoint(
        url,
        model or "smollm2",
        local=True,
        timeout_seconds=args.timeout,
        response_format=args.response_format,
    )
    try:
        figures = run_bench(
            endpoint,
            chart_of_accounts(),
            cost_centre_codes(),
            invoices,
            batch_lines=args.batch_lines,
            max_tokens=args.max_tokens,
        )
    finally:
        endpoint.close()
        if server is not None:
            server.stop()
    if server is not None and server.log_path is not None:
        figures["llama_cpp"] = parse_llama_perf(server.log_path.read_text(errors="replace"))
    settings = {k: getattr(args, k) for k in ("response_format", "batch_lines", "max_tokens")}
    if server is not None:
        settings.update(threads=args.threads, n_ctx=args.n_ctx)
    print(json.dumps({"settings": settings, **figures}, indent=2, default=str))
    return 0


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
    p.add_argument("--misses", type=int, default=0, help="list the first N documents typed wrong")
    p.set_defaults(handler=cmd_eval)

    p = subparsers.add_parser("llm-server", help="run the local llama.cpp server (SmolLM2)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--threads", type=int, default=1, help="llama.cpp threads")
    p.set_defaults(handler=cmd_llm_server)

    p = subparsers.add_parser(
        "bench-llm", help="seconds, tokens and accuracy per LLM call on generated lines"
    )
    p.add_argument("--url", default=None, help="an endpoint (default: start the packaged one)")
    p.add_argument("--llm-model", default=None, help="model name at --url")
    p.add_argument("--invoices", type=int, default=6, help="generated invoices (one call each)")
    p.add_argument("--lines", type=int, default=8, help="lines per invoice, at most")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch-lines", type=int, default=8, help="lines per call")
    p.add_argument("--max-tokens", type=int, default=64, help="completion tokens per line")
    p.add_argument(
        "--response-format", default="json_object", choices=("json_object", "json_schema")
    )
    p.add_argument("--threads", type=int, default=1, help="threads of the started server")
    p.add_argument("--n-ctx", type=int, default=2048, help="context of the started server")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per call")
    p.set_defaults(handler=cmd_bench_llm)
