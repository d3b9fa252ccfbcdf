"""Document -> text, cheapest first: embedded e-invoice XML, PDF text layer, then OCR.

`read_document` reads every page. A PDF page whose text layer has fewer than
`settings.min_text_chars_per_page` usable characters, and every image, goes to OCR; OCR pages run
in parallel in a process pool. A page that fails alone (an OCR timeout) is recorded in
`DocumentText.errors` and does not fail the document; a bad file raises a typed DocumentError.

Page text is rebuilt from word boxes in reading order, one output line per visual line, with
two or more spaces where a column gap separates words, so that "Total    1.234,56" keeps its
label and amount on one line for the field regexes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from PIL import Image

from extractors.layout.rows import group_lines, join_line
from extractors.text import ocr, ocr_cache
from extractors.text.intake import IMAGE_MEDIA_TYPES, PDF, XML
from extractors.text.ocr_tesseract import OcrTimeout, is_setup_fault
from extractors.text.pdf import open_pdf, read_text_layer
from invoices.errors import (
    DocumentError,
    DocumentMissing,
    DocumentTooLarge,
    DocumentUnreadable,
    InfrastructureError,
    UnsupportedMediaType,
)
from invoices.records import (
    Document,
    DocumentText,
    Method,
    PageText,
    ReasonCode,
    StageError,
    Word,
)
from invoices.settings import Settings

STAGE = "text"
# A page mostly covered by images with fewer characters than this is a scan with an overlay.
SCAN_COVERAGE = 0.5
SCAN_MAX_LAYER_CHARS = 200
_CID = re.compile(r"\(cid:\d+\)")


def read_document(document: Document, settings: Settings) -> DocumentText:
    """All text of `document`: e-invoice XML when embedded, text layer, OCR where needed.

    Raises DocumentMissing, DocumentEncrypted, DocumentUnreadable, DocumentTooLarge or
    UnsupportedMediaType for a bad file.
    """
    path = Path(document.path)
    if not path.is_file():
        raise DocumentMissing(path, "file not found (it was moved or deleted after intake)")
    try:
        if document.media_type == PDF:
            return _read_pdf(path, settings)
        if document.media_type in IMAGE_MEDIA_TYPES:
            return _read_image(path, settings)
        if document.media_type == XML:
            return DocumentText(einvoice_xml=path.read_bytes(), einvoice_name=path.name)
    except FileNotFoundError as exc:
        raise DocumentMissing(path, "file vanished while it was being read") from exc
    except PermissionError as exc:
        raise DocumentUnreadable(path, f"no permission to read the file: {exc}") from exc
    raise UnsupportedMediaType(path, f"no reader for {document.media_type}")


def _read_pdf(path: Path, settings: Settings) -> DocumentText:
    info = open_pdf(path, settings, want_einvoice=settings.read_einvoice_xml)
    try:
        layer = read_text_layer(path, info.password)
    except DocumentUnreadable as exc:
        if info.einvoice_xml is None:
            raise
        # the machine-readable invoice is intact: keep it, record the unreadable pages
        error = StageError(stage=STAGE, category=exc.reason.value, message=exc.detail)
        return DocumentText(
            einvoice_xml=info.einvoice_xml, einvoice_name=info.einvoice_name, errors=[error]
        )
    pages: list[PageText] = []
    jobs: list[ocr.OcrJob] = []
    for lp in layer:
        text = layout_text(lp.words)
        pages.append(
            PageText(
                number=lp.number,
                method=Method.TEXT_LAYER,
                text=text,
                words=lp.words,
                width=lp.width,
                height=lp.height,
                seconds=round(lp.seconds, 4),
            )
        )
        if needs_ocr(usable_chars(text), lp.image_coverage, settings):
            jobs.append(ocr_job(path, True, lp.number - 1, settings, info.password))
    errors = _apply_ocr(pages, jobs, settings, path)
    return DocumentText(
        pages=pages, einvoice_xml=info.einvoice_xml, einvoice_name=info.einvoice_name, errors=errors
    )


def _read_image(path: Path, settings: Settings) -> DocumentText:
    frames = check_image(path, settings)
    pages = [PageText(number=i + 1, method=Method.OCR, text="") for i in range(frames)]
    jobs = [ocr_job(path, False, i, settings, None) for i in range(frames)]
    errors = _apply_ocr(pages, jobs, settings, path)
    if (
        errors
        and len(errors) == len(pages)
        and all(e.category == ReasonCode.DOCUMENT_UNREADABLE for e in errors)
    ):
        raise DocumentUnreadable(path, f"the image cannot be decoded: {errors[0].message}")
    return DocumentText(pages=pages, errors=errors)


def check_image(path: Path, settings: Settings) -> int:
    """The frame count of an image, after checking from its header that it fits the limits."""
    try:
        with Image.open(path) as im:
            frames = getattr(im, "n_frames", 1)
            if frames > settings.max_pages:
                raise DocumentTooLarge(
                    path, f"{frames} frames is over the limit of {settings.max_pages}"
                )
            for i in range(frames):
                if i:
                    im.seek(i)
                pixels = im.width * im.height
                if pixels > settings.max_image_pixels:
                    raise DocumentTooLarge(
                        path,
                        f"image of {im.width}x{im.height} pixels is over the limit of "
                        f"{settings.max_image_pixels} pixels",
                    )
    except Image.DecompressionBombError as exc:
        raise DocumentTooLarge(
            path, f"image refused before decoding (limit {settings.max_image_pixels} pixels): {exc}"
        ) from exc
    except DocumentError:
        raise
    except (OSError, ValueError, SyntaxError) as exc:
        raise DocumentUnreadable(path, f"the image cannot be read: {exc}") from exc
    return frames


def ocr_job(
    path: Path, is_pdf: bool, index: int, settings: Settings, password: str | None
) -> ocr.OcrJob:
    """The OCR job of one page as the text stage runs it (languages, resolution, limits)."""
    return ocr.OcrJob(
        path=str(path),
        is_pdf=is_pdf,
        index=index,
        languages=settings.ocr_languages,
        dpi=settings.ocr_dpi,
        timeout=float(settings.ocr_timeout_seconds),
        password=password,
        max_pixels=settings.max_image_pixels,
        skip=tuple(x.strip() for x in settings.ocr_skip_passes.split(",") if x.strip()),
    )


def _apply_ocr(
    pages: list[PageText], jobs: list[ocr.OcrJob], settings: Settings, path: Path
) -> list[StageError]:
    """Replace the pages of `jobs` by their OCR text in place; failures become StageErrors."""
    errors: list[StageError] = []
    workers = settings.ocr_workers or os.cpu_count() or 1
    if settings.ocr_cache_dir:
        results = ocr_cache.ocr_pages_cached(jobs, workers, Path(settings.ocr_cache_dir))
    else:
        results = ocr.ocr_pages(jobs, workers)
    for job, result in zip(jobs, results, strict=True):
        number = job.index + 1
        if isinstance(result, BaseException):
            if is_setup_fault(result):
                raise InfrastructureError(f"OCR cannot run on this machine: {result}") from result
            errors.append(_page_error(result, number))
            continue
        text = layout_text(result.words)
        old = pages[job.index]
        if old.method == Method.TEXT_LAYER and usable_chars(text) <= usable_chars(old.text):
            continue  # OCR found less than the thin text layer: keep the layer
        pages[job.index] = PageText(
            number=number,
            method=Method.OCR,
            text=text,
            words=result.words,
            width=round(result.width, 2),
            height=round(result.height, 2),
            ocr_confidence=result.confidence,
            seconds=round(old.seconds + result.seconds, 4),
        )
    return errors


def _page_error(exc: BaseException, page: int) -> StageError:
    if isinstance(exc, OcrTimeout):
        category = "OcrTimeout"
    elif isinstance(exc, OSError | ValueError | SyntaxError | Image.DecompressionBombError):
        category = ReasonCode.DOCUMENT_UNREADABLE.value
    else:
        category = type(exc).__name__
    return StageError(stage=STAGE, category=category, message=f"page {page}: {exc}", page=page)


def needs_ocr(chars: int, image_coverage: float, settings: Settings) -> bool:
    """Whether a PDF page goes to OCR: too little text, or a scan with only a thin text layer
    (a stamp, a file name or a header added on top of the scanned image)."""
    if chars < settings.min_text_chars_per_page:
        return True
    return image_coverage >= SCAN_COVERAGE and chars < SCAN_MAX_LAYER_CHARS


def usable_chars(text: str) -> int:
    """Letters and digits in `text`, ignoring pdfminer's `(cid:N)` unmapped-glyph placeholders."""
    return sum(1 for c in _CID.sub("", text) if c.isalnum())


def layout_text(words: list[Word]) -> str:
    """Text in reading order: words grouped into visual lines top to bottom, left to right.

    Words whose vertical extents overlap by more than half the smaller height share a line. A gap
    wider than about one and a half character widths becomes two or more spaces (roughly one per
    character width), so columns stay apart.
    """
    lines = group_lines(words)
    return "\n".join(join_line(line) for line in lines)
