"""`invoices eval DIR`: score the extraction on a labelled folder (shared/eval format).

Prints per field recall and precision (all documents, and those whose label is visible in the
text), line-item F1, per-group figures, seconds per page by path, the calibration figures, and
ends with `overall: recall R precision P over N documents`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from extractors.evaluation.report import evaluate_folder
from invoices.settings import load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` sub-command."""
    parser = subparsers.add_parser("eval", help="score extraction on a labelled folder")
    parser.add_argument("folder", type=Path, help="folder with manifest.jsonl, labels/, docs/")
    parser.add_argument("--split", default=None, help="only documents of this split")
    parser.add_argument("--no-einvoice", action="store_true", help="score the visual path alone")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    parser.add_argument(
        "--workers", type=int, default=1, help="documents read in parallel (1: per-core timing)"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument(
        "--predictions",
        type=Path,
        default=None,
        help="score these predictions (JSON per doc_id) instead of running",
    )
    parser.add_argument(
        "--ocr-cache",
        type=Path,
        default=None,
        help="folder of stored OCR readings, reused when file and OCR settings match"
        " (default: data/cache/ocr under the data folder)",
    )
    parser.add_argument("--no-ocr-cache", action="store_true", help="OCR every scanned page afresh")
    parser.add_argument(
        "--fit-calibration",
        action="store_true",
        help="fit the confidence calibration on this folder and save it",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the extraction over the folder and print the scores."""
    settings = load_settings()
    cache = None if args.no_ocr_cache else args.ocr_cache or settings.data_dir / "cache" / "ocr"
    evaluation = evaluate_folder(
        args.folder,
        settings,
        split=args.split,
        limit=args.limit,
        predictions=args.predictions,
        use_einvoice=not args.no_einvoice,
        workers=args.workers,
        fit_calibration=args.fit_calibration,
        ocr_cache=cache,
    )
    print(evaluation.text)
    if args.json:
        args.json.write_text(json.dumps(evaluation.figures, indent=1))
    return 0
