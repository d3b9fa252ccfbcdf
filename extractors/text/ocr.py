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
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import re
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

# Must be set before tesseract runs; the subprocesses inherit it. Parallelism comes from pages.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402
import pytesseract  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402
from scipy import ndimage  # noqa: E402

from extractors.layout import rows  # noqa: E402
from invoices.records import Word  # noqa: E402

VERSION = "5"

MIN_IMAGE_LONG_SIDE = 2000  # px: smaller images are upscaled so text reaches ~20 px x-height
MAX_UPSCALE = 3.0
MAX_IMAGE_LONG_SIDE = 3600  # px: an A4 page at 300 dpi; larger photos only cost time
OSD_LONG_SIDE = 1400  # px: OSD looks at the inked area scaled to about this size
OSD_MAX_UPSCALE = 2.5
OSD_MIN_CONFIDENCE = 1.5
DESKEW_WIDTH = 800  # px
DESKEW_MAX_ANGLE = 5.0
DESKEW_MIN_ANGLE = 1.0  # below this tesseract copes, and resampling only blurs
TILT_MIN_ANGLE = 0.3  # ... but from here word boxes are straightened, for rows across the page
ROTATE_BELOW_CONFIDENCE = 0.60  # first pass worse than this: ask OSD whether the page is turned
RETRY_BELOW_CONFIDENCE = 0.70  # still worse than this: try a locally thresholded copy
MIN_WORDS = 5
RETRY_BUDGET = 2.5  # the binarised retry may take this many times the first pass
RETRY_MIN_SECONDS = 3.0
# tesseract's inverted-text check doubles the work per line; invoices are dark on light
TESSERACT_CONFIG = "-c tessedit_do_invert=0"
# a page this much taller than wide is a till receipt: one column of text, which tesseract's
# single-block mode (psm 6) reads better than its page layout analysis (letterheads in
# particular); pages of paper formats (A4, letter: 1.3-1.5) keep the automatic layout
RECEIPT_ASPECT = 1.7
# ruled tables and boxed header fields: tesseract's layout analysis takes a cell's borders for
# a picture and drops or garbles the text inside, so rules are painted out before reading
RULE_MIN_LENGTH = 1 / 25  # of the page's short side: shorter straight ink runs are glyphs
SPECK_SHARE = 0.15  # a speck's side is at most this share of the median glyph height
SPECK_ISOLATION = 0.5  # ... and no other ink lies within this share of it
BAND_MIN_INK = 0.6  # share of ink around a point of a solid dark band (white text on dark)
TABLE_MODE = " --psm 6"  # an item table the automatic layout lost is read as one block


# Words nearly every upright invoice or receipt prints (en, de, fr). A page read with almost
# none of them, though tesseract returned plenty of words, was most likely read upside down:
# tesseract turns inverted glyphs into other glyphs at a fair confidence, so the confidence
# alone does not tell. Such a page gets the orientation check.
LEXICON: frozenset[str] = frozenset(
    """
    invoice total subtotal date amount quantity price unit description page bank iban order
    number payment terms thank customer bill gross balance cash change receipt phone email
    street road item items sales discount rounding delivery account
    rechnung datum summe betrag gesamt netto brutto menge preis einzelpreis beschreibung seite
    bestell bestellung kunde kunden zahlbar zahlungsziel tage steuer bankverbindung vielen dank
    ihren auftrag lieferschein artikel gmbh strasse
    facture montant prix quantite designation commande client paiement echeance merci banque
    avenue unitaire conditions livraison
    """.split()
)
MIN_LEXICON_HITS = 3
SUSPECT_MIN_WORDS = 15
_LETTERS = re.compile(r"[a-z]+")
_FOLD = str.maketrans("äöüéèêàâîôûçß", "aoueeeaaioucs")


def lexicon_hits(words: list[Word]) -> int:
    """How many distinct common invoice words a reading contains."""
    found: set[str] = set()
    for word in words:
        folded = word.text.lower().translate(_FOLD)
        found.update(t for t in _LETTERS.findall(folded) if len(t) >= 4 and t in LEXICON)
    return len(found)


def _reads_upside_down(words: list[Word]) -> bool:
    """Plenty of words, hardly one of them a common invoice word: maybe turned by 180."""
    return len(words) >= SUSPECT_MIN_WORDS and lexicon_hits(words) < MIN_LEXICON_HITS


def page_mode(width: int, height: int) -> str:
    """Tesseract's page segmentation option for a page of this shape."""
    return " --psm 6" if width and height / width >= RECEIPT_ASPECT else ""


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


class OcrTimeout(Exception):
    """Tesseract did not finish one page within its time budget."""


