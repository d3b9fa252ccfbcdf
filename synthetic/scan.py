"""Turning a born-digital PDF into what a scanner or a phone makes of it.

Pages are rasterised with pdfium, then skewed (up to 2 degrees), blurred, speckled and
JPEG-compressed (quality 40-80); now and then a page is fed in rotated by 90 or 180 degrees.
Scanned PDFs carry images only, no text layer; PNG scans and JPEG photos are single files.
Everything random comes from the document's own seed, so a scan is reproducible.
"""

from __future__ import annotations

import random
from io import BytesIO

import numpy as np
import pypdfium2 as pdfium
from fpdf import FPDF
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

from synthetic.canvas import FIXED_DATE, FONT_DIR

ROTATION_CHANCE = 0.06


def rasterise(pdf: bytes, dpi: int) -> list[Image.Image]:
    """The pages of a PDF as greyscale images."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return [
            doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            for i in range(len(doc))
        ]
    finally:
        doc.close()


_NOISE_TILE: dict[int, np.ndarray] = {}
TILE = 2600  # larger than an A4 page at 200 dpi in either orientation


def _noise_tile() -> np.ndarray:
    """Unit Gaussian noise, made once per process from a fixed seed and cropped per page:
    drawing millions of normals per page would cost more than everything else together."""
    if TILE not in _NOISE_TILE:
        gen = np.random.default_rng(20250101)
        _NOISE_TILE[TILE] = (gen.standard_normal((TILE, TILE), dtype=np.float32) * 16).astype(
            np.int8
        )
    return _NOISE_TILE[TILE]


def _noise(shape: tuple[int, int], rng: random.Random, sigma: float) -> np.ndarray:
    tile = _noise_tile()
    h, w = shape
    if h > TILE or w > TILE:  # an oversized page: tile the tile
        tile = np.tile(tile, (h // TILE + 1, w // TILE + 1))
    oy, ox = rng.randrange(tile.shape[0] - h + 1), rng.randrange(tile.shape[1] - w + 1)
    return (tile[oy : oy + h, ox : ox + w].astype(np.int16) * round(sigma * 16)) >> 8


def degrade(
    page: Image.Image,
    rng: random.Random,
    noise: np.random.Generator,
    grain: tuple[float, float] = (3.0, 9.0),
) -> Image.Image:
    """A scanner's view of a page: paper tone, skew, blur, grain, speckles, maybe rotated."""
    angle = rng.uniform(-2.0, 2.0)
    page = page.rotate(angle, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255)
    if rng.random() < 0.7:
        page = page.filter(ImageFilter.BoxBlur(rng.uniform(0.4, 0.9)))
    gain, lift = rng.uniform(0.88, 0.97), rng.uniform(0, 12)  # grey paper, weaker blacks
    page = page.point(lambda v: v * gain + lift)
    arr = np.asarray(page, dtype=np.int16) + _noise(
        (page.height, page.width), rng, rng.uniform(*grain)
    )
    count = int(arr.size * rng.uniform(0.0002, 0.001))
    arr[noise.integers(0, page.height, count), noise.integers(0, page.width, count)] = 30
    page = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if rng.random() < ROTATION_CHANCE:
        page = page.rotate(rng.choice((90, 180, 270)), expand=True)
    return page


def _jpeg(page: Image.Image, quality: int) -> bytes:
    buf = BytesIO()
    page.save(buf, "JPEG", quality=quality, optimize=False)
    return buf.getvalue()


def image_pdf(pages: list[bytes], sizes: list[tuple[int, int]], dpi: int) -> bytes:
    """An image-only PDF, one JPEG per page at its physical size."""
    pdf = FPDF(unit="pt")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_auto_page_break(False)
    for data, (w, h) in zip(pages, sizes, strict=True):
        wpt, hpt = w * 72 / dpi, h * 72 / dpi
        pdf.add_page(format=(wpt, hpt))
        pdf.image(BytesIO(data), x=0, y=0, w=wpt, h=hpt)
    return bytes(pdf.output())


