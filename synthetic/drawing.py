"""The rendering state of one document, shared by the header and the body renderers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from synthetic.canvas import LEFT, PAGE_H, RIGHT, Canvas
from synthetic.families import VARIANT_WORDS, family_word
from synthetic.layouts import Layout
from synthetic.locales import format_amount, format_date, word
from synthetic.model import DocSpec

BOTTOM = PAGE_H - 95  # the footer starts below this


@dataclass
class Doc:
    """Rendering state of one document."""

    spec: DocSpec
    lay: Layout
    cv: Canvas
    lang: str
    y: float = 0.0

    def has(self, family: str) -> bool:
        """Whether the document is printed in a layout family (synthetic.families)."""
        return family in self.spec.families

    def w(self, key: str, variant: int | None = None) -> str:
        """A label in the document's language and the layout's wording."""
        index = self.lay.words if variant is None else variant
        if key in VARIANT_WORDS and self.has("label_variants"):
            return family_word(VARIANT_WORDS[key], self.lang, index)
        return word(key, self.lang, index)

    def signed(self, value: Decimal) -> Decimal:
        """An amount with the sign the document prints it with (a credit note may print it
        negative)."""
        return -value if self.has("credit_note_sign") else value

    def money(self, value: Decimal, bare: bool = False) -> str:
        """An amount as the layout prints it."""
        style = "none" if bare else self.lay.currency_style
        return format_amount(value, self.spec.currency, self.spec.locale, style)

    def date(self, value: date) -> str:
        """A date as the layout prints it (month first for a `month_first_dates` vendor)."""
        if self.has("month_first_dates") and self.lay.date_style == "numeric":
            return f"{value.month:02d}/{value.day:02d}/{value.year}"
        return format_date(value, self.spec.locale, self.lay.date_style)


def title(doc: Doc) -> str:
    """The document title in the layout's wording."""
    return doc.w(doc.spec.document_type, doc.lay.words % 2)


def continuation_header(doc: Doc) -> None:
    """The small header of every page after the first."""
    cv, s = doc.cv, doc.spec
    cv.font(doc.lay.size, bold=True)
    cv.text(LEFT, 50, s.vendor.name)
    cv.font(doc.lay.size)
    cv.text(RIGHT, 50, f"{title(doc)} {s.number or ''}".strip(), "R")
    cv.rule(LEFT, 56, RIGHT, 0.5)
    doc.y = 70
