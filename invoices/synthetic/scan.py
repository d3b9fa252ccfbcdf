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
from PIL import Image, ImageFilter

from invoices.synthetic.canvas import FIXED_DATE

ROTATION_CHANCE = 0.06


def rasterise(pdf: bytes, dpi: int) -> list[Image.Image]:
    """The pages of a PDF as greyscale images."""
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
                for i in range(len(doc))]
    finally:
        doc.close()


def degrade(page: Image.Image, rng: random.Random, noise: np.random.Generator) -> Image.Image:
    """A scanner's view of a page: paper tone, skew, blur, speckles, maybe rotated."""
    angle = rng.uniform(-2.0, 2.0)
    page = page.rotate(angle, resample=Image.Resampling.BICUBIC, expand=False, fillcolor=255)
    if rng.random() < 0.7:
        page = page.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    arr = np.asarray(page, dtype=np.int16)
    arr = arr * rng.uniform(0.88, 0.97) + rng.uniform(0, 12)  # grey paper, weaker blacks
    arr += noise.normal(0, rng.uniform(3, 9), arr.shape).astype(np.int16)
    speckles = noise.random(arr.shape) < rng.uniform(0.0002, 0.001)
    arr[speckles] = 30
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
    desk = Image.new("RGB", (w + 2 * margin, h + 2 * margin), (92, 74, 58))
    tint = Image.merge("RGB", (page, page.point(lambda v: v * 0.98), page.point(lambda v: v * 0.93)))
    desk.paste(tint, (margin, margin))
    jitter = [rng.uniform(-0.025, 0.025) * w for _ in range(8)]
    W, H = desk.size
    quad = (jitter[0], jitter[1], jitter[2], H + jitter[3], W + jitter[4], H + jitter[5],
            W + jitter[6], jitter[7])
    desk = desk.transform(desk.size, Image.Transform.QUAD, quad, Image.Resampling.BILINEAR)
    arr = np.asarray(desk, dtype=np.float32)
    ramp = np.linspace(rng.uniform(0.75, 0.9), 1.0, W, dtype=np.float32)
    if rng.random() < 0.5:
        ramp = ramp[::-1]
    arr = arr * ramp[None, :, None] + noise.normal(0, 4, arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB").filter(
        ImageFilter.GaussianBlur(rng.uniform(0.4, 1.1)))


def scan(pdf: bytes, media: str, seed: int) -> tuple[bytes, int]:
    """The scanned form of a PDF: an image-only PDF, a PNG scan or a JPEG photo; and its pages."""
    rng = random.Random(seed)
    noise = np.random.default_rng(seed)
    if media == "pdf":
        dpi = rng.choice((150, 200, 200))
        pages = [degrade(p, rng, noise) for p in rasterise(pdf, dpi)]
        blobs = [_jpeg(p, rng.randint(40, 80)) for p in pages]
        return image_pdf(blobs, [p.size for p in pages], dpi), len(pages)
    first = rasterise(pdf, 150 if media == "png" else 170)[0]
    if media == "png":
        buf = BytesIO()
        degrade(first, rng, noise).save(buf, "PNG", optimize=False)
        return buf.getvalue(), 1
    return _jpeg(photo(first, rng, noise), rng.randint(55, 85)), 1
