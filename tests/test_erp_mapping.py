"""The pure mapping of a staged invoice to its ERP payload."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from invoices.erp_payload import (
    ErpMapping,
    PayloadIncomplete,
    StagedInvoice,
    StagedLine,
    StagedVendor,
    map_invoice,
    rate_key,
)

MAPPING = ErpMapping(
    gl_accounts={"6300": "E6300", "6400": "E6400"},
    tax_codes={"19": "VAT 19", "7": "VAT 7", "6400:19": "VAT 19 IT"},
)


def staged(**overrides) -> StagedInvoice:
    values = dict(
        document_id=7,
        document_type="invoice",
        invoice_number="R-1",
        invoice_date=date(2025, 1, 2),
        due_date=date(2025, 2, 1),
        currency="EUR",
        subtotal=D("130.00"),
        tax=D("24.70"),
        total=D("154.70"),
        vendor=StagedVendor(vendor_id="V00001", name="Ferroline GmbH", vat_id="DE600201017"),
        lines=[
            StagedLine(
                line_no=1,
                description="Pens",
                quantity=D("10"),
                unit_price=D("3.00"),
                tax_rate=D("19"),
                line_total=D("30.00"),
                gl_account="6300",
                cost_centre="CC110",
            ),
            StagedLine(
                line_no=2,
                description="Toner",
                quantity=D("1"),
                unit_price=D("100"),
                tax_rate=D("19.000"),
                line_total=D("100.00"),
                gl_account="6400",
            ),
        ],
        cost_centre="CC100",
    )
    values.update(overrides)
    return StagedInvoice(**values)


def test_invoice_maps_accounts_taxes_and_totals():
    payload = map_invoice(staged(), MAPPING)
    assert payload.kind == "invoice"
    assert payload.vendor.erp_id == "V00001" and payload.vendor.vat_id == "DE600201017"
    assert [(x.erp_account, x.tax_code, x.cost_centre) for x in payload.lines] == [
        ("E6300", "VAT 19", "CC110"),
        ("E6400", "VAT 19 IT", "CC100"),  # GL-specific tax code; invoice-level cost centre
    ]
    assert [(t.tax_code, t.base, t.amount) for t in payload.taxes] == [
        ("VAT 19", D("30.00"), D("5.70")),
        ("VAT 19 IT", D("100.00"), D("19.00")),
    ]
    assert (payload.net_total, payload.tax_total, payload.gross_total) == (
        D("130.00"),
        D("24.70"),
        D("154.70"),
    )


def test_tax_not_adding_up_is_refused():
    # 30 * 19% + 100 * 19% = 24.70, the invoice says 22.10
    with pytest.raises(PayloadIncomplete) as caught:
        map_invoice(staged(tax=D("22.10"), total=D("152.10")), MAPPING)
    assert any("tax per rate" in p for p in caught.value.problems)


def test_consistent_invoice_maps():
    payload = map_invoice(staged(tax=D("24.70"), total=D("154.70")), MAPPING)
    assert (payload.net_total, payload.tax_total, payload.gross_total) == (
        D("130.00"),
        D("24.70"),
        D("154.70"),
    )
    assert payload.lines[0].quantity * payload.lines[0].unit_price == payload.lines[0].net_amount


def test_credit_note_amounts_are_positive_and_the_type_gives_the_direction():
    lines = [
        StagedLine(
            line_no=1,
            description="Return",
            quantity=D("-2"),
            unit_price=D("15"),
            tax_rate=D("7"),
            line_total=D("-30.00"),
            gl_account="6300",
        )
    ]
    payload = map_invoice(
        staged(
            document_type="credit_note",
            subtotal=D("-30.00"),
            tax=D("-2.10"),
            total=D("-32.10"),
            lines=lines,
        ),
        MAPPING,
    )
    assert payload.kind == "credit_note"
    assert (payload.net_total, payload.tax_total, payload.gross_total) == (
        D("30.00"),
        D("2.10"),
        D("32.10"),
    )
    assert (payload.lines[0].quantity, payload.lines[0].unit_price) == (D("2"), D("15"))
    assert payload.lines[0].net_amount == D("30.00")


def test_discounted_line_becomes_one_unit_at_its_net_amount():
    lines = [
        StagedLine(
            line_no=1,
            description="Chairs -10%",
            quantity=D("3"),
            unit_price=D("100"),
            tax_rate=D("7"),
            line_total=D("270.00"),
            gl_account="6300",
        )
    ]
    payload = map_invoice(
        staged(subtotal=D("270.00"), tax=D("18.90"), total=D("288.90"), lines=lines), MAPPING
    )
    assert (payload.lines[0].quantity, payload.lines[0].unit_price) == (D("1"), D("270.00"))


def test_every_problem_is_reported_at_once():
    lines = [
        StagedLine(
            line_no=1, description="x", line_total=D("10"), tax_rate=D("19"), gl_account="9999"
        ),
        StagedLine(
            line_no=2, description="y", line_total=D("10"), tax_rate=D("16"), gl_account="6300"
        ),
    ]
    with pytest.raises(PayloadIncomplete) as caught:
        map_invoice(staged(lines=lines, currency=None), MAPPING)
    problems = caught.value.problems
    assert "line 1: GL account 9999 has no ERP account in the mapping" in problems
    assert "line 2: tax rate 16% has no ERP tax code" in problems
    assert "currency missing" in problems


def test_lines_not_adding_up_to_the_subtotal_are_refused():
    with pytest.raises(PayloadIncomplete, match="lines add up to 130.00, the subtotal is 131.00"):
        map_invoice(staged(subtotal=D("131.00"), tax=D("24.70"), total=D("155.70")), MAPPING)


def test_no_lines_is_refused():
    with pytest.raises(PayloadIncomplete, match="no lines"):
        map_invoice(staged(lines=[]), MAPPING)


@pytest.mark.parametrize(
    ("rate", "key"),
    [(D("19.000"), "19"), (D("8.1"), "8.1"), (D("5.50"), "5.5"), (D("0"), "0"), (D("20"), "20")],
)
def test_rate_keys(rate, key):
    assert rate_key(rate) == key


def _without_line_rates(**overrides) -> StagedInvoice:
    invoice = staged(**overrides)
    lines = [ln.model_copy(update={"tax_rate": None}) for ln in invoice.lines]
    return invoice.model_copy(update={"lines": lines})


def test_lines_without_a_rate_take_the_one_rate_that_gives_the_printed_tax():
    """Invoices that print the rate once, beside the tax, and not on each line (what the
    batch extracts from most PDFs): the mapped rate whose tax on the subtotal is the printed
    tax goes on every line."""
    payload = map_invoice(_without_line_rates(), MAPPING)
    assert [(ln.tax_rate, ln.tax_code) for ln in payload.lines] == [
        (D("19"), "VAT 19"),
        (D("19"), "VAT 19 IT"),
    ]
    assert [(t.tax_rate, t.amount) for t in payload.taxes] == [
        (D("19"), D("5.70")),
        (D("19"), D("19.00")),
    ]


@pytest.mark.parametrize(
    "tax, total",
    [(D("20.00"), D("150.00")), (D("0.00"), D("130.00"))],  # no mapped rate gives 20.00; 0 %
)
def test_no_rate_is_guessed_when_none_or_several_fit(tax, total):
    with pytest.raises(PayloadIncomplete) as refused:
        map_invoice(_without_line_rates(tax=tax, total=total), MAPPING)
    assert "line 1: no tax rate" in refused.value.problems


def test_a_line_printing_its_rate_keeps_the_others_unguessed():
    invoice = staged()
    lines = [invoice.lines[0], invoice.lines[1].model_copy(update={"tax_rate": None})]
    with pytest.raises(PayloadIncomplete) as refused:
        map_invoice(invoice.model_copy(update={"lines": lines}), MAPPING)
    assert refused.value.problems == ["line 2: no tax rate"]