def run_job(job: OcrJob) -> OcrResult:
    """Load the page of `job` and OCR it (the unit of work of the process pool)."""
    os.environ["OMP_THREAD_LIMIT"] = "1"
    started = time.perf_counter()
    deadline = started + job.timeout
    image, to_units = load_page_image(job)
    result = ocr_image(image, job.languages, deadline, to_units)
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


def ocr_image(image: Image.Image, languages: str, deadline: float, to_units: float) -> OcrResult:
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
    vertical = _looks_vertical(words)
    garbled = _reads_upside_down(words)
    if vertical or garbled or _reads_poorly(words, confidence, ROTATE_BELOW_CONFIDENCE):
        image, words, confidence, rotation = _turn_upright(
            image, (words, confidence), vertical, garbled, how
        )
    binarised = False
    if _reads_poorly(words, confidence, RETRY_BELOW_CONFIDENCE):
        budget = time.perf_counter() + max(RETRY_MIN_SECONDS, RETRY_BUDGET * first_pass)
        retry_deadline = min(deadline, budget)
        binary = local_threshold(image)
        alt = _try(binary, languages, retry_deadline, to_units, notes, "binarised")
        if alt is not None and _better(alt, (words, confidence)):
            words, confidence = alt
            binarised = True
    if rotation:  # the skew of the page as it was read: measured again once it is upright
        turned = estimate_skew(image)
        tilt = turned if abs(turned) >= TILT_MIN_ANGLE else 0.0
    size = (image.width * to_units, image.height * to_units)
    if tilt:
        words = straightened(words, tilt, size)
        notes.append(f"word boxes straightened {tilt:+.1f}")
    if not page_mode(image.width, image.height) and rows.table_lost(words):
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
        upright = not _looks_vertical(alt[0])
        hits = lexicon_hits(alt[0])
        if turn == advised:
            keep = (vertical and upright) or _better(alt, first)
        else:  # OSD unsure: the reading must be upright and hold common invoice words
            keep = upright and hits >= MIN_LEXICON_HITS and (vertical or hits >= first_hits + 2)
        if keep and (turn == advised or _rank(alt) > _rank(best[1:3])):
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
    return merged, _mean_confidence(merged)


def straightened(words: list[Word], angle: float, size: tuple[float, float]) -> list[Word]:
    """Word boxes moved as if the page had been turned by `angle` degrees anticlockwise (PIL's
    sense, as `estimate_skew` gives it) about its centre; each box keeps its size."""
    theta = np.radians(angle)
    cos, sin = float(np.cos(theta)), float(np.sin(theta))
    cx, cy = size[0] / 2, size[1] / 2
    out: list[Word] = []
    for word in words:
        x0, y0, x1, y1 = word.bbox
        mx, my = (x0 + x1) / 2 - cx, (y0 + y1) / 2 - cy
        # y grows downwards: an anticlockwise turn lifts what lies right of the centre
        dx = cx + mx * cos + my * sin - (x0 + x1) / 2
        dy = cy - mx * sin + my * cos - (y0 + y1) / 2
        bbox = (x0 + dx, y0 + dy, x1 + dx, y1 + dy)
        out.append(word.model_copy(update={"bbox": bbox}))
    return out


def _rank(reading: tuple[list[Word], float | None]) -> tuple[bool, int, float]:
    """Upright first, then common invoice words, then tesseract's confidence."""
    words, confidence = reading
    return (not _looks_vertical(words), lexicon_hits(words), confidence or 0.0)


def _reads_poorly(words: list[Word], confidence: float | None, threshold: float) -> bool:
    return confidence is None or len(words) < MIN_WORDS or confidence < threshold


def _looks_vertical(words: list[Word]) -> bool:
    """Whether most longer words stand taller than wide: tesseract read a page turned by 90
    degrees as vertical text, so its lines run down the page."""
    shapes = [(w.bbox[3] - w.bbox[1]) > (w.bbox[2] - w.bbox[0]) for w in words if len(w.text) >= 4]
    return len(shapes) >= MIN_WORDS and sum(shapes) > len(shapes) / 2


def _better(a: tuple[list[Word], float | None], b: tuple[list[Word], float | None]) -> bool:
    """Whether OCR result `a` beats `b`: higher mean confidence, with enough words."""
    if a[1] is None:
        return False
    if b[1] is None or len(b[0]) < MIN_WORDS:
        return len(a[0]) >= len(b[0])
    return a[1] > b[1] and len(a[0]) >= MIN_WORDS


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


_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_ORIENT_CONF = re.compile(r"Orientation confidence:\s*([\d.]+)")


