"""Seconds per page of the text stage: `python -m extractors.text.bench DIR [--limit N]`.

Reads every document of DIR (sorted by name) with `describe` + `read_document` and prints, per
method (text layer, OCR), the pages read and the mean seconds per page, plus the wall time per
page of the whole stage. `--workers 1` measures OCR on one core (pages run inline).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

from extractors.text.intake import describe
from extractors.text.read import read_document
from invoices.errors import DocumentError
from invoices.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m extractors.text.bench")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--limit", type=int, default=0, help="first N documents only")
    parser.add_argument("--workers", type=int, default=0, help="OCR processes (0: one per core)")
    parser.add_argument("--no-xml", action="store_true", help="do not read embedded e-invoices")
    args = parser.parse_args(argv)
    settings = load_settings(ocr_workers=args.workers, read_einvoice_xml=not args.no_xml)
    files = sorted(p for p in args.directory.iterdir() if p.is_file())
    if args.limit:
        files = files[: args.limit]
    per_method: dict[str, list[float]] = defaultdict(list)
    confidences: list[float] = []
    wall = 0.0
    cpu_start = _cpu_seconds()
    pages = xml = failed = 0
    for path in files:
        started = time.perf_counter()
        try:
            text = read_document(describe(path, settings), settings)
        except DocumentError as exc:
            failed += 1
            print(f"{path.name}: {type(exc).__name__}: {exc.detail}", file=sys.stderr)
            continue
        wall += time.perf_counter() - started
        pages += len(text.pages)
        xml += text.einvoice_xml is not None
        for page in text.pages:
            per_method[page.method.value].append(page.seconds)
            if page.ocr_confidence is not None:
                confidences.append(page.ocr_confidence)
        for error in text.errors:
            print(f"{path.name}: page {error.page}: {error.category}: {error.message}")
    print(f"documents {len(files)} (failed {failed}, with e-invoice XML {xml}), pages {pages}")
    for method, seconds in sorted(per_method.items()):
        print(
            f"{method:>10}: {len(seconds)} pages, mean {statistics.fmean(seconds):.3f} s/page, "
            f"median {statistics.median(seconds):.3f}, max {max(seconds):.3f}"
        )
    if confidences:
        print(f"OCR mean word confidence {statistics.fmean(confidences):.3f}")
    if pages:
        print(f"stage wall time {wall:.1f} s: {wall / pages:.3f} s/page (incl. opening, XML)")
        cpu = _cpu_seconds() - cpu_start
        print(
            f"CPU time {cpu:.1f} s: {cpu / pages:.3f} s/page (this process and finished children)"
        )
    return 0


def _cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (tesseract runs as a child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    sys.exit(main())
