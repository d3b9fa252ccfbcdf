"""Matching commands: `eval-matching DIR` (accuracy on a labelled corpus), `bench-matching`
(time and memory at scale) and `fit-vendor-model DIR` (calibrate the vendor match model)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from invoices.settings import load_settings
from staging.embedded import database


def cmd_bench(args: argparse.Namespace) -> int:
    """`invoices bench-matching`: match N synthetic invoices against a large master."""
    from flows.bench import BenchSize, bench_matching

    size = BenchSize(args.invoices, args.vendors, args.po_lines, args.seed, args.budget_seconds)
    settings = load_settings(db_schema=args.schema, embedding_quantize=args.quantize)
    with database(settings) as s:
        text, within_budget = bench_matching(s, size)
    print(text)
    return 0 if within_budget else 1


def cmd_eval(args: argparse.Namespace) -> int:
    """`invoices eval-matching DIR`: match a generated corpus and score it against its truth."""
    from flows.evaluation import MatchingRun, eval_matching

    run = MatchingRun(
        args.source, args.cache, args.workers, args.limit, args.vendor_model, args.show_errors
    )
    text, figures = eval_matching(args.folder, load_settings(db_schema=args.schema), run)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """`invoices fit-vendor-model DIR...`: calibrate the vendor match model on generated
    corpora (never the one it is evaluated on) and write matchers/vendor_model.json."""
    from flows.evaluation import fit_vendor_model_on

    settings = load_settings(db_schema=args.schema)
    print(fit_vendor_model_on(args.folders, settings, args.sources, args.workers, args.out))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the matching sub-commands."""
    bench = subparsers.add_parser(
        "bench-matching", help="time vendor/PO/duplicate matching at scale"
    )
    bench.add_argument("--invoices", type=int, default=10_000)
    bench.add_argument("--vendors", type=int, default=50_000)
    bench.add_argument("--po-lines", type=int, default=200_000)
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--schema", default="bench_matching", help="Postgres schema (kept, cached)")
    bench.add_argument("--quantize", action="store_true", help="int8 embedding model")
    bench.add_argument("--budget-seconds", type=float, default=60.0)
    bench.set_defaults(handler=cmd_bench)

    ev = subparsers.add_parser("eval-matching", help="score matching on a generated corpus")
    ev.add_argument("folder", type=Path, help="a corpus of `invoices generate` (master, labels)")
    ev.add_argument(
        "--source",
        choices=("extract", "labels"),
        default="extract",
        help="extract the documents (default) or take the printed values",
    )
    ev.add_argument("--cache", type=Path, default=None, help="extracted invoices cache folder")
    ev.add_argument("--workers", type=int, default=2)
    ev.add_argument("--limit", type=int, default=0)
    ev.add_argument("--schema", default="eval_matching", help="Postgres schema (kept, cached)")
    ev.add_argument("--json", type=Path, default=None)
    ev.add_argument("--show-errors", type=int, default=0, help="print the first N errors")
    ev.add_argument("--vendor-model", type=Path, default=None, help="a fitted model JSON")
    ev.set_defaults(handler=cmd_eval)

    fit = subparsers.add_parser("fit-vendor-model", help="calibrate the vendor match model")
    fit.add_argument("folders", type=Path, nargs="+", help="generated corpora to fit on")
    fit.add_argument("--sources", nargs="+", default=["extract", "labels"])
    fit.add_argument("--workers", type=int, default=2)
    fit.add_argument("--schema", default="fit_matching")
    fit.add_argument("--out", type=Path, default=None)
    fit.set_defaults(handler=cmd_fit)