def detect_rotation(image: Image.Image, timeout: float) -> int:
    """The clockwise rotation (0, 90, 180, 270) tesseract OSD advises, 0 when unsure."""
    view = _osd_view(image)
    try:
        osd = pytesseract.image_to_osd(view, config="--psm 0", timeout=max(1.0, timeout))
    except RuntimeError as exc:  # pytesseract signals its timeout with RuntimeError
        if "timeout" in str(exc).lower():
            raise OcrTimeout(str(exc)) from exc
        return 0
    except pytesseract.TesseractError:
        return 0  # too few characters to tell: leave the page as it is
    rotate = _ROTATE.search(osd)
    conf = _ORIENT_CONF.search(osd)
    if not rotate or not conf or float(conf.group(1)) < OSD_MIN_CONFIDENCE:
        return 0
    return int(rotate.group(1)) % 360


def _osd_view(image: Image.Image) -> Image.Image:
    """The inked part of the page, scaled to about OSD_LONG_SIDE pixels.

    A receipt scanned on an A4 bed is small text in a sea of white: cropped and enlarged, OSD
    sees enough characters to tell the orientation; a full page is reduced, which is faster.
    """
    arr = np.asarray(image, dtype=np.uint8)
    ink = arr < _otsu(arr)
    rows = np.nonzero(ink.sum(axis=1) > 0.005 * ink.shape[1])[0]
    cols = np.nonzero(ink.sum(axis=0) > 0.005 * ink.shape[0])[0]
    if len(rows) and len(cols):
        pad = 20
        box = (
            max(0, int(cols[0]) - pad),
            max(0, int(rows[0]) - pad),
            min(image.width, int(cols[-1]) + pad),
            min(image.height, int(rows[-1]) + pad),
        )
        image = image.crop(box)
    factor = min(OSD_MAX_UPSCALE, OSD_LONG_SIDE / max(image.size))
    if abs(factor - 1) < 0.1:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.BILINEAR)


def estimate_skew(image: Image.Image) -> float:
    """The small skew angle in degrees (PIL's anticlockwise sense) that straightens text lines.

    Projection profile: the angle at which the row sums of dark pixels vary most. Searched on a
    reduced copy, coarse then fine, so it costs a few tens of milliseconds.
    """
    factor = DESKEW_WIDTH / image.width
    small = (
        image if factor >= 1 else image.resize((DESKEW_WIDTH, max(1, round(image.height * factor))))
    )
    arr = np.asarray(small, dtype=np.uint8)
    threshold = _otsu(arr)
    ink = Image.fromarray(((arr < threshold) * 255).astype(np.uint8))
    if np.count_nonzero(np.asarray(ink)) < 50:
        return 0.0

    def score(angle: float) -> float:
        rows = np.asarray(ink.rotate(angle, resample=Image.Resampling.NEAREST), dtype=np.float32)
        profile = rows.sum(axis=1)
        return float(np.square(np.diff(profile)).sum())

    coarse = np.arange(-DESKEW_MAX_ANGLE, DESKEW_MAX_ANGLE + 1e-6, 1.0)
    best = max(coarse, key=score)
    fine = np.arange(best - 0.8, best + 0.8 + 1e-6, 0.2)
    return round(float(max(fine, key=score)), 2)


