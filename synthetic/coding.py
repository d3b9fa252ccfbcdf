"""Invoice lines with the GL account a clerk books them to: a small labelled set for scoring a
line coder (`invoices bench-llm`), drawn from the same vendors and catalogue as the corpus."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from synthetic.catalog import CATEGORY_BY_NAME, COST_CENTRES, GL_ACCOUNTS
from synthetic.master import (
    DEFAULT_LOCALE_WEIGHTS,
    coding,
    describe,
    make_vendors,
    quantity,
    unit_price,
)


@dataclass(frozen=True)
class CodedLine:
    """One invoice line as printed, and how it is coded."""

    vendor_id: str
    vendor_name: str
    description: str
    amount: Decimal
    gl_account: str
    cost_centre: str


def chart_of_accounts() -> dict[str, str]:
    """The generated corpus's chart of accounts: GL account -> name."""
    return {code: name for code, name, _ in GL_ACCOUNTS}


def cost_centre_codes() -> list[str]:
    """The generated corpus's cost centres."""
    return [code for code, _ in COST_CENTRES]


def coded_invoices(invoices: int, lines: int, seed: int = 7) -> list[list[CodedLine]]:
    """`invoices` invoices of up to `lines` distinct items each, from vendors of every locale."""
    rng = random.Random(seed)
    vendors = make_vendors(rng, max(4, invoices), list(DEFAULT_LOCALE_WEIGHTS))
    result = []
    for n in range(invoices):
        vendor = vendors[n % len(vendors)]
        items = CATEGORY_BY_NAME[vendor.category].items
        chosen = rng.sample(items, min(lines, len(items)))
        result.append(
            [
                CodedLine(
                    vendor.vendor_id,
                    vendor.name,
                    describe(vendor, item),
                    unit_price(rng, item) * quantity(rng, item),
                    *coding(vendor, item),
                )
                for item in chosen
            ]
        )
    return result
