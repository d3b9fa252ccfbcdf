"""The Tryton adapter's bill lines, pure: Tryton's line amount must be the printed net amount."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from erp_sync.tryton import _quantity_and_price
from invoices.erp_payload import ErpLine


def line(quantity: str, price: str, net: str) -> ErpLine:
    return ErpLine(
        line_no=1,
        description="Toner",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        net_amount=Decimal(net),
        gl_account="6300",
        erp_account="E6300",
        tax_rate=Decimal("19"),
        tax_code="Input VAT 19%",
    )


@pytest.mark.parametrize(
    ("quantity", "price", "net"),
    [("56.25", "178.51", "10041.19"), ("1.5", "291.12", "436.68"), ("3", "0.3333", "1.00")],
)
def test_a_line_tryton_rounds_as_printed_keeps_its_quantity_and_price(quantity, price, net):
    values = _quantity_and_price(line(quantity, price, net), Decimal(1))
    assert values == {
        "description": "Toner",
        "quantity": float(Decimal(quantity)),
        "unit_price": Decimal(price),
    }


def test_a_half_cent_tryton_would_round_the_other_way_goes_as_one_unit_at_its_net_amount():
    printed = line("47.5", "146.79", "6972.53")  # 6972.525: half up on the invoice
    assert (Decimal("47.5") * Decimal("146.79")).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_EVEN
    ) == Decimal("6972.52")  # and half to even in Tryton
    values = _quantity_and_price(printed, Decimal(1))
    assert values == {
        "description": "Toner (47.5 x 146.79)",
        "quantity": 1.0,
        "unit_price": Decimal("6972.53"),
    }
    assert _quantity_and_price(printed, Decimal(-1))["quantity"] == -1.0  # a credit note
