"""OCR of scanned pages and images with tesseract.

One `OcrJob` per page names the file and the page; the worker loads (renders) the page itself,
so that only small jobs and word lists cross process boundaries. Per page it:

1. renders a PDF page at `ocr_dpi` (pypdfium2; less for a page too large for `max_pixels`), or
   loads an image frame, upscaling a small one and reducing a huge photo;
2. estimates a small skew (projection profile over +-5 degrees, on a reduced copy) and removes
   it when it is 1 degree or more; a smaller one (from 0.3 degrees) is left to tesseract, which
   copes, but the word boxes it returns are turned straight (about the page centre), so that
   the words of one printed row share a line across a wide table;
3. on a page of paper format (not a till receipt, whose small print and dots suffer), paints out
   table rules and box borders (straight ink runs far longer than a glyph), which make
   tesseract drop or garble the text of ruled cells, and isolated specks of scanner grain;
4. runs tesseract on the grey page (tesseract binarises with Otsu itself), in single-block
   mode (psm 6) for a tall narrow till receipt, else with its automatic page layout;
5. only when that reads poorly (few words or a low mean confidence): detects the orientation
   (tesseract OSD, psm 0, on a reduced copy), turns the page upright and reads it again; and if
   it still reads poorly, tries a locally thresholded copy. The better reading wins;
6. when the reading lost an item table the page evidently has (a header row or totals, but no
   row where quantity x unit price = line total: the automatic layout dropped or scattered the
   number columns of some ruled or slightly skewed tables), reads the page again as one block
   (psm 6) and takes the table's rows from that reading if it holds more complete rows.

Coordinates: word boxes have a top-left origin on the upright (rotated, deskewed) page. For PDF
pages the unit is the PDF point (72 per inch), like the text layer; for images it is the pixel of
the original image (a rescaled copy is scaled back). `OcrResult.width/height` use the same unit.

Tesseract gets one thread (`OMP_THREAD_LIMIT=1`): pages run in parallel in a process pool instead.

The module holds this procedure, the page loading and the process pool; the image preparation
(skew, rules and specks, the binarised copy, OSD's view) is in `extractors.text.ocr_preprocess`,
the calls to tesseract (words, orientation) and how good a reading is in
`extractors.text.ocr_tesseract`.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

# Must be set before tesseract runs; the subprocesses inherit it. Parallelism comes from pages.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from PIL import Image, ImageOps  # noqa: E402

from extractors.layout import rows  # noqa: E402
from extractors.text.ocr_preprocess import (  # noqa: E402
    clean_page,
    estimate_skew,
    local_threshold,
)
from extractors.text.ocr_tesseract import (  # noqa: E402
    MIN_LEXICON_HITS,
    OcrTimeout,
    better_reading,
    detect_rotation,
    lexicon_hits,
    looks_vertical,
    mean_confidence,
    page_mode,
    rank_reading,
    reads_poorly,
    reads_upside_down,
    straightened,
    tesseract_words,
)
from invoices.records import Word  # noqa: E402

VERSION = "5"

MIN_IMAGE_LONG_SIDE = 2000  # px: smaller images are upscaled so text reaches ~20 px x-height
MAX_UPSCALE = 3.0
MAX_IMAGE_LONG_SIDE = 3600  # px: an A4 page at 300 dpi; larger photos only cost time
DESKEW_MIN_ANGLE = 1.0  # below this tesseract copes, and resampling only blurs
TILT_MIN_ANGLE = 0.3  # ... but from here word boxes are straightened, for rows across the page
ROTATE_BELOW_CONFIDENCE = 0.60  # first pass worse than this: ask OSD whether the page is turned
RETRY_BELOW_CONFIDENCE = 0.70  # still worse than this: try a locally thresholded copy
RETRY_BUDGET = 2.5  # the binarised retry may take this many times the first pass
RETRY_MIN_SECONDS = 3.0
TABLE_MODE = " --psm 6"  # an item table the automatic layout lost is read as one block


@dataclass(frozen=True)
class OcrJob:
    """One page to OCR: the file, the 0-based page (PDF) or frame (TIFF) index, and options."""

    path: str
    is_pdf: bool
    index: int
    languages: str
    dpi: int = 300
    timeout: float = 120.0
    password: str | None = None
    max_pixels: int = 60_000_000
    skip: tuple[str, ...] = ()  # passes left out: "rotation", "binarised", "table"


@dataclass
class OcrResult:
    """The words of one OCR page with its size, confidence and what was done to the image."""

    index: int
    words: list[Word]
    width: float
    height: float
    confidence: float | None
    seconds: float
    rotation: int = 0
    skew: float = 0.0
    binarised: bool = False
    notes: list[str] = field(default_factory=list)


def run_job(job: OcrJob) -> OcrResult:
    """Load the page of `job` and OCR it (the unit of work of the process pool)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    started = time.perf_counter()
    deadline = started + job.timeout
    image, to_units = load_page_image(job)
    result = ocr_image(image, job.languages, deadline, to_units, job.skip)
    result.index = job.index
    result.seconds = time.perf_counter() - started
    return result


