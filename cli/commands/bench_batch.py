"""`invoices bench-batch --invoices N`: the nightly batch on a generated corpus (70% born-digital,
30% scanned, about 1.5 pages each) against the OCR floor measured in the same run."""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
from pathlib import Path

from invoices.settings import load_settings
from staging.embedded import database

# long invoices (22-48 lines) run to 2-3 pages: this share of them brings the corpus to about
# 1.5 pages per document (100 documents: 150 pages, seed 7)
MULTIPAGE_SHARE = 0.45


def cmd_bench_batch(args: argparse.Namespace) -> int:
    """Generate the corpus (or reuse `--corpus`), measure the floor, run the batch, print."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from flows.bench_batch import bench_batch, bench_text

    overrides = {}
    if args.dask_workers:
        overrides = {"task_runner": "dask", "dask_workers": args.dask_workers}
    settings = load_settings(**overrides)
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        corpus = args.corpus or Path(tmp) / "corpus"
        if not (corpus / "docs").is_dir():
            _generate(corpus, args.invoices, args.seed)
        with database(settings) as s:
            result = bench_batch(s, corpus, args.workers)
    text = bench_text(result, settings, args.workers)
    print(text)
    if args.json:
        figures = {
            "documents": result.documents,
            "wall_seconds": round(result.wall, 2),
            "floor": result.floor.__dict__,
            "ratio": round(result.ratio, 3),
            "born_digital": result.born_digital,
            "memory": result.memory,
            "load": result.load,
            "summary": result.summary,
        }
        args.json.write_text(json.dumps(figures, indent=1, default=str))
    return 0


def _generate(out: Path, invoices: int, seed: int) -> None:
    from synthetic import generate_corpus

    logging.getLogger("fontTools").setLevel(logging.WARNING)
    summary = generate_corpus(
        out, invoices, seed, scanned_share=0.3, multipage_share=MULTIPAGE_SHARE
    )
    print(summary.report().splitlines()[0])


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `bench-batch` sub-command."""
    p = subparsers.add_parser(
        "bench-batch", help="time the nightly batch on a generated corpus against its OCR floor"
    )
    p.add_argument("--invoices", type=int, default=100, help="documents in the corpus")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workers", type=int, default=0, help="documents processed at once")
    p.add_argument(
        "--dask-workers", type=int, default=0, help="run on a local Dask cluster of N workers"
    )
    p.add_argument(
        "--corpus", type=Path, default=None, help="reuse this generated corpus (keeps it)"
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.set_defaults(handler=cmd_bench_batch)
