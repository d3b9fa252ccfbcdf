"""What an approved invoice sends to the ERP: the payload records and the pure mapping to them.

`map_invoice(staged, mapping)` turns a staged invoice (header, vendor, coded lines) into an
`ErpPayload`: the vendor's ERP id, number, dates, currency, lines with the ERP account, cost
centre, tax code and net amount, the tax breakdown per rate and the totals. It lives in the core
floor because the approval (in `staging`, called by the review page and the batch) builds the
payload inside the approval's transaction, and neither may import `erp_sync`.

Amounts follow EN 16931: a credit note keeps its amounts positive and its type (`credit_note`)
gives the direction; a credit note staged with negative amounts is turned positive here.
An invoice that cannot be mapped (a GL code or tax rate without an ERP mapping, lines that do
not add up to the subtotal) raises `PayloadIncomplete` with every problem found, so the
approval is refused with the reasons instead of failing later in the ERP.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Literal

from pydantic import BaseModel, Field

CENT = Decimal("0.01")

PayloadKind = Literal["invoice", "credit_note"]


class PayloadIncomplete(ValueError):
    """The staged invoice cannot be mapped to an ERP payload; `problems` says why."""

    def __init__(self, document_id: int, problems: list[str]) -> None:
        super().__init__(f"document {document_id}: " + "; ".join(problems))
        self.document_id = document_id
        self.problems = problems


class StagedVendor(BaseModel):
    """The vendor as the master knows it (or as printed, for an unmatched vendor)."""

    vendor_id: str | None = None
    name: str | None = None
    vat_id: str | None = None
    country: str | None = None
    address: str | None = None
    iban: str | None = None


class StagedLine(BaseModel):
    """One staged line with its coding."""

    line_no: int
    description: str | None = None
    quantity: Decimal | None = None
    unit: str | None = None
    unit_price: Decimal | None = None
    tax_rate: Decimal | None = None
    line_total: Decimal | None = None
    gl_account: str | None = None
    cost_centre: str | None = None


class StagedInvoice(BaseModel):
    """What the staging store holds about one approved invoice, as the mapping reads it."""

    document_id: int
    document_type: str | None = None
    invoice_number: str | None = None
    invoice_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    po_number: str | None = None
    buyer_name: str | None = None
    subtotal: Decimal | None = None
    tax: Decimal | None = None
    total: Decimal | None = None
    vendor: StagedVendor = Field(default_factory=StagedVendor)
    lines: list[StagedLine] = Field(default_factory=list)
    gl_account: str | None = None  # the invoice-level coding, for lines without their own
    cost_centre: str | None = None


class ErpMapping(BaseModel):
    """GL code -> ERP account code, and tax rate (or "<GL code>:<rate>") -> ERP tax code."""

    gl_accounts: dict[str, str] = Field(default_factory=dict)
    tax_codes: dict[str, str] = Field(default_factory=dict)

    def account_for(self, gl_account: str) -> str | None:
        """The ERP account code of a GL code (None when unmapped)."""
        return self.gl_accounts.get(gl_account)

    def tax_code_for(self, gl_account: str | None, rate: Decimal) -> str | None:
        """The ERP tax code for a rate, a GL-specific entry first (None when unmapped)."""
        key = rate_key(rate)
        if gl_account and f"{gl_account}:{key}" in self.tax_codes:
            return self.tax_codes[f"{gl_account}:{key}"]
        return self.tax_codes.get(key)


class ErpLine(BaseModel):
    """One bill line as the ERP receives it; quantity x unit price = net amount."""

    line_no: int
    description: str
    quantity: Decimal
    unit: str | None = None
    unit_price: Decimal
    net_amount: Decimal
    gl_account: str
    erp_account: str
    cost_centre: str | None = None
    tax_rate: Decimal
    tax_code: str


class ErpTax(BaseModel):
    """Tax for one rate: the base (sum of its lines) and the amount."""

    tax_rate: Decimal
    tax_code: str
    base: Decimal
    amount: Decimal


class ErpVendor(BaseModel):
    """The supplier: its ERP id (the vendor master's id), name, VAT id and address."""

    erp_id: str | None
    name: str
    vat_id: str | None = None
    country: str | None = None
    address: str | None = None
    iban: str | None = None


class ErpPayload(BaseModel):
    """The bill (or credit note) sent to the ERP; every amount is positive."""

    document_id: int
    kind: PayloadKind
    vendor: ErpVendor
    invoice_number: str
    invoice_date: date
    due_date: date | None = None
    currency: str
    po_number: str | None = None
    buyer_name: str | None = None
    lines: list[ErpLine]
    taxes: list[ErpTax]
    net_total: Decimal
    tax_total: Decimal
    gross_total: Decimal
    credits_invoice: str | None = None  # a reversal: the number of the bill it credits

    @property
    def reference(self) -> str:
        """The vendor's invoice number: what the ERP is searched by before creating a bill."""
        return self.invoice_number


def rate_key(rate: Decimal) -> str:
    """A tax rate as a mapping key: "19", "8.1", "5.5" (no trailing zeros)."""
    normal = rate.normalize()
    text = f"{normal:f}"
    return text


def cents(amount: Decimal) -> Decimal:
    """An amount rounded half-up to the cent."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def map_invoice(staged: StagedInvoice, mapping: ErpMapping) -> ErpPayload:
    """The ERP payload of a staged invoice, or PayloadIncomplete with every problem found."""
    problems: list[str] = []
    kind: PayloadKind = "credit_note" if staged.document_type == "credit_note" else "invoice"
    sign = _sign(staged)
    rate = (
        None
        if any(ln.tax_rate is not None for ln in staged.lines)
        else document_rate(staged, mapping)
    )
    lines = [_line(line, staged, mapping, sign, problems, rate) for line in staged.lines]
    erp_lines = [line for line in lines if line is not None]
    if not staged.lines:
        problems.append("no lines")
    for name in ("invoice_number", "invoice_date", "currency", "subtotal", "tax", "total"):
        if getattr(staged, name) is None:
            problems.append(f"{name} missing")
    vendor_name = staged.vendor.name
    if not vendor_name:
        problems.append("vendor name missing")
    if problems:
        raise PayloadIncomplete(staged.document_id, problems)
    assert staged.subtotal is not None and staged.tax is not None and staged.total is not None
    net, tax, gross = sign * staged.subtotal, sign * staged.tax, sign * staged.total
    taxes = _taxes(erp_lines, tax, problems)
    _check_totals(erp_lines, net, tax, gross, problems)
    if problems:
        raise PayloadIncomplete(staged.document_id, problems)
    assert staged.invoice_number and staged.invoice_date and staged.currency and vendor_name
    return ErpPayload(
        document_id=staged.document_id,
        kind=kind,
        vendor=ErpVendor(
            erp_id=staged.vendor.vendor_id,
            name=vendor_name,
            vat_id=staged.vendor.vat_id,
            country=staged.vendor.country,
            address=staged.vendor.address,
            iban=staged.vendor.iban,
        ),
        invoice_number=staged.invoice_number,
        invoice_date=staged.invoice_date,
        due_date=staged.due_date,
        currency=staged.currency,
        po_number=staged.po_number,
        buyer_name=staged.buyer_name,
        lines=erp_lines,
        taxes=taxes,
        net_total=net,
        tax_total=tax,
        gross_total=gross,
    )


def _sign(staged: StagedInvoice) -> Decimal:
    """-1 for a credit note staged with negative amounts (EN 16931 keeps them positive)."""
    if staged.document_type == "credit_note" and (staged.total or Decimal(0)) < 0:
        return Decimal(-1)
    return Decimal(1)


def document_rate(staged: StagedInvoice, mapping: ErpMapping) -> Decimal | None:
    """The one tax rate of an invoice whose lines print none (many invoices print the rate
    once, beside the tax): the mapped rate whose tax on the subtotal is the printed tax, to the
    cent. None when no mapped rate gives it, or more than one does."""
    if staged.subtotal is None or staged.tax is None:
        return None
    rates = set()
    for key in mapping.tax_codes:
        try:
            rates.add(Decimal(key.rsplit(":", 1)[-1]))
        except InvalidOperation:
            continue  # not a rate: the mapping's own check reports it where it is used
    fitting = {r for r in rates if cents(staged.subtotal * r / 100) == staged.tax}
    return fitting.pop() if len(fitting) == 1 else None


def _line(
    line: StagedLine,
    staged: StagedInvoice,
    mapping: ErpMapping,
    sign: Decimal,
    problems: list[str],
    document_rate: Decimal | None = None,
) -> ErpLine | None:
    if line.tax_rate is None and document_rate is not None:
        line = line.model_copy(update={"tax_rate": document_rate})
    where = f"line {line.line_no}"
    gl = line.gl_account or staged.gl_account
    net = _net_amount(line)
    before = len(problems)
    if gl is None:
        problems.append(f"{where}: no GL account")
    elif mapping.account_for(gl) is None:
        problems.append(f"{where}: GL account {gl} has no ERP account in the mapping")
    if net is None:
        problems.append(f"{where}: no amount")
    if line.tax_rate is None:
        problems.append(f"{where}: no tax rate")
    elif mapping.tax_code_for(gl, line.tax_rate) is None:
        problems.append(f"{where}: tax rate {rate_key(line.tax_rate)}% has no ERP tax code")
    if len(problems) > before:
        return None
    assert gl is not None and net is not None and line.tax_rate is not None
    net = sign * net
    quantity, unit_price = _quantity_and_price(line, net, sign)
    return ErpLine(
        line_no=line.line_no,
        description=(line.description or f"line {line.line_no}").strip()[:250],
        quantity=quantity,
        unit=line.unit,
        unit_price=unit_price,
        net_amount=net,
        gl_account=gl,
        erp_account=mapping.account_for(gl) or "",
        cost_centre=line.cost_centre or staged.cost_centre,
        tax_rate=line.tax_rate,
        tax_code=mapping.tax_code_for(gl, line.tax_rate) or "",
    )


def _net_amount(line: StagedLine) -> Decimal | None:
    if line.line_total is not None:
        return line.line_total
    if line.quantity is not None and line.unit_price is not None:
        return cents(line.quantity * line.unit_price)
    return None


def _quantity_and_price(line: StagedLine, net: Decimal, sign: Decimal) -> tuple[Decimal, Decimal]:
    """Quantity and unit price whose product is the net amount (the ERP recomputes it): the
    printed ones where they multiply out, else one unit at the net amount (a discounted line)."""
    if line.quantity is not None and line.unit_price is not None and line.quantity != 0:
        quantity, price = abs(line.quantity), abs(line.unit_price)
        if cents(quantity * price) == abs(net):
            return quantity, price
    return Decimal(1), net


def _taxes(lines: list[ErpLine], tax_total: Decimal, problems: list[str]) -> list[ErpTax]:
    """Tax per rate on the sum of its lines' net amounts (EN 16931's document rounding)."""
    groups: dict[tuple[Decimal, str], Decimal] = {}
    for line in lines:
        key = (line.tax_rate, line.tax_code)
        groups[key] = groups.get(key, Decimal(0)) + line.net_amount
    taxes = [
        ErpTax(tax_rate=rate, tax_code=code, base=base, amount=cents(base * rate / 100))
        for (rate, code), base in sorted(groups.items())
    ]
    computed = sum((t.amount for t in taxes), Decimal(0))
    if computed != tax_total:
        problems.append(f"tax per rate adds up to {computed}, the invoice says {tax_total}")
    return taxes


def _check_totals(
    lines: list[ErpLine], net: Decimal, tax: Decimal, gross: Decimal, problems: list[str]
) -> None:
    line_sum = sum((line.net_amount for line in lines), Decimal(0))
    if line_sum != net:
        problems.append(f"lines add up to {line_sum}, the subtotal is {net}")
    if net + tax != gross:
        problems.append(f"subtotal {net} + tax {tax} is not the total {gross}")