def load_page_image(job: OcrJob) -> tuple[Image.Image, float]:
    """The page as a grey image and the factor from its pixels to output units."""
    if job.is_pdf:
        return _render_pdf_page(job)
    with Image.open(job.path) as src:
        if job.index:
            src.seek(job.index)
        image = ImageOps.exif_transpose(src) or src
        image = _on_white(image).convert("L")
    long_side = max(image.size)
    factor = min(MAX_UPSCALE, MIN_IMAGE_LONG_SIDE / long_side) if long_side else 1.0
    if long_side > MAX_IMAGE_LONG_SIDE:
        factor = MAX_IMAGE_LONG_SIDE / long_side
    if abs(factor - 1.0) > 0.05:
        size = (round(image.width * factor), round(image.height * factor))
        image = image.resize(size, Image.Resampling.LANCZOS)
        return image, 1.0 / factor
    return image, 1.0


def _render_pdf_page(job: OcrJob) -> tuple[Image.Image, float]:
    """Render at `job.dpi`, or lower for a page so large that it would exceed `max_pixels`."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(job.path, password=job.password)
    try:
        page = pdf[job.index]
        width, height = page.get_size()
        scale = job.dpi / 72.0
        if width * height * scale * scale > job.max_pixels:
            scale = (job.max_pixels / max(1.0, width * height)) ** 0.5
        bitmap = page.render(scale=scale, grayscale=True)
        image = bitmap.to_pil().convert("L")
    finally:
        pdf.close()
    return image, 1.0 / scale


def _on_white(image: Image.Image) -> Image.Image:
    """Transparent areas as white paper (converting RGBA to grey would make them black)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba)
    return image


def ocr_image(
    image: Image.Image,
    languages: str,
    deadline: float,
    to_units: float,
    skip: tuple[str, ...] = (),
) -> OcrResult:
    """OCR one grey page image: deskew, tesseract, then orientation or binarisation retries.

    The common case (an upright page) costs one tesseract pass: orientation detection runs only
    when the first pass reads poorly, runs vertically or holds hardly any common invoice word
    (a page upside down), and the binarised retry only when the reading is still poor.
    """
    notes: list[str] = []
    skew = estimate_skew(image)
    tilt = 0.0  # a skew too small to resample the page for, straightened in the word boxes
    if abs(skew) >= DESKEW_MIN_ANGLE:
        image = image.rotate(skew, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)
        notes.append(f"deskewed {skew:+.1f}")
    else:
        tilt = skew if abs(skew) >= TILT_MIN_ANGLE else 0.0
        skew = 0.0
    if not page_mode(image.width, image.height):  # a till receipt's tiny print keeps its dots
        image, cleared = clean_page(image)
        if cleared:
            notes.append(cleared)
    started = time.perf_counter()
    words, confidence = tesseract_words(image, languages, _remaining(deadline), to_units)
    # a retry may cost a few first passes, not more: a noisy binarised copy can take tesseract
    # ten times as long and rarely wins then
    first_pass = time.perf_counter() - started
    rotation = 0
    how = (languages, deadline, to_units, notes)
    vertical = looks_vertical(words)
    garbled = reads_upside_down(words)
    poor = reads_poorly(words, confidence, ROTATE_BELOW_CONFIDENCE)
    if "rotation" not in skip and (vertical or garbled or poor):
        image, words, confidence, rotation = _turn_upright(
            image, (words, confidence), vertical, garbled, how
        )
    binarised = False
    if "binarised" not in skip and reads_poorly(words, confidence, RETRY_BELOW_CONFIDENCE):
        budget = time.perf_counter() + max(RETRY_MIN_SECONDS, RETRY_BUDGET * first_pass)
        retry_deadline = min(deadline, budget)
        binary = local_threshold(image)
        alt = _try(binary, languages, retry_deadline, to_units, notes, "binarised")
        if alt is not None and better_reading(alt, (words, confidence)):
            words, confidence = alt
            binarised = True
    if rotation:  # the skew of the page as it was read: measured again once it is upright
        turned = estimate_skew(image)
        tilt = turned if abs(turned) >= TILT_MIN_ANGLE else 0.0
    size = (image.width * to_units, image.height * to_units)
    if tilt:
        words = straightened(words, tilt, size)
        notes.append(f"word boxes straightened {tilt:+.1f}")
    lost = "table" not in skip and not page_mode(image.width, image.height)
    if lost and rows.table_lost(words):
        read = binary if binarised else image
        words, confidence = _reread_table(read, (words, confidence), (first_pass, tilt), how)
    return OcrResult(
        index=0,
        words=words,
        width=image.width * to_units,
        height=image.height * to_units,
        confidence=confidence,
        seconds=0.0,
        rotation=rotation,
        skew=skew,
        binarised=binarised,
        notes=notes,
    )