def photo(page: Image.Image, rng: random.Random, noise: np.random.Generator) -> Image.Image:
    """A phone photo of a page: on a desk, slightly in perspective, unevenly lit, in colour."""
    w, h = page.size
    margin = int(w * 0.06)
    desk = Image.new("L", (w + 2 * margin, h + 2 * margin), 70)
    desk.paste(page, (margin, margin))
    W, H = desk.size
    jitter = [rng.uniform(-0.025, 0.025) * w for _ in range(8)]
    quad = (
        jitter[0],
        jitter[1],
        jitter[2],
        H + jitter[3],
        W + jitter[4],
        H + jitter[5],
        W + jitter[6],
        jitter[7],
    )
    desk = desk.transform(
        desk.size, Image.Transform.QUAD, quad, Image.Resampling.BILINEAR, fillcolor=70
    )
    light = Image.linear_gradient("L").rotate(rng.choice((90, 270, 0, 180))).resize(desk.size)
    low = rng.uniform(0.72, 0.9)
    light = light.point(lambda v: 255 * (low + (1 - low) * v / 255))
    desk = ImageChops.multiply(desk, light)
    arr = np.asarray(desk, dtype=np.int16) + _noise((H, W), rng, 4)
    grey = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    grey = grey.filter(ImageFilter.BoxBlur(rng.uniform(0.5, 1.0)))
    warm = (1.0, rng.uniform(0.95, 0.99), rng.uniform(0.86, 0.94))
    return Image.merge("RGB", [grey.point(lambda v, f=f: v * f) for f in warm])


def stamp(page: Image.Image, text: str, rng: random.Random) -> Image.Image:
    """An inked, slightly turned, patchy rubber stamp in the upper half of the page."""
    w, h = page.size
    size = max(12, int(w * 0.022))
    font = _stamp_font(size)
    probe = ImageDraw.Draw(Image.new("L", (1, 1)))
    left, top, right, bottom = (int(v) for v in probe.textbbox((0, 0), text, font=font))
    pad = size // 2
    mask = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((2, 2, mask.width - 3, mask.height - 3), outline=255, width=max(2, size // 8))
    draw.text((pad - left, pad - top), text, fill=255, font=font)
    mask = mask.rotate(rng.uniform(-12, 12), expand=True, resample=Image.Resampling.BILINEAR)
    patchy = np.asarray(mask, dtype=np.int16) + _noise((mask.height, mask.width), rng, 60)
    mask = Image.fromarray(np.clip(patchy, 0, 255).astype(np.uint8), "L")
    x = rng.randint(w // 2, max(w // 2, w - mask.width - 20))
    y = rng.randint(h // 20, h // 6)
    page = page.copy()
    page.paste(rng.randint(60, 120), (x, y), mask)
    return page


def _stamp_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONT_DIR / "DejaVuSans-Bold.ttf"
    if path.exists():
        return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def scan(pdf: bytes, media: str, seed: int, stamp_text: str | None = None) -> tuple[bytes, int]:
    """The scanned form of a PDF: an image-only PDF, a PNG scan or a JPEG photo, and its pages.
    `stamp_text`, when given, is stamped on the first page before it is scanned."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    if media == "pdf":
        dpi = rng.choice((150, 200, 200))
        raster = rasterise(pdf, dpi)
        if stamp_text:
            raster[0] = stamp(raster[0], stamp_text, rng)
        pages = [degrade(p, rng, noise) for p in raster]
        blobs = [_jpeg(p, rng.randint(40, 80)) for p in pages]
        return image_pdf(blobs, [p.size for p in pages], dpi), len(pages)
    first = rasterise(pdf, 150 if media == "png" else 170)[0]
    if stamp_text:
        first = stamp(first, stamp_text, rng)
    if media == "png":
        buf = BytesIO()
        # PNG scans come from cleaner office scanners; grain would also bloat the file
        degrade(first, rng, noise, grain=(0.5, 2.0)).save(buf, "PNG", compress_level=3)
        return buf.getvalue(), 1
    return _jpeg(photo(first, rng, noise), rng.randint(55, 85)), 1
