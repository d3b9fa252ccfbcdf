"""The invoice layouts: visibly different templates, described as data.

A layout fixes the font, where the vendor and the invoice details sit, how the table and the
totals look, which wording variant the labels use and how dates and amounts are printed. Each
vendor keeps one layout, as real vendors keep their template.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_COLUMNS = (
    "pos",
    "sku",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "tax_rate",
    "line_total",
)


@dataclass(frozen=True)
class Layout:
    """One invoice template."""

    name: str
    font: str  # helvetica, times, courier, dejavu, dejavu-serif, dejavu-condensed, dejavu-mono
    size: float
    header: str  # left, right, center, band, din, footer
    meta: str  # right, grid, left
    table: str  # grid, rules, striped, plain, filled
    columns: tuple[str, ...]
    totals: str  # right, box
    words: int  # wording variant index
    date_style: str  # numeric, long, iso
    currency_style: str  # symbol, code, none (currency then printed as a header line)
    amount_due: bool
    accent: tuple[int, int, int]
    rows_first_page: int = 18  # lines that fit under a first-page header, used for page breaks


# fmt: off
LAYOUTS: tuple[Layout, ...] = (
    Layout("atlas", "helvetica", 9.5, "left", "right", "grid",
           ("pos", "sku", "description", "quantity", "unit_price", "line_total"),
           "right", 0, "numeric", "symbol", True, (30, 60, 120)),
    Layout("bauhaus", "dejavu", 9, "band", "grid", "striped",
           ("pos", "description", "quantity", "unit", "unit_price", "tax_rate", "line_total"),
           "box", 1, "numeric", "code", True, (200, 70, 40)),
    Layout("courier", "courier", 9, "center", "left", "plain",
           ("sku", "description", "quantity", "unit_price", "line_total"),
           "right", 2, "iso", "none", False, (0, 0, 0)),
    Layout("din5008", "helvetica", 9, "din", "right", "rules",
           ("pos", "sku", "description", "quantity", "unit", "unit_price", "line_total"),
           "right", 1, "numeric", "code", True, (0, 90, 60)),
    Layout("elegant", "times", 10.5, "center", "right", "rules",
           ("description", "quantity", "unit_price", "line_total"),
           "right", 1, "long", "symbol", True, (90, 30, 60)),
    Layout("fineprint", "dejavu-condensed", 8, "right", "grid", "grid",
           ALL_COLUMNS, "box", 2, "numeric", "code", True, (60, 60, 60)),
    Layout("gazette", "dejavu-serif", 9, "left", "left", "filled",
           ("pos", "description", "quantity", "unit_price", "tax_rate", "line_total"),
           "box", 0, "long", "symbol", False, (20, 100, 140)),
    Layout("horizon", "helvetica", 10, "footer", "grid", "filled",
           ("sku", "description", "quantity", "unit", "unit_price", "line_total"),
           "right", 2, "numeric", "symbol", True, (110, 40, 140)),
    Layout("ivory", "times", 10, "right", "left", "grid",
           ("pos", "description", "quantity", "unit_price", "tax_rate", "line_total"),
           "right", 0, "numeric", "code", True, (120, 100, 40)),
    Layout("terminal", "dejavu-mono", 8.5, "left", "right", "plain",
           ("pos", "sku", "description", "quantity", "unit_price", "line_total"),
           "right", 1, "iso", "code", True, (0, 0, 0)),
)
# fmt: on

LAYOUT_NAMES: tuple[str, ...] = tuple(lay.name for lay in LAYOUTS)
LAYOUT_BY_NAME: dict[str, Layout] = {lay.name: lay for lay in LAYOUTS}