def _turn_upright(
    image: Image.Image,
    first: tuple[list[Word], float | None],
    vertical: bool,
    garbled: bool,
    how: tuple[str, float, float, list[str]],
) -> tuple[Image.Image, list[Word], float | None, int]:
    """The page turned the way OSD advises, if that reads better; when OSD is unsure, a page
    read as vertical text is tried at 90 and 270 degrees and a garbled one at 180, and the turn
    whose reading is upright with the most common invoice words is kept."""
    languages, deadline, to_units, notes = how
    advised = detect_rotation(image, _remaining(deadline))
    turns = [advised] if advised else [90, 270] if vertical else [180] if garbled else []
    best: tuple[Image.Image, list[Word], float | None, int] = (image, *first, 0)
    first_hits = lexicon_hits(first[0])
    for turn in turns:
        # OSD's "Rotate" is the clockwise turn that makes the page upright; PIL turns
        # anticlockwise for positive angles.
        turned = image.rotate(-turn, expand=True)
        alt = _try(turned, languages, deadline, to_units, notes, f"rotated {turn}")
        if alt is None or alt[1] is None:
            continue
        upright = not looks_vertical(alt[0])
        hits = lexicon_hits(alt[0])
        if turn == advised:
            keep = (vertical and upright) or better_reading(alt, first)
        else:  # OSD unsure: the reading must be upright and hold common invoice words
            keep = upright and hits >= MIN_LEXICON_HITS and (vertical or hits >= first_hits + 2)
        if keep and (turn == advised or rank_reading(alt) > rank_reading(best[1:3])):
            best = (turned, *alt, turn)
    return best


def _reread_table(
    image: Image.Image,
    reading: tuple[list[Word], float | None],
    first_pass_and_tilt: tuple[float, float],
    how: tuple[str, float, float, list[str]],
) -> tuple[list[Word], float | None]:
    """The reading with its item table taken from a single-block reading (psm 6) of the same
    image, when that holds more complete item rows; else the reading as it was. Both readings'
    boxes are straightened by the same small tilt."""
    languages, deadline, to_units, notes = how
    first_pass, tilt = first_pass_and_tilt
    budget = time.perf_counter() + max(RETRY_MIN_SECONDS, RETRY_BUDGET * first_pass)
    alt = _try(image, languages, min(deadline, budget), to_units, notes, "table", TABLE_MODE)
    if alt is None:
        return reading
    alt_words = alt[0]
    if tilt:
        size = (image.width * to_units, image.height * to_units)
        alt_words = straightened(alt_words, tilt, size)
    merged = rows.with_table_from(reading[0], alt_words)
    if merged is None:
        return reading
    notes.append("table rows from the single-block reading")
    return merged, mean_confidence(merged)


def _try(
    image: Image.Image,
    languages: str,
    deadline: float,
    to_units: float,
    notes: list[str],
    what: str,
    mode: str | None = None,
) -> tuple[list[Word], float | None] | None:
    """A retry pass that gives up quietly (noted) when the page's time is nearly spent."""
    try:
        result = tesseract_words(image, languages, _remaining(deadline), to_units, mode)
    except OcrTimeout:
        notes.append(f"{what}: no time left")
        return None
    notes.append(f"{what}: confidence {result[1]}")
    return result


def _remaining(deadline: float) -> float:
    left = deadline - time.perf_counter()
    if left <= 0:
        raise OcrTimeout("no time left for this page")
    return left


def ocr_pages(jobs: list[OcrJob], workers: int) -> list[OcrResult | BaseException]:
    """OCR every job, in a process pool when there is more than one; order kept.

    A page that fails or overruns its timeout yields its exception in its slot instead of a
    result, so one bad page does not fail the document.
    """
    if not jobs:
        return []
    workers = max(1, min(workers or (os.cpu_count() or 1), len(jobs)))
    if workers == 1:
        return [_run_inline(job) for job in jobs]
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=_pool_context(), initializer=_init_worker
    )
    try:
        futures: list[Future[OcrResult]] = [pool.submit(run_job, job) for job in jobs]
        return [_collect(fut, job) for fut, job in zip(futures, jobs, strict=True)]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _pool_context() -> multiprocessing.context.BaseContext:
    """Workers fork from a clean single-threaded server (safe under Prefect's threads, cheap
    to start), with this module preloaded."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    return ctx


def _init_worker() -> None:
    os.environ["OMP_THREAD_LIMIT"] = "1"


def _run_inline(job: OcrJob) -> OcrResult | BaseException:
    try:
        return run_job(job)
    except Exception as exc:  # a bad page is reported in its slot, not raised
        return exc


def _collect(fut: Future[OcrResult], job: OcrJob) -> OcrResult | BaseException:
    # The worker enforces the timeout on tesseract itself; this is the backstop for rendering
    # and queueing, generous because pages wait for a free worker.
    try:
        return fut.result(timeout=job.timeout * 2 + 30)
    except FutureTimeout:
        fut.cancel()
        return OcrTimeout(f"page {job.index + 1} did not finish within {job.timeout:.0f} s")
    except Exception as exc:
        return exc
