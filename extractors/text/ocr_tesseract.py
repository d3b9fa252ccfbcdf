"""Tesseract itself: its words and its orientation advice for a page image, and their worth.

`tesseract_words` runs tesseract on an image (single-block mode for a till receipt, by
`page_mode`) and returns its words with boxes in output units and confidences 0..1, and their
length-weighted mean; `detect_rotation` asks tesseract's OSD how the page is turned. Both raise
`OcrTimeout` when the page's time is spent; `is_setup_fault` tells a machine's fault (no
tesseract, no language data) from a page's. A reading is judged by its confidence and length
(`reads_poorly`, `better_reading`, `rank_reading`), by whether it runs down the page
(`looks_vertical`: turned by 90 degrees) and by how many common invoice words it holds
(`LEXICON`, `lexicon_hits`: hardly any suggests a page upside down). `straightened` turns word
boxes about the page centre by a skew too small to resample the page for.

The procedure that uses these, its retries and the process pool are in `extractors.text.ocr`.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

# As in extractors.text.ocr: set before tesseract runs (the subprocesses inherit it), whichever
# OCR module is imported first. Parallelism comes from pages.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402
import pytesseract  # noqa: E402
from PIL import Image  # noqa: E402

from extractors.text.ocr_preprocess import osd_view  # noqa: E402
from invoices.records import Word  # noqa: E402

MIN_WORDS = 5
OSD_MIN_CONFIDENCE = 1.5
# tesseract's inverted-text check doubles the work per line; invoices are dark on light
TESSERACT_CONFIG = "-c tessedit_do_invert=0"
# a page this much taller than wide is a till receipt: one column of text, which tesseract's
# single-block mode (psm 6) reads better than its page layout analysis (letterheads in
# particular); pages of paper formats (A4, letter: 1.3-1.5) keep the automatic layout
RECEIPT_ASPECT = 1.7


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


class OcrTimeout(Exception):
    """Tesseract did not finish one page within its time budget."""


def page_mode(width: int, height: int) -> str:
    """Tesseract's page segmentation option for a page of this shape."""
    return " --psm 6" if width and height / width >= RECEIPT_ASPECT else ""


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
        with page_file(image) as path:
            data = pytesseract.image_to_data(
                path,
                lang=languages,
                config=TESSERACT_CONFIG + mode,
                output_type=pytesseract.Output.DICT,
                timeout=max(1.0, timeout),
            )
    except RuntimeError as exc:
        if "timeout" in str(exc).lower():
            raise OcrTimeout(str(exc)) from exc
        raise
    return _words(data, to_units)


@contextmanager
def page_file(image: Image.Image) -> Iterator[str]:
    """The image written to a temporary uncompressed TIFF for tesseract to read.

    pytesseract would write a PNG: deflating a 300 dpi scan and inflating it again in tesseract
    cost 44% of the CPU of a pass (six zugferd_scan pages: 13.95 CPU-s as PNG, 8.52 as PGM,
    7.78 as uncompressed TIFF), for the same pixels and the same words. PGM was dearer than PNG
    on a nearly blank page; TIFF is not.
    """
    fd, path = tempfile.mkstemp(prefix="ocr_", suffix=".tif")
    try:
        with os.fdopen(fd, "wb") as out:
            image.save(out, format="TIFF")  # PIL writes TIFF uncompressed unless told otherwise
        yield path
    finally:
        os.unlink(path)


def _words(data: dict[str, list], to_units: float) -> tuple[list[Word], float | None]:
    """Tesseract's TSV (as pytesseract's dict) as words with boxes in output units."""
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
    return words, mean_confidence(words)


def mean_confidence(words: list[Word]) -> float | None:
    """The words' confidence weighted by their length (None for no words)."""
    if not words:
        return None
    weights = [len(w.text) for w in words]
    mean = sum(w.confidence * n for w, n in zip(words, weights, strict=True)) / sum(weights)
    return round(mean, 4)


_ROTATE = re.compile(r"Rotate:\s*(\d+)")
_ORIENT_CONF = re.compile(r"Orientation confidence:\s*([\d.]+)")


def detect_rotation(image: Image.Image, timeout: float) -> int:
    """The clockwise rotation (0, 90, 180, 270) tesseract OSD advises, 0 when unsure."""
    view = osd_view(image)
    try:
        with page_file(view) as path:
            osd = pytesseract.image_to_osd(path, config="--psm 0", timeout=max(1.0, timeout))
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


def is_setup_fault(exc: BaseException) -> bool:
    """Whether an OCR failure is the machine's (tesseract or its language data missing), not
    the page's: such a fault must stop the run rather than mark every document unreadable."""
    if isinstance(exc, pytesseract.TesseractNotFoundError):
        return True
    text = str(exc)
    return isinstance(exc, pytesseract.TesseractError) and (
        "Failed loading language" in text or "Error opening data file" in text
    )


def lexicon_hits(words: list[Word]) -> int:
    """How many distinct common invoice words a reading contains."""
    found: set[str] = set()
    for word in words:
        folded = word.text.lower().translate(_FOLD)
        found.update(t for t in _LETTERS.findall(folded) if len(t) >= 4 and t in LEXICON)
    return len(found)


def reads_upside_down(words: list[Word]) -> bool:
    """Plenty of words, hardly one of them a common invoice word: maybe turned by 180."""
    return len(words) >= SUSPECT_MIN_WORDS and lexicon_hits(words) < MIN_LEXICON_HITS


def rank_reading(reading: tuple[list[Word], float | None]) -> tuple[bool, int, float]:
    """Upright first, then common invoice words, then tesseract's confidence."""
    words, confidence = reading
    return (not looks_vertical(words), lexicon_hits(words), confidence or 0.0)


def reads_poorly(words: list[Word], confidence: float | None, threshold: float) -> bool:
    return confidence is None or len(words) < MIN_WORDS or confidence < threshold


def looks_vertical(words: list[Word]) -> bool:
    """Whether most longer words stand taller than wide: tesseract read a page turned by 90
    degrees as vertical text, so its lines run down the page."""
    shapes = [(w.bbox[3] - w.bbox[1]) > (w.bbox[2] - w.bbox[0]) for w in words if len(w.text) >= 4]
    return len(shapes) >= MIN_WORDS and sum(shapes) > len(shapes) / 2


def better_reading(a: tuple[list[Word], float | None], b: tuple[list[Word], float | None]) -> bool:
    """Whether OCR result `a` beats `b`: higher mean confidence, with enough words."""
    if a[1] is None:
        return False
    if b[1] is None or len(b[0]) < MIN_WORDS:
        return len(a[0]) >= len(b[0])
    return a[1] > b[1] and len(a[0]) >= MIN_WORDS


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
