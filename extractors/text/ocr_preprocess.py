"""The page image prepared for tesseract: skew, rules and specks, binarisation, OSD's view.

`estimate_skew` measures a small skew of the text lines (projection profile on a reduced copy);
`clean_page` paints out table rules, box borders and isolated specks of scanner grain (solid dark
bands are kept); `local_threshold` makes a black-and-white copy against the local mean (uneven
light, grey paper); `osd_view` crops the inked area and scales it for orientation detection.
numpy, scipy and PIL only: tesseract runs in `extractors.text.ocr_tesseract`, for the procedure
in `extractors.text.ocr`.
"""

from __future__ import annotations

import os

# As in extractors.text.ocr, whichever OCR module is imported first: set before numpy loads;
# tesseract (run from extractors.text.ocr_tesseract) and its subprocesses inherit it.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter, ImageOps  # noqa: E402
from scipy import ndimage  # noqa: E402

OSD_LONG_SIDE = 1400  # px: OSD looks at the inked area scaled to about this size
OSD_MAX_UPSCALE = 2.5
DESKEW_WIDTH = 800  # px
DESKEW_MAX_ANGLE = 5.0
# ruled tables and boxed header fields: tesseract's layout analysis takes a cell's borders for
# a picture and drops or garbles the text inside, so rules are painted out before reading
RULE_MIN_LENGTH = 1 / 25  # of the page's short side: shorter straight ink runs are glyphs
SPECK_SHARE = 0.15  # a speck's side is at most this share of the median glyph height
SPECK_ISOLATION = 0.5  # ... and no other ink lies within this share of it
BAND_MIN_INK = 0.6  # share of ink around a point of a solid dark band (white text on dark)


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
    if not small.any():
        return np.zeros(ink.shape, dtype=bool)
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
    """Otsu's threshold of a grey (uint8) page."""
    # PIL counts the grey levels without the page-sized intp copy np.bincount makes of uint8
    # (6 against 60-90 ms for an A4 page at 300 dpi)
    hist = np.asarray(Image.fromarray(arr).histogram(), dtype=np.float64)
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


def osd_view(image: Image.Image) -> Image.Image:
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
