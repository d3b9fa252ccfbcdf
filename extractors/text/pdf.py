"""PDF specifics: opening (encryption, truncation, page limits), e-invoice attachments, text layer.

Word boxes are PDF points with a top-left origin (x0, top, x1, bottom), as pdfplumber gives them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from extractors.text.intake import EINVOICE_ROOTS
from invoices.errors import DocumentEncrypted, DocumentTooLarge, DocumentUnreadable
from invoices.records import Word
from invoices.settings import Settings

log = logging.getLogger(__name__)

# Names the e-invoice standards give the embedded XML, in order of preference.
EINVOICE_NAMES: tuple[str, ...] = (
    "factur-x.xml",
    "zugferd-invoice.xml",
    "xrechnung.xml",
    "zugferd_invoice.xml",
)

# pdfplumber word building: characters closer than X_TOLERANCE points join one word; a word
# belongs to a line when its top is within Y_TOLERANCE points.
X_TOLERANCE = 1.5
Y_TOLERANCE = 2.5


@dataclass(frozen=True)
class PdfInfo:
    """What opening the PDF found: page count, the password that opened it, any e-invoice."""

    pages: int
    password: str | None
    einvoice_xml: bytes | None
    einvoice_name: str | None


def open_pdf(path: Path, settings: Settings, want_einvoice: bool) -> PdfInfo:
    """Check that the PDF opens (empty password tried) and fits the limits; find its e-invoice."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    _check_not_truncated(path)
    try:
        reader = PdfReader(str(path), strict=False)
        password = None
        if reader.is_encrypted:
            # Many "encrypted" PDFs only restrict printing/copying and open with no password.
            if not reader.decrypt(""):
                raise DocumentEncrypted(
                    path, "the PDF is password-protected (no empty user password)"
                )
            password = ""
        pages = len(reader.pages)
    except DocumentEncrypted:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentUnreadable(path, f"the PDF cannot be parsed: {exc}") from exc
    if pages == 0:
        raise DocumentUnreadable(path, "the PDF has no pages")
    if pages > settings.max_pages:
        raise DocumentTooLarge(path, f"{pages} pages is over the limit of {settings.max_pages}")
    xml, name = find_einvoice(reader) if want_einvoice else (None, None)
    return PdfInfo(pages=pages, password=password, einvoice_xml=xml, einvoice_name=name)


def _check_not_truncated(path: Path) -> None:
    """Refuse a PDF with no end-of-file marker near its end: it was cut off in transfer."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        fh.seek(max(0, size - 2048))
        tail = fh.read()
    if b"%%EOF" not in tail:
        raise DocumentUnreadable(
            path, "the PDF is truncated or corrupt: no %%EOF marker at its end"
        )


def find_einvoice(reader: object) -> tuple[bytes | None, str | None]:
    """The embedded e-invoice XML and its file name, preferring the standard names."""
    try:
        attachments = dict(reader.attachments)  # type: ignore[attr-defined]
    except Exception as exc:  # a broken name tree must not fail the visual path
        log.warning("cannot list PDF attachments: %s", exc)
        return None, None
    candidates = sorted(attachments, key=_attachment_rank)
    for name in candidates:
        if not name.lower().endswith(".xml"):
            continue
        for data in attachments[name]:
            if is_einvoice_xml(data):
                return data, name
    return None, None


def _attachment_rank(name: str) -> tuple[int, str]:
    lower = name.lower()
    return (EINVOICE_NAMES.index(lower) if lower in EINVOICE_NAMES else len(EINVOICE_NAMES), lower)


def is_einvoice_xml(data: bytes) -> bool:
    """Whether `data` parses as XML whose root is a CII, ZUGFeRD 1 or UBL invoice."""
    try:
        root = etree.fromstring(
            data, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError:
        return False
    return etree.QName(root).localname in EINVOICE_ROOTS


@dataclass
class TextLayerPage:
    """The words of one page's text layer and the page size in points."""

    number: int
    words: list[Word]
    width: float
    height: float
    seconds: float
    image_coverage: float = 0.0  # share of the page area under images (a scan is ~1.0)


