"""The vendor master, the coded-invoice history, and writing master data as CSV.

The CSV files follow data/master/README.md, which `invoices load-master` reads.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from invoices.master_format import MASTER_COLUMNS
from synthetic import identity
from synthetic.catalog import CATEGORIES, CATEGORY_BY_NAME, COST_CENTRES, GL_ACCOUNTS, Item
from synthetic.layouts import LAYOUT_NAMES
from synthetic.locales import TAX_RATES, money, unit_name
from synthetic.model import PurchaseOrder, Receipt, Vendor

NUMBER_PATTERNS = (
    "INV-{n}",
    "RE-{y}-{n:05d}",
    "{y}{n:05d}",
    "F-{y}-{n:04d}",
    "{n}",
    "INV{n:06d}",
    "{y}/{n:04d}",
    "R{n:07d}",
)
DEFAULT_LOCALE_WEIGHTS = {
    "de_DE": 0.28,
    "fr_FR": 0.18,
    "en_GB": 0.16,
    "en_US": 0.1,
    "de_AT": 0.09,
    "de_CH": 0.09,
    "fr_BE": 0.1,
}
BRAND_COLOURS = (
    (30, 60, 120),
    (200, 70, 40),
    (0, 90, 60),
    (90, 30, 60),
    (60, 60, 60),
    (20, 100, 140),
    (110, 40, 140),
    (120, 100, 40),
    (0, 0, 0),
    (150, 20, 30),
)
NEVER_INVOICING_SHARE = 0.25
MASTER_GAP_SHARE = 0.08
EINVOICE_COUNTRIES = ("DE", "AT", "FR", "BE")
EINVOICE_SHARE = 0.35  # of the vendors there, those that attach Factur-X/ZUGFeRD XML
HISTORY_NOISE = 0.05  # share of history lines coded differently from the vendor's pattern


def make_vendor(
    rng: random.Random,
    vendor_id: str,
    locale: str,
    taken: set[str],
    weight: float,
    uses_po: bool | None = None,
) -> Vendor:
    """One vendor of the locale with a unique legal name, valid VAT id and IBAN."""
    country = identity.LOCALE_COUNTRY[locale]
    pool = [c for c in CATEGORIES if uses_po is None or c.uses_po == uses_po]
    category = rng.choice(pool)
    lang = identity.language(locale)
    while True:
        base, form = identity.legal_name(rng, country, category.words[lang])
        if f"{base} {form}".casefold() not in taken and base.casefold() not in taken:
            break
    taken.update({f"{base} {form}".casefold(), base.casefold()})
    iban, bic = identity.iban(rng, country)
    currency = identity.COUNTRY_CURRENCY[country]
    if country in ("GB", "CH", "US") and rng.random() < 0.15:
        currency = "EUR"
    letters = [ch for ch in base.upper().translate(identity._TRANSLIT) if "A" <= ch <= "Z"]
    return Vendor(
        vendor_id=vendor_id,
        base_name=base,
        legal_form=form,
        aliases=tuple(identity.name_variants(base, form)),
        address=identity.address(rng, country),
        vat_id=identity.vat_id(rng, country),
        iban=iban,
        bic=bic,
        email=identity.email(base, country),
        currency=currency,
        locale=locale,
        payment_terms_days=rng.choice((14, 30, 30, 30, 45, 60)),
        category=category.name,
        cost_centre=rng.choice(category.cost_centres),
        layout=rng.choice(LAYOUT_NAMES),
        words=rng.randrange(3),
        accent=rng.choice(BRAND_COLOURS),
        einvoice=country in EINVOICE_COUNTRIES and rng.random() < EINVOICE_SHARE,
        number_pattern=rng.choice(NUMBER_PATTERNS),
        sku_prefix="".join(letters[:3]).ljust(3, "X"),
        weight=weight,
    )


def make_vendors(rng: random.Random, count: int, locales: Sequence[str]) -> list[Vendor]:
    """The vendor master: `count` vendors, a quarter of which never send an invoice."""
    weights = [DEFAULT_LOCALE_WEIGHTS.get(loc, 0.1) for loc in locales]
    taken: set[str] = set()
    vendors = []
    never = max(1, round(count * NEVER_INVOICING_SHARE)) if count > 4 else 0
    for i in range(count):
        locale = rng.choices(list(locales), weights=weights)[0]
        weight = 0.0 if i >= count - never else 1.0 / (1 + rng.random() * 9) ** 1.2
        # alternate PO-based and non-PO categories so that both kinds invoice
        vendor = make_vendor(rng, f"V{i + 1:05d}", locale, taken, weight, i % 2 == 0)
        if rng.random() < MASTER_GAP_SHARE:  # an incomplete master record, as real ones are
            gap = rng.choice([f for f in ("vat_id", "iban", "email") if getattr(vendor, f)])
            vendor = replace(vendor, master_gaps=(gap,))
        vendors.append(vendor)
    return vendors


def coding(vendor: Vendor, item: Item) -> tuple[str, str]:
    """The GL account and cost centre a clerk books this vendor's item to."""
    return item.gl_account, item.cost_centre or vendor.cost_centre


def describe(vendor: Vendor, item: Item) -> str:
    """The item's description in the vendor's language."""
    return getattr(item, identity.language(vendor.locale))


