"""The generator's own plain records: vendors, purchase orders, planned documents.

They are frozen dataclasses (cheap, picklable for the render pool), not the pipeline's
pydantic records: the generator describes the truth, the pipeline must find it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from synthetic.identity import Address
from synthetic.locales import money

ANOMALY_KINDS: tuple[str, ...] = (
    "exact_duplicate",
    "rescanned_duplicate",
    "number_variant_duplicate",
    "price_variance",
    "qty_exceeds_received",
    "po_missing",
    "vendor_unknown",
    "bank_details_changed",
    "arithmetic_error",
    "credit_note",
    "not_an_invoice",
)


@dataclass(frozen=True)
class Vendor:
    """A supplier as the master data knows it, plus how its invoices look."""

    vendor_id: str
    base_name: str
    legal_form: str
    aliases: tuple[str, ...]
    address: Address
    vat_id: str | None
    iban: str | None
    bic: str | None
    email: str
    currency: str
    locale: str
    payment_terms_days: int
    category: str
    cost_centre: str
    layout: str
    number_pattern: str
    sku_prefix: str
    weight: float  # how often it invoices (0: never)
    resembles: str | None = None  # an unknown vendor named like this known vendor
    words: int = 0  # the vendor's wording variant of the labels on its template
    accent: tuple[int, int, int] = (0, 0, 0)  # the vendor's brand colour
    einvoice: bool = False  # attaches Factur-X/ZUGFeRD XML to its PDFs
    master_gaps: tuple[str, ...] = ()  # fields the master record lacks although invoices print them

    @property
    def name(self) -> str:
        """The legal name."""
        return f"{self.base_name} {self.legal_form}"

    @property
    def country(self) -> str:
        return self.address.country


@dataclass(frozen=True)
class PoLine:
    """One ordered line of a purchase order."""

    line_no: int
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax_rate: Decimal
    gl_account: str
    cost_centre: str


@dataclass(frozen=True)
class PurchaseOrder:
    """A purchase order sent to a vendor."""

    po_number: str
    vendor_id: str
    currency: str
    order_date: date
    status: str
    lines: tuple[PoLine, ...]


@dataclass(frozen=True)
class Receipt:
    """A goods receipt against one PO line."""

    receipt_id: str
    po_number: str
    line_no: int
    quantity: Decimal
    received_date: date


@dataclass(frozen=True)
class Line:
    """One invoice line as printed, with its coding truth."""

    line_no: int
    sku: str
    description: str
    quantity: Decimal
    unit: str
    unit_price: Decimal
    tax_rate: Decimal
    gl_account: str
    cost_centre: str
    po_line_no: int | None = None
    printed_total: Decimal | None = None  # set when an arithmetic error is planted on the line

    @property
    def total(self) -> Decimal:
        """The line total as printed."""
        if self.printed_total is not None:
            return self.printed_total
        return money(self.quantity * self.unit_price)


@dataclass(frozen=True)
class Anomaly:
    """One planted anomaly, its kind and what it is about."""

    kind: str
    of_key: int | None = None  # plan key of the earlier document it refers to
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Party:
    """A name and an address as printed."""

    name: str
    address: Address


@dataclass(frozen=True)
class Totals:
    """The printed totals of a document."""

    subtotal: Decimal
    tax_lines: tuple[tuple[Decimal, Decimal, Decimal], ...]  # (rate, base, amount)
    tax: Decimal
    total: Decimal
    amount_due: Decimal
    prepaid: Decimal = Decimal("0.00")
    rounding: Decimal = Decimal("0.00")  # cash rounding: amount_due = total - prepaid + rounding


@dataclass(frozen=True)
class OpenItem:
    """An invoice listed on a statement or a reminder."""

    number: str
    invoice_date: date
    due_date: date
    amount: Decimal
    key: int | None = None  # plan key of the invoice when it is part of the corpus


@dataclass(frozen=True)
class DocSpec:
    """Everything needed to render one document and to write its label."""

    key: int  # position in the plan, before doc ids are assigned
    document_type: str  # invoice, credit_note, statement, reminder
    vendor_id: str | None  # truth: None for an unknown vendor
    vendor: Party
    vendor_vat_id: str | None
    vendor_email: str
    iban: str | None
    bic: str | None
    buyer: Party
    number: str | None
    issue_date: date
    due_date: date | None
    currency: str
    locale: str
    layout: str
    words: int
    accent: tuple[int, int, int]
    po_number: str | None  # as printed
    truth_po: str | None
    customer_no: str
    payment_terms_days: int
    lines: tuple[Line, ...]
    totals: Totals | None
    anomalies: tuple[Anomaly, ...] = ()
    credited_number: str | None = None
    open_items: tuple[OpenItem, ...] = ()
    reminder_fee: Decimal = Decimal("0.00")
    approval_route: str | None = None
    # rendering
    scanned: bool = False
    media: str = "pdf"  # pdf, png, jpg
    render_seed: int = 0
    stamp: str | None = None  # a goods-in/received stamp on the scan, e.g. "EINGANG 12.03.2025"
    einvoice: bool = False  # the born-digital PDF carries the CII XML of the invoice
    copy_of: int | None = None  # key of the document whose file an exact duplicate copies
    of_key: int | None = None  # key of the document a duplicate or credit note refers to
    families: tuple[str, ...] = ()  # layout families (synthetic.families) it is printed in
