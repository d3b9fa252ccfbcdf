"""The OCR floor of a batch: one plain tesseract pass per scanned page, one process per core.

What the text stage cannot go below on this machine: every page the batch sends to OCR (an
image's frames, a PDF page whose text layer is too thin, by the same rule as `read_document`)
is loaded at the same resolution and read once by tesseract with the same languages, the same
options and the same call (`tesseract_words`) as the stage's first pass — no deskew, no rule
removal, no orientation check, no binarised retry, no table re-read. `bench-batch` measures
it in the same run as the batch, so that the ratio of the two is taken under the same load.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from extractors.text import ocr  # noqa: E402
from extractors.text.intake import IMAGE_MEDIA_TYPES, PDF, describe  # noqa: E402
from extractors.text.ocr_tesseract import tesseract_words  # noqa: E402
from extractors.text.pdf import open_pdf, read_text_layer  # noqa: E402
from extractors.text.read import (  # noqa: E402
    check_image,
    layout_text,
    needs_ocr,
    ocr_job,
    usable_chars,
)
from invoices.errors import DocumentError  # noqa: E402
from invoices.settings import Settings  # noqa: E402


@dataclass(frozen=True)
class Floor:
    """The floor's figures: pages read, wall seconds, CPU-seconds of tesseract, processes."""

    pages: int
    seconds: float
    cpu_seconds: float
    processes: int


def ocr_jobs(path: Path, settings: Settings) -> list[ocr.OcrJob]:
    """The pages of one file that the text stage OCRs (none for a bad or born-digital file)."""
    try:
        document = describe(path, settings)
        if document.media_type in IMAGE_MEDIA_TYPES:
            frames = check_image(path, settings)
            return [ocr_job(path, False, i, settings, None) for i in range(frames)]
        if document.media_type != PDF:
            return []
        info = open_pdf(path, settings, want_einvoice=False)
        layer = read_text_layer(path, info.password)
    except DocumentError:
        return []
    return [
        ocr_job(path, True, lp.number - 1, settings, info.password)
        for lp in layer
        if needs_ocr(usable_chars(layout_text(lp.words)), lp.image_coverage, settings)
    ]


def plain_pass(job: ocr.OcrJob) -> float:
    """Load the page as the stage does and read it with one tesseract pass; its CPU-seconds
    (this worker's and tesseract's)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    before = _cpu()
    image, _ = ocr.load_page_image(job)
    tesseract_words(image, job.languages, job.timeout, 1.0)
    return _cpu() - before


def measure_floor(jobs: list[ocr.OcrJob], processes: int = 0) -> Floor:
    """Read every job once, `processes` at a time (0: one per core); the wall time."""
    processes = processes or os.cpu_count() or 1
    started = time.perf_counter()
    context = multiprocessing.get_context("forkserver")  # safe beside a caller's threads
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as pool:
        cpu = sum(pool.map(plain_pass, jobs))
    return Floor(len(jobs), time.perf_counter() - started, cpu, processes)


def _cpu() -> float:
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
