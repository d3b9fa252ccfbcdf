"""`invoices generate`: write a synthetic invoice corpus with master data and labels."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from synthetic import ANOMALY_KINDS, DEFAULT_ANOMALY_RATES, FAMILY_KINDS, generate_corpus
from synthetic.plan import ALL_LOCALES


def _kind_rate(kinds: tuple[str, ...]):
    def parse(text: str) -> tuple[str, float]:
        kind, sep, value = text.partition("=")
        if not sep or kind not in kinds:
            raise argparse.ArgumentTypeError(f"expected KIND=RATE with KIND in {', '.join(kinds)}")
        return kind, float(value)

    return parse


_rate = _kind_rate(ANOMALY_KINDS)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `generate` sub-command."""
    p = subparsers.add_parser("generate", help="write a synthetic invoice corpus with ground truth")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument("--invoices", type=int, default=100, help="number of documents")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--vendors", type=int, default=None, help="vendors in the master (default max(20, N/10))"
    )
    p.add_argument(
        "--history-lines", type=int, default=None, help="coded history lines (default 10*N)"
    )
    p.add_argument("--scanned", type=float, default=0.3, help="share of scanned documents")
    p.add_argument("--images", type=float, default=0.3, help="share of scans written as PNG/JPEG")
    p.add_argument(
        "--multipage", type=float, default=0.08, help="share of long, multi-page invoices"
    )
    p.add_argument("--locales", default=",".join(ALL_LOCALES), help="comma-separated locales")
    p.add_argument(
        "--anomaly-rate",
        type=_rate,
        action="append",
        default=[],
        metavar="KIND=RATE",
        help="override one anomaly rate (repeatable)",
    )
    p.add_argument("--no-anomalies", action="store_true", help="set every anomaly rate to 0")
    p.add_argument(
        "--families",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="print every layout family (synthetic/families.py) at this share (default 0)",
    )
    p.add_argument(
        "--family-rate",
        type=_kind_rate(FAMILY_KINDS),
        action="append",
        default=[],
        metavar="KIND=SHARE",
        help="override one layout family's share (repeatable)",
    )
    p.add_argument("--workers", type=int, default=0, help="render processes (0: one per core)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Generate the corpus and print its size, rate and peak memory."""
    logging.getLogger("fontTools").setLevel(logging.WARNING)  # one line per subset table
    rates = {k: 0.0 for k in ANOMALY_KINDS} if args.no_anomalies else dict(DEFAULT_ANOMALY_RATES)
    rates.update(dict(args.anomaly_rate))
    families = {k: args.families for k in FAMILY_KINDS} | dict(args.family_rate)
    locales = tuple(x.strip() for x in args.locales.split(",") if x.strip())
    unknown = set(locales) - set(ALL_LOCALES)
    if unknown:
        print(
            f"unknown locales: {', '.join(sorted(unknown))}; choose from {', '.join(ALL_LOCALES)}"
        )
        return 2
    summary = generate_corpus(
        args.out,
        args.invoices,
        args.seed,
        workers=args.workers,
        vendors=args.vendors,
        history_lines=args.history_lines,
        scanned_share=args.scanned,
        image_share=args.images,
        multipage_share=args.multipage,
        locales=locales,
        anomaly_rates=rates,
        family_rates=families,
    )
    print(summary.report())
    return 0
