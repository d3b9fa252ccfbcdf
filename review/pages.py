"""Page images for the item page, rendered once with pypdfium2 and cached on disk.

Boxes are in PDF points with a top-left origin (as the text layer and OCR record them), so the
page's size in points turns each box into percentages of the image: the page draws them in a
`position: relative` wrapper exactly the size of the image, where they sit on their words at
any zoom. A scanned PDF renders the same bitmap that OCR read, so its boxes fit too.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image


@dataclass(frozen=True)
class PageImage:
    """A rendered page: PNG bytes and the page size in points."""

    png: bytes
    width_pt: float
    height_pt: float


def _cache_key(source: Path, page: int, dpi: int) -> str:
    stat = source.stat()
    raw = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{page}|{dpi}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def page_image(source: Path, page: int, dpi: int, cache_dir: Path) -> PageImage:
    """Page `page` (1-based) of a PDF or image file, from the cache or rendered now.

    Raises FileNotFoundError for a missing file and IndexError for a page it does not have."""
    key = _cache_key(source, page, dpi)
    png_path = cache_dir / f"{key}.png"
    size_path = cache_dir / f"{key}.size"
    if png_path.exists() and size_path.exists():
        w, h = (float(x) for x in size_path.read_text().split())
        return PageImage(png_path.read_bytes(), w, h)
    image = _render(source, page, dpi)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = png_path.with_suffix(".tmp")
    tmp.write_bytes(image.png)
    tmp.replace(png_path)
    size_path.write_text(f"{image.width_pt} {image.height_pt}")
    return image


def _render(source: Path, page: int, dpi: int) -> PageImage:
    if source.suffix.lower() != ".pdf":
        with Image.open(source) as img:
            if page != 1:
                raise IndexError(page)
            buf = io.BytesIO()
            img.convert("RGB").save(buf, "PNG")
            # images are read at 72 points per inch of their pixel grid by the text stage
            return PageImage(buf.getvalue(), float(img.width), float(img.height))
    pdf = pdfium.PdfDocument(str(source))
    try:
        if not 1 <= page <= len(pdf):
            raise IndexError(page)
        p = pdf[page - 1]
        width, height = p.get_size()
        bitmap = p.render(scale=dpi / 72).to_pil()
        buf = io.BytesIO()
        bitmap.save(buf, "PNG", optimize=False)
        return PageImage(buf.getvalue(), float(width), float(height))
    finally:
        pdf.close()