def read_text_layer(path: Path, password: str | None) -> list[TextLayerPage]:
    """Words of every page's text layer, in points with a top-left origin."""
    import pdfplumber

    pages: list[TextLayerPage] = []
    try:
        with pdfplumber.open(str(path), password=password or "") as pdf:
            for number, page in enumerate(pdf.pages, start=1):
                started = time.perf_counter()
                words = _page_words(page)
                pages.append(
                    TextLayerPage(
                        number=number,
                        words=words,
                        width=float(page.width),
                        height=float(page.height),
                        seconds=time.perf_counter() - started,
                        image_coverage=_image_coverage(page),
                    )
                )
                page.close()
    except Exception as exc:
        raise DocumentUnreadable(path, f"the PDF text layer cannot be read: {exc}") from exc
    return pages


def _page_words(page: object) -> list[Word]:
    from pdfplumber.utils import extract_words

    raw = extract_words(
        _layout_chars(page),
        x_tolerance=X_TOLERANCE,
        y_tolerance=Y_TOLERANCE,
        keep_blank_chars=False,
        use_text_flow=False,
    )
    words = []
    for w in raw:
        text = w["text"].strip()
        if text:
            words.append(Word(text=text, bbox=(w["x0"], w["top"], w["x1"], w["bottom"])))
    return words


def _layout_chars(page: object) -> list[dict[str, object]]:
    """The page's characters as pdfplumber's `page.chars` has them, with only the keys its word
    building reads (text, x0, x1, top, bottom, doctop, upright), straight from pdfminer's
    layout: `page.chars` converts and resolves every attribute of every character (font,
    colours, graphic state), which was half the time of a born-digital page."""
    from pdfminer.layout import LTChar

    mb_x0, mb_top = page.mediabox[:2]  # type: ignore[attr-defined]
    height, doctop = page.height, page.initial_doctop  # type: ignore[attr-defined]
    chars: list[dict[str, object]] = []
    for obj in _layout_leaves(page.layout):  # type: ignore[attr-defined]
        if not isinstance(obj, LTChar):
            continue
        top = (height - obj.y1) + mb_top
        chars.append(
            {
                "text": obj.get_text(),
                "x0": obj.x0 + mb_x0 if mb_x0 != 0 else obj.x0,
                "x1": obj.x1 + mb_x0 if mb_x0 != 0 else obj.x1,
                "top": top,
                "bottom": (height - obj.y0) + mb_top,
                "doctop": doctop + top,
                "upright": obj.upright,
            }
        )
    return chars


def _layout_leaves(container: object) -> Iterator[object]:
    """pdfminer's layout objects in pdfplumber's order: the children of a figure in its place."""
    from pdfminer.layout import LTContainer

    for obj in container._objs:  # type: ignore[attr-defined]
        if isinstance(obj, LTContainer):
            yield from _layout_leaves(obj)
        else:
            yield obj


def _image_coverage(page: object) -> float:
    """The share of the page covered by images (overlaps counted twice, capped at 1)."""
    from pdfminer.layout import LTImage

    width, height = float(page.width), float(page.height)  # type: ignore[attr-defined]
    if width <= 0 or height <= 0:
        return 0.0
    mb_x0, mb_top = page.mediabox[:2]  # type: ignore[attr-defined]
    covered = 0.0
    for image in _layout_leaves(page.layout):  # type: ignore[attr-defined]
        if not isinstance(image, LTImage):
            continue
        # pdfplumber's image box: x0/x1 shifted by the media box, top/bottom from y1/y0
        x0, x1 = image.x0 + mb_x0, image.x1 + mb_x0
        top = (page.height - image.y1) + mb_top  # type: ignore[attr-defined]
        bottom = (page.height - image.y0) + mb_top  # type: ignore[attr-defined]
        w = min(x1, width) - max(x0, 0.0)
        h = min(bottom, height) - max(top, 0.0)
        covered += max(0.0, w) * max(0.0, h)
    return min(1.0, covered / (width * height))
