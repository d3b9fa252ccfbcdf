"""The generator's layout families: each at its share, off by default, and labelled with what
the page prints."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import replace
from decimal import Decimal

import pdfplumber
import pytest

from cli.main import main
from synthetic import FAMILY_KINDS
from synthetic.drawing import Doc
from synthetic.einvoice import cii_xml
from synthetic.families import (
    CASH_STEP,
    PREPAID_WORDS,
    ROUNDING_WORDS,
    TABLE_HEADS,
    VARIANT_WORDS,
    cash_rounding,
    eligible,
)
from synthetic.identity import language
from synthetic.labels import label_fields, line_items
from synthetic.layouts import LAYOUT_BY_NAME
from synthetic.locales import WORDS, format_number
from synthetic.plan import Options, plan_corpus
from synthetic.render import render_pdf

ALL_ON = {k: 1.0 for k in FAMILY_KINDS}
CREDIT_NOTES = {"credit_note": 0.15}


def _lines(pdf: bytes) -> list[str]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return [ln for page in doc.pages for ln in (page.extract_text() or "").splitlines()]


def _doc(spec) -> Doc:
    lay = replace(LAYOUT_BY_NAME[spec.layout], words=spec.words)
    return Doc(spec, lay, None, language(spec.locale))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def families_plan():
    """A plan with every family wherever it can apply (and enough credit notes)."""
    opts = Options(invoices=120, seed=4, scanned_share=0.0, family_rates=ALL_ON,
                   anomaly_rates=CREDIT_NOTES)  # fmt: skip
    return plan_corpus(opts)


def _with(plan, kind: str):
    docs = [d for d in plan.docs if kind in d.families and d.document_type != "statement"]
    assert docs, kind
    return docs


def test_without_families_a_seed_plans_what_it_did_before():
    plain = plan_corpus(Options(invoices=60, seed=3))
    zero = plan_corpus(Options(invoices=60, seed=3, family_rates={k: 0.0 for k in FAMILY_KINDS}))
    assert plain.docs == zero.docs and all(not d.families for d in plain.docs)
    # families come from a stream of their own: the documents, numbers and vendors stay
    some = plan_corpus(Options(invoices=60, seed=3, family_rates={"totals_table": 0.5}))
    assert [(d.number, d.vendor_id, d.lines) for d in some.docs] == [
        (d.number, d.vendor_id, d.lines) for d in plain.docs
    ]


@pytest.mark.parametrize("kind", FAMILY_KINDS)
def test_each_family_is_given_to_its_share_of_the_documents_it_can_apply_to(kind):
    plan = plan_corpus(Options(invoices=200, seed=8, family_rates={kind: 0.25},
                               anomaly_rates=CREDIT_NOTES))  # fmt: skip
    bare = plan_corpus(Options(invoices=200, seed=8, anomaly_rates=CREDIT_NOTES))

    def copy(d):  # a duplicate is printed like the invoice it copies
        return d.of_key is not None and d.document_type == "invoice"

    pool = [d for d in bare.docs if eligible(kind, d) and not copy(d)]
    given = [d for d in plan.docs if kind in d.families and not copy(d)]
    assert len(given) == round(0.25 * len(pool)) > 0, kind
    assert all(d.families == (kind,) for d in given)


def test_an_unknown_family_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown layout families"):
        plan_corpus(Options(invoices=10, family_rates={"typo": 0.1}))
    with pytest.raises(SystemExit):
        main(["generate", "--out", str(tmp_path), "--family-rate", "typo=0.1"])


def test_every_family_prints_the_labelled_header_values(families_plan):
    """Whatever the families do to a page, the values its label holds are printed on it."""
    checked = 0
    for spec in families_plan.docs:
        if spec.document_type not in ("invoice", "credit_note") or spec.scanned:
            continue
        text = " ".join(_lines(render_pdf(spec)[0]))
        doc, fields = _doc(spec), label_fields(spec)
        assert fields["buyer_name"] in text and spec.number in text, spec.key
        assert doc.date(spec.issue_date) in text, spec.key
        for name in ("subtotal", "tax", "total", "amount_due"):
            printed = format_number(doc.signed(Decimal(str(fields[name]))), spec.locale)
            if name != "amount_due" or fields[name] != fields["total"]:
                assert printed in text, (spec.key, name, printed)
        checked += 1
    assert checked >= 60


def test_label_variants_print_other_words_with_the_label_under_its_value(families_plan):
    found = _with(families_plan, "label_variants")
    spec = next(d for d in found if LAYOUT_BY_NAME[d.layout].meta == "right"
                and d.document_type == "invoice")  # fmt: skip
    lines, doc = _lines(render_pdf(spec)[0]), _doc(spec)
    label = doc.w("invoice_number")
    assert label in VARIANT_WORDS["invoice_number"][doc.lang]
    assert label not in WORDS["invoice_number"][doc.lang]
    at = next(i for i, ln in enumerate(lines) if ln.endswith(label))
    assert lines[at - 1].endswith(spec.number)  # the value, then its caption
    date_at = next(i for i, ln in enumerate(lines) if ln.endswith(doc.w("invoice_date")))
    assert lines[date_at - 1].endswith(doc.date(spec.issue_date))


def test_unheaded_parties_print_the_buyer_without_a_heading(families_plan):
    spec = _with(families_plan, "unheaded_parties")[0]
    lines = _lines(render_pdf(spec)[0])
    heading = _doc(spec).w("bill_to")
    at = next(i for i, ln in enumerate(lines) if ln.startswith(spec.buyer.name))
    assert not lines[at - 1].startswith(heading)
    plain = _lines(render_pdf(replace(spec, families=()))[0])
    at = next(i for i, ln in enumerate(plain) if ln.startswith(spec.buyer.name))
    assert plain[at - 1].startswith(heading)


def test_two_row_items_print_the_description_under_the_numbers(families_plan):
    spec = _with(families_plan, "two_row_items")[0]
    lines, doc = _lines(render_pdf(spec)[0]), _doc(spec)
    for item in spec.lines:
        total = format_number(doc.signed(item.total), spec.locale)
        first = next(i for i, ln in enumerate(lines) if ln.endswith(" " + total))
        assert item.description.split()[0] not in lines[first]
        assert lines[first + 1].startswith(item.description.split()[0])


def test_a_totals_table_has_a_row_per_rate_and_an_unlabelled_sum_row(families_plan):
    spec = next(d for d in _with(families_plan, "totals_table") if d.vendor.address.country != "US")
    lines, doc, t = _lines(render_pdf(spec)[0]), _doc(spec), spec.totals
    heads = TABLE_HEADS[doc.lang]
    at = next(i for i, ln in enumerate(lines) if ln.startswith(heads[0]))
    assert lines[at].split() == " ".join(heads).split()
    for i, (_rate, base, amount) in enumerate(t.tax_lines, start=1):
        row = lines[at + i]
        for value in (base, amount, base + amount):
            assert format_number(doc.signed(value), spec.locale) in row
    sums = lines[at + len(t.tax_lines) + 1]
    printed = [format_number(doc.signed(v), spec.locale) for v in (t.subtotal, t.tax, t.total)]
    assert sums.startswith(printed[0]) and printed[1] in sums and printed[2] in sums
    assert doc.w("subtotal") not in "\n".join(lines)  # no labelled subtotal row besides


def test_a_prepayment_leaves_less_to_pay_than_the_total(families_plan):
    for spec in _with(families_plan, "prepayment"):
        t, fields = spec.totals, label_fields(spec)
        assert 0 < t.prepaid < t.total
        assert fields["amount_due"] == float(t.total - t.prepaid + t.rounding)
        text = "\n".join(_lines(render_pdf(spec)[0]))
        doc = _doc(spec)
        words = PREPAID_WORDS[doc.lang]
        assert any(f"{w} {doc.money(t.prepaid)}" in text for w in words), spec.key
        assert doc.money(t.amount_due) in text


def test_cash_rounding_rounds_the_amount_due_in_both_directions(families_plan):
    found = _with(families_plan, "cash_rounding")
    assert {d.totals.rounding > 0 for d in found} == {True, False}
    for spec in found:
        t, fields = spec.totals, label_fields(spec)
        assert t.rounding and abs(t.rounding) <= Decimal("0.02")
        assert fields["total"] == float(t.subtotal + t.tax)
        assert fields["amount_due"] == float(t.total - t.prepaid + t.rounding)
        assert Decimal(str(fields["amount_due"])) % CASH_STEP == 0
        text = "\n".join(_lines(render_pdf(spec)[0]))
        doc = _doc(spec)
        assert any(f"{w} {doc.money(t.rounding)}" in text for w in ROUNDING_WORDS[doc.lang])
        xml = ET.fromstring(cii_xml(spec))
        sums = xml.find(".//{*}SpecifiedTradeSettlementHeaderMonetarySummation")
        assert Decimal(sums.find("{*}RoundingAmount").text) == t.rounding
    assert cash_rounding(Decimal("10.02")) == Decimal("-0.02")
    assert cash_rounding(Decimal("10.03")) == Decimal("0.02")
    assert cash_rounding(Decimal("10.05")) == 0


def test_credit_notes_printed_negative_are_labelled_positive(families_plan):
    spec = _with(families_plan, "credit_note_sign")[0]
    text = "\n".join(_lines(render_pdf(spec)[0]))
    fields, items = label_fields(spec), line_items(spec)
    assert fields["total"] > 0 and all(i["line_total"] > 0 for i in items)
    assert "-" + format_number(spec.totals.total, spec.locale) in text
    for item in spec.lines:
        assert "-" + format_number(item.total, spec.locale) in text
    plain = "\n".join(_lines(render_pdf(replace(spec, families=()))[0]))
    assert "-" + format_number(spec.totals.total, spec.locale) not in plain


def test_month_first_dates_print_the_month_before_the_day(families_plan):
    spec = _with(families_plan, "month_first_dates")[0]
    assert spec.locale.startswith("en") and spec.locale != "en_US"
    text = "\n".join(_lines(render_pdf(spec)[0]))
    d = spec.issue_date
    assert f"{d.month:02d}/{d.day:02d}/{d.year}" in text
    assert label_fields(spec)["invoice_date"] == d.isoformat()
