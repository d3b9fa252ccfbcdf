"""Drawing primitives over fpdf2: fonts, aligned text, wrapped text, rules and boxes.

Core PDF fonts (Helvetica, Times, Courier) are written in windows-1252, which covers ä, é and
€; the DejaVu layouts embed a subset of a Unicode TrueType font. Parsing a TrueType font costs
about 70 ms, so each process parses a font once and hands every document a fresh copy.
"""

from __future__ import annotations

import copy
import datetime as dt
from io import BytesIO
from pathlib import Path

from fontTools import subset, ttLib
from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TTF_FAMILIES = {
    "dejavu": ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    "dejavu-serif": ("DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf"),
    "dejavu-condensed": ("DejaVuSansCondensed.ttf", "DejaVuSansCondensed-Bold.ttf"),
    "dejavu-mono": ("DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"),
}
CORE_FALLBACK = {
    "dejavu": "helvetica",
    "dejavu-serif": "times",
    "dejavu-condensed": "helvetica",
    "dejavu-mono": "courier",
}
FIXED_DATE = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
PAGE_W, PAGE_H = 595.28, 841.89
LEFT, RIGHT = 50.0, 545.0

_PARSED: dict[str, tuple[bytes, TTFFont]] = {}


def fonts_available(family: str) -> bool:
    """Whether the TrueType files of a DejaVu family are installed."""
    return all((FONT_DIR / f).exists() for f in TTF_FAMILIES.get(family, ()))


# The characters an invoice of our locales can print: Latin-1, Latin Extended-A, punctuation, €.
_CHARSET = [*range(0x20, 0x7F), *range(0xA0, 0x180), *range(0x2010, 0x2045), 0x20AC, 0x2116, 0x2122]


def _reduced_font(path: Path) -> bytes:
    """The font cut down to the characters invoices use: subsetting per document is then cheap."""
    font = ttLib.TTFont(str(path), recalcTimestamp=False)
    options = subset.Options(notdef_outline=True, recommended_glyphs=True, layout_features=[])
    options.drop_tables += ["FFTM"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=_CHARSET)
    subsetter.subset(font)
    buf = BytesIO()
    font.save(buf)
    return buf.getvalue()


def _add_cached_font(pdf: FPDF, family: str, style: str, path: Path) -> None:
    fontkey = f"{family.lower()}{style}"
    if str(path) not in _PARSED:
        data = _reduced_font(path)
        _PARSED[str(path)] = (data, TTFFont(FPDF(), BytesIO(data), fontkey, style))  # type: ignore[arg-type]
    data, proto = _PARSED[str(path)]
    font = copy.copy(proto)
    font.i = len(pdf.fonts) + 1
    font.ttfont = ttLib.TTFont(BytesIO(data), recalcTimestamp=False, lazy=True)
    font.fontkey = fontkey
    font.missing_glyphs = []
    font.biggest_size_pt = 0
    font._hbfont = None
    font.subset = SubsetMap(font)
    pdf.fonts[fontkey] = font


class Canvas:
    """An A4 page sequence in points with a current font family and helpers."""

    def __init__(self, font: str, size: float, accent: tuple[int, int, int]) -> None:
        self.pdf = FPDF(unit="pt", format="A4")
        self.pdf.set_creation_date(FIXED_DATE)
        self.pdf.set_auto_page_break(False)
        self.pdf.set_margins(LEFT, 40, PAGE_W - RIGHT)
        self.pdf.core_fonts_encoding = "windows-1252"
        if font in TTF_FAMILIES and not fonts_available(font):
            font = CORE_FALLBACK[font]
        if font in TTF_FAMILIES:
            regular, bold = TTF_FAMILIES[font]
            _add_cached_font(self.pdf, font, "", FONT_DIR / regular)
            _add_cached_font(self.pdf, font, "B", FONT_DIR / bold)
        self.family = font
        self.size = size
        self.accent = accent
        self.pdf.set_font(self.family, "", size)

    def add_page(self) -> None:
        """Start a new page."""
        self.pdf.add_page()

    @property
    def page(self) -> int:
        return self.pdf.page

    def font(self, size: float | None = None, bold: bool = False) -> None:
        """Switch size and weight."""
        self.pdf.set_font(self.family, "B" if bold else "", size or self.size)

    def color(self, rgb: tuple[int, int, int] = (0, 0, 0)) -> None:
        """Set the text colour."""
        self.pdf.set_text_color(*rgb)

    def width(self, text: str) -> float:
        """The width of a text in the current font."""
        return self.pdf.get_string_width(text)

    def fitting_size(self, text: str, width: float, size: float, bold: bool = False) -> float:
        """The largest font size up to `size` (in half points, at least half of it) at which
        `text` is no wider than `width`; the font is left at that size."""
        smallest = size / 2
        while True:
            self.font(size, bold=bold)
            if size <= smallest or self.width(text) <= width:
                return size
            size -= 0.5

    def text(self, x: float, y: float, text: str, align: str = "L") -> None:
        """Write text with its baseline at y; x is the left, right or centre edge."""
        if not text:
            return
        if align == "R":
            x -= self.width(text)
        elif align == "C":
            x -= self.width(text) / 2
        self.pdf.text(x, y, text)

    def fit(self, text: str, width: float) -> list[str]:
        """Break a text into lines no wider than `width`."""
        words, lines, current = text.split(), [], ""
        for w in words:
            trial = f"{current} {w}".strip()
            if current and self.width(trial) > width:
                lines.append(current)
                current = w
            else:
                current = trial
        lines.append(current)
        return lines

    def rule(
        self, x1: float, y: float, x2: float, width: float = 0.5, dashed: bool = False
    ) -> None:
        """A horizontal line."""
        self.pdf.set_line_width(width)
        if dashed:
            self.pdf.set_dash_pattern(dash=2, gap=2)
        self.pdf.line(x1, y, x2, y)
        if dashed:
            self.pdf.set_dash_pattern()

    def vline(self, x: float, y1: float, y2: float, width: float = 0.5) -> None:
        """A vertical line."""
        self.pdf.set_line_width(width)
        self.pdf.line(x, y1, x, y2)

    def box(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        fill: tuple[int, int, int] | None = None,
        border: bool = True,
    ) -> None:
        """A rectangle, optionally filled."""
        style = ("F" if fill else "") + ("D" if border else "")
        if fill:
            self.pdf.set_fill_color(*fill)
        self.pdf.set_line_width(0.5)
        self.pdf.rect(x, y, w, h, style=style or "D")

    def output(self) -> bytes:
        """The finished PDF."""
        return bytes(self.pdf.output())