def sku(vendor: Vendor, item: Item) -> str:
    """The vendor's article number for an item."""
    return f"{vendor.sku_prefix}-{item.code}"


def unit(vendor: Vendor, item: Item) -> str:
    """The unit as the vendor prints it."""
    return unit_name(item.unit, identity.language(vendor.locale))


def tax_rate(vendor: Vendor, item: Item) -> Decimal:
    """The tax percent the vendor charges on the item."""
    return Decimal(TAX_RATES[vendor.country][item.tax_class])


def unit_price(rng: random.Random, item: Item) -> Decimal:
    """A price within the item's range."""
    low, high = Decimal(item.low), Decimal(item.high)
    return money(low + (high - low) * Decimal(rng.randrange(0, 1001)) / 1000)


def quantity(rng: random.Random, item: Item) -> Decimal:
    """An order quantity for the item."""
    top = max(1, item.max_qty)
    if item.fractional:
        return Decimal(rng.randrange(2, top * 4 + 1)) / 4
    return Decimal(rng.randint(1, top))


def make_history(
    rng: random.Random, vendors: Sequence[Vendor], lines: int, start: date
) -> list[dict[str, str]]:
    """Already-coded invoice lines of the year before `start`, with a little noise."""
    active = [v for v in vendors if v.weight > 0] or list(vendors)
    cum: list[float] = []
    acc = 0.0
    for v in active:
        acc += v.weight or 1.0
        cum.append(acc)
    rows: list[dict[str, str]] = []
    gl_codes = [g[0] for g in GL_ACCOUNTS]
    cc_codes = [c[0] for c in COST_CENTRES]
    n = 0
    while len(rows) < lines:
        n += 1
        vendor = rng.choices(active, cum_weights=cum)[0]
        items = CATEGORY_BY_NAME[vendor.category].items
        when = start - timedelta(days=rng.randint(1, 365))
        for line_no in range(1, min(rng.randint(1, 5), lines - len(rows)) + 1):
            item = rng.choice(items)
            gl, cc = coding(vendor, item)
            if rng.random() < HISTORY_NOISE:
                gl, cc = rng.choice(gl_codes), rng.choice(cc_codes)
            amount = money(quantity(rng, item) * unit_price(rng, item))
            rows.append(
                {
                    "invoice_id": f"H{n:07d}",
                    "line_no": str(line_no),
                    "vendor_id": vendor.vendor_id,
                    "invoice_date": when.isoformat(),
                    "description": describe(vendor, item),
                    "amount": str(amount),
                    "gl_account": gl,
                    "cost_centre": cc,
                }
            )
    return rows


def _write(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})


VENDOR_COLUMNS = MASTER_COLUMNS["vendors.csv"]


def _vendor_row(v: Vendor) -> dict[str, object]:
    return {
        "vendor_id": v.vendor_id,
        "name": v.name,
        "aliases": "|".join(v.aliases),
        "address": v.address.one_line(identity.language(v.locale)),
        "country": v.country,
        "vat_id": None if "vat_id" in v.master_gaps else v.vat_id,
        "iban": None if "iban" in v.master_gaps else v.iban,
        "bic": v.bic,
        "email": None if "email" in v.master_gaps else v.email,
        "currency": v.currency,
        "locale": v.locale,
        "payment_terms_days": v.payment_terms_days,
    }


def write_master(
    folder: Path,
    vendors: Sequence[Vendor],
    orders: Sequence[PurchaseOrder],
    receipts: Sequence[Receipt],
    history: Sequence[dict[str, str]],
) -> None:
    """Write the seven master CSV files of data/master/README.md into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    _write(folder / "vendors.csv", VENDOR_COLUMNS, (_vendor_row(v) for v in vendors))
    _write(
        folder / "purchase_orders.csv",
        MASTER_COLUMNS["purchase_orders.csv"],
        (
            {
                "po_number": o.po_number,
                "vendor_id": o.vendor_id,
                "currency": o.currency,
                "order_date": o.order_date.isoformat(),
                "status": o.status,
            }
            for o in orders
        ),
    )
    po_columns = MASTER_COLUMNS["po_lines.csv"]
    _write(
        folder / "po_lines.csv",
        po_columns,
        (
            {"po_number": o.po_number, **{c: getattr(ln, c) for c in po_columns[1:]}}
            for o in orders
            for ln in o.lines
        ),
    )
    _write(
        folder / "goods_receipts.csv",
        MASTER_COLUMNS["goods_receipts.csv"],
        (
            {
                "receipt_id": r.receipt_id,
                "po_number": r.po_number,
                "line_no": r.line_no,
                "quantity": r.quantity,
                "received_date": r.received_date.isoformat(),
            }
            for r in receipts
        ),
    )
    _write(
        folder / "gl_accounts.csv",
        MASTER_COLUMNS["gl_accounts.csv"],
        ({"gl_account": g, "name": n, "category": c} for g, n, c in GL_ACCOUNTS),
    )
    _write(
        folder / "cost_centres.csv",
        MASTER_COLUMNS["cost_centres.csv"],
        ({"cost_centre": c, "name": n} for c, n in COST_CENTRES),
    )
    _write(
        folder / "coded_history.csv",
        MASTER_COLUMNS["coded_history.csv"],
        history,
    )