def clean_page(image: Image.Image) -> tuple[Image.Image, str]:
    """The page with table rules, box borders and lone specks of scanner grain painted white,
    and a note of what was done ("" when nothing was).

    Rules are straight ink runs much longer than any glyph, found by a morphological opening
    with a long thin rectangle (separable minimum and maximum filters, so it costs a fraction
    of a tesseract pass). Solid dark bands (white text on a dark header) are long runs too but
    are left as they are: tesseract reads them, and painting them out would lose their text.
    """
    arr = np.asarray(image, dtype=np.uint8)
    height, width = arr.shape
    ink = (arr < _otsu(arr)).astype(np.uint8)
    run = max(40, round(min(height, width) * RULE_MIN_LENGTH))
    rules = (_opened(ink, 1, run) | _opened(ink, run, 1)).astype(bool)
    if rules.any():
        band_rows = max(8, run // 4)
        density = ndimage.uniform_filter(ink.astype(np.float32), size=(band_rows, run))
        bands = _grown(density > BAND_MIN_INK, band_rows // 2 + 2, run // 2 + 2)
        rules = _grown(rules, 2, 2) & ~bands
    specks = _specks(ink)
    if not rules.any() and not specks.any():
        return image, ""
    out = arr.copy()
    out[rules | specks] = 255
    return Image.fromarray(out), f"cleaned ({int(rules.any())} rules, {int(specks.sum())} speck px)"


def _specks(ink: np.ndarray) -> np.ndarray:
    """Isolated dots of scanner grain: ink blobs far smaller than a full stop of the page's
    own print size (the median glyph height sets the scale, so small print keeps its dots),
    with no other ink close by (a decimal point sits right beside its digits)."""
    labels, count = ndimage.label(ink)
    if not count:
        return np.zeros(ink.shape, dtype=bool)
    sizes = np.bincount(labels.ravel())
    boxes = ndimage.find_objects(labels)
    heights = np.array([b[0].stop - b[0].start for b in boxes])
    glyphs = heights[(heights >= 6) & (heights <= 120) & (sizes[1:] >= 20)]
    if len(glyphs) < 20:
        return np.zeros(ink.shape, dtype=bool)
    glyph = float(np.median(glyphs))
    small = sizes <= max(2.0, (SPECK_SHARE * glyph) ** 2)
    small[0] = False
    specks = small[labels]
    # a dot close to print is a full stop, a decimal point or an i's dot: only lone ones go
    reach = max(1, round(SPECK_ISOLATION * glyph))
    return specks & ~_grown(ink.astype(bool) & ~specks, reach, reach)


def _opened(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Morphological opening of a 0/1 mask by a rows x cols rectangle."""
    out = mask
    for size, axis in ((cols, 1), (rows, 0)):
        if size > 1:
            out = ndimage.minimum_filter1d(out, size, axis=axis)
    for size, axis in ((cols, 1), (rows, 0)):
        if size > 1:
            out = ndimage.maximum_filter1d(out, size, axis=axis)
    return out


def _grown(mask: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """A boolean mask grown by `rows` up and down and `cols` left and right."""
    grown = ndimage.maximum_filter1d(mask.astype(np.uint8), 2 * cols + 1, axis=1)
    return ndimage.maximum_filter1d(grown, 2 * rows + 1, axis=0).astype(bool)


def _otsu(arr: np.ndarray) -> int:
    hist = np.bincount(arr.ravel(), minlength=256).astype(np.float64)
    total = hist.sum()
    cum = np.cumsum(hist)
    cum_mean = np.cumsum(hist * np.arange(256))
    w0 = cum / total
    w1 = 1.0 - w0
    mu0 = np.divide(cum_mean, cum, out=np.zeros(256), where=cum > 0)
    mu1 = np.divide(
        cum_mean[-1] - cum_mean, total - cum, out=np.zeros(256), where=(total - cum) > 0
    )
    between = w0 * w1 * np.square(mu0 - mu1)
    return int(np.argmax(between))


def local_threshold(image: Image.Image, radius: int = 15, offset: int = 12) -> Image.Image:
    """A black-and-white copy thresholded against the local mean (uneven light, grey paper)."""
    stretched = ImageOps.autocontrast(image, cutoff=1)
    blurred = stretched.filter(ImageFilter.BoxBlur(radius))
    a = np.asarray(stretched, dtype=np.int16)
    b = np.asarray(blurred, dtype=np.int16)
    return Image.fromarray(np.where(a < b - offset, 0, 255).astype(np.uint8))


def tesseract_words(
    image: Image.Image,
    languages: str,
    timeout: float,
    to_units: float,
    mode: str | None = None,
) -> tuple[list[Word], float | None]:
    """Tesseract's words with boxes in output units and confidences 0..1, and their mean.

    `mode` is a page segmentation option (" --psm N"); by default the page's shape decides.
    """
    mode = page_mode(image.width, image.height) if mode is None else mode
    try:
        data = pytesseract.image_to_data(
            image,
            lang=languages,
            config=TESSERACT_CONFIG + mode,
            output_type=pytesseract.Output.DICT,
            timeout=max(1.0, timeout),
        )
    except RuntimeError as exc:
        if "timeout" in str(exc).lower():
            raise OcrTimeout(str(exc)) from exc
        raise
    words: list[Word] = []
    for text, conf, left, top, width, height in zip(
        data["text"],
        data["conf"],
        data["left"],
        data["top"],
        data["width"],
        data["height"],
        strict=True,
    ):
        text = text.strip()
        conf = float(conf)
        if not text or conf < 0:
            continue
        bbox = (
            left * to_units,
            top * to_units,
            (left + width) * to_units,
            (top + height) * to_units,
        )
        words.append(Word(text=text, bbox=bbox, confidence=max(0.0, min(1.0, conf / 100.0))))
    return words, _mean_confidence(words)


def _mean_confidence(words: list[Word]) -> float | None:
    """The words' confidence weighted by their length (None for no words)."""
    if not words:
        return None
    weights = [len(w.text) for w in words]
    mean = sum(w.confidence * n for w, n in zip(words, weights, strict=True)) / sum(weights)
    return round(mean, 4)


def is_setup_fault(exc: BaseException) -> bool:
    """Whether an OCR failure is the machine's (tesseract or its language data missing), not
    the page's: such a fault must stop the run rather than mark every document unreadable."""
    if isinstance(exc, pytesseract.TesseractNotFoundError):
        return True
    text = str(exc)
    return isinstance(exc, pytesseract.TesseractError) and (
        "Failed loading language" in text or "Error opening data file" in text
    )


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
