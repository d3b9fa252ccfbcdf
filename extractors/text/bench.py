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
    parser.add_argument(
        "--passes",
        action="store_true",
        help="count and time tesseract passes by purpose (implies --workers 1)",
    )
    args = parser.parse_args(argv)
    passes = _count_passes() if args.passes else None
    if passes is not None:
        args.workers = 1
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
    if passes is not None:
        _print_passes(passes, len(per_method.get("ocr", [])))
    if pages:
        print(f"stage wall time {wall:.1f} s: {wall / pages:.3f} s/page (incl. opening, XML)")
        cpu = _cpu_seconds() - cpu_start
        print(
            f"CPU time {cpu:.1f} s: {cpu / pages:.3f} s/page (this process and finished children)"
        )
    return 0


def _count_passes() -> dict[str, list[float]]:
    """Wrap the OCR procedure's tesseract calls (inline, in this process) to record the
    seconds of each pass by its purpose: first pass, orientation check (OSD), rotated re-read,
    binarised retry, table re-read."""
    from extractors.text import ocr

    passes: dict[str, list[float]] = defaultdict(list)
    purpose: list[str] = []
    real_words, real_osd, real_try = ocr.tesseract_words, ocr.detect_rotation, ocr._try

    def words(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return real_words(*args, **kwargs)
        finally:
            what = purpose[-1] if purpose else "first pass"
            passes[what.split(" ")[0]].append(time.perf_counter() - started)

    def osd(*args, **kwargs):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return real_osd(*args, **kwargs)
        finally:
            passes["orientation (OSD)"].append(time.perf_counter() - started)

    def tried(image, languages, deadline, to_units, notes, what, mode=None):  # type: ignore[no-untyped-def]
        purpose.append(what)
        try:
            return real_try(image, languages, deadline, to_units, notes, what, mode)
        finally:
            purpose.pop()

    ocr.tesseract_words, ocr.detect_rotation, ocr._try = words, osd, tried  # type: ignore[assignment]
    return passes


def _print_passes(passes: dict[str, list[float]], ocr_pages: int) -> None:
    total = sum(sum(v) for v in passes.values())
    print(f"tesseract passes over {ocr_pages} OCR pages ({total:.1f} s in tesseract):")
    for what, seconds in sorted(passes.items(), key=lambda kv: -sum(kv[1])):
        share = 100 * sum(seconds) / max(total, 1e-9)
        print(
            f"{what:>18}: {len(seconds)} passes, {sum(seconds):.1f} s ({share:.0f}%), "
            f"mean {statistics.fmean(seconds):.2f} s"
        )


def _cpu_seconds() -> float:
    """CPU seconds of this process and its reaped children (tesseract runs as a child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


if __name__ == "__main__":
    sys.exit(main())
