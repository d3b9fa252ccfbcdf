"""Pure pieces of the generator: locale formats, identities, scans, the command line."""

from __future__ import annotations

import io
import random
from datetime import date
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
from PIL import Image
from stdnum import iban as stdnum_iban
from stdnum import vatin

from cli.main import main
from synthetic import identity
from synthetic.locales import format_amount, format_date, format_number, format_quantity
from synthetic.plan import Options, plan_corpus
from synthetic.render import render_pdf
from synthetic.scan import scan


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en_GB", "1,234,567.89"),
        ("en_US", "1,234,567.89"),
        ("de_DE", "1.234.567,89"),
        ("de_AT", "1.234.567,89"),
        ("de_CH", "1'234'567.89"),
        ("fr_FR", "1 234 567,89"),
        ("fr_BE", "1.234.567,89"),
    ],
)
def test_numbers_follow_the_locale(locale, expected):
    assert format_number(Decimal("1234567.885"), locale) == expected


@pytest.mark.parametrize(
    ("value", "locale", "expected"),
    [
        (Decimal("5.5"), "fr_FR", "5,5"),
        (Decimal("19"), "de_DE", "19"),
        (Decimal("8.10"), "de_CH", "8.1"),
        (Decimal("1.25"), "en_GB", "1.25"),
        (Decimal("-0.5"), "de_DE", "-0,5"),
    ],
)
def test_quantities_drop_needless_decimals(value, locale, expected):
    assert format_quantity(value, locale) == expected


@pytest.mark.parametrize(
    ("locale", "style", "expected"),
    [
        ("de_DE", "numeric", "03.02.2025"),
        ("de_DE", "long", "3. Februar 2025"),
        ("fr_FR", "long", "3 février 2025"),
        ("en_US", "numeric", "02/03/2025"),
        ("en_US", "long", "February 3, 2025"),
        ("en_GB", "numeric", "03/02/2025"),
        ("fr_FR", "iso", "2025-02-03"),
    ],
)
def test_dates_follow_the_locale(locale, style, expected):
    assert format_date(date(2025, 2, 3), locale, style) == expected


def test_amounts_carry_their_currency():
    assert format_amount(Decimal("1234.5"), "EUR", "de_DE", "symbol") == "1.234,50 €"
    assert format_amount(Decimal("1234.5"), "GBP", "en_GB", "symbol") == "£1,234.50"
    assert format_amount(Decimal("1234.5"), "CHF", "de_CH", "symbol") == "CHF 1'234.50"
    assert format_amount(Decimal("1234.5"), "USD", "en_US", "code") == "1,234.50 USD"


@pytest.mark.parametrize("country", ["DE", "AT", "CH", "FR", "BE", "GB"])
def test_identities_have_valid_checksums(country):
    rng = random.Random(country)
    for _ in range(20):
        assert vatin.is_valid(identity.vat_id(rng, country))
        number, bic = identity.iban(rng, country)
        assert stdnum_iban.is_valid(number) and number.startswith(country)
        assert bic and bic[4:6] == country


def test_name_variants_differ_from_the_legal_name():
    variants = identity.name_variants("Müller & Weber", "GmbH")
    assert "Müller & Weber GmbH" not in variants
    assert {"Müller & Weber", "MÜLLER & WEBER GMBH", "Mueller & Weber GmbH"} <= set(variants)


@pytest.fixture(scope="module")
def born_digital() -> bytes:
    spec = next(
        d for d in plan_corpus(Options(invoices=20, seed=2)).docs if d.document_type == "invoice"
    )
    return render_pdf(spec)[0]


@pytest.mark.parametrize("media", ["pdf", "png", "jpg"])
def test_scans_are_reproducible_images_without_text(born_digital, media):
    first, pages = scan(born_digital, media, seed=42)
    assert scan(born_digital, media, seed=42) == (first, pages)
    assert scan(born_digital, media, seed=43)[0] != first
    if media == "pdf":
        doc = pdfium.PdfDocument(first)
        assert len(doc) == pages
        assert doc[0].get_textpage().get_text_range().strip() == ""
    else:
        image = Image.open(io.BytesIO(first))
        assert image.format == media.upper().replace("JPG", "JPEG")
        assert min(image.size) > 1000


def test_generate_command_prints_rate_and_memory(tmp_path, capsys):
    code = main(
        [
            "generate",
            "--out",
            str(tmp_path),
            "--invoices",
            "6",
            "--seed",
            "1",
            "--scanned",
            "0",
            "--no-anomalies",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "documents/s" in out and "peak memory" in out
    assert len(list((tmp_path / "labels").glob("*.json"))) == 6
    assert len((tmp_path / "manifest.jsonl").read_text().splitlines()) == 6


def test_generate_command_rejects_unknown_anomaly_kinds(tmp_path):
    with pytest.raises(SystemExit):
        main(["generate", "--out", str(tmp_path), "--anomaly-rate", "typo=0.1"])


def _page_text(pdf: bytes) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()
    return " ".join(text.split())


def test_every_layout_prints_every_labelled_header_value():
    from dataclasses import replace

    from synthetic.identity import format_iban
    from synthetic.labels import label_fields
    from synthetic.layouts import LAYOUTS

    plan = plan_corpus(Options(invoices=150, seed=12))
    invoices = [d for d in plan.docs if d.document_type == "invoice" and d.po_number]
    for i, lay in enumerate(LAYOUTS):
        spec = replace(invoices[i % len(invoices)], layout=lay.name)
        text = _page_text(render_pdf(spec)[0])
        fields = label_fields(spec)
        assert fields["vendor_name"] in text, lay.name
        assert fields["buyer_name"] in text, lay.name
        assert spec.number in text and spec.po_number in text, lay.name
        assert format_date(spec.issue_date, spec.locale, lay.date_style) in text, lay.name
        assert format_date(spec.due_date, spec.locale, lay.date_style) in text, lay.name
        taxes = [amount for _, _, amount in spec.totals.tax_lines]
        for amount in (spec.totals.subtotal, *taxes, spec.totals.total):
            assert format_number(amount, spec.locale) in text, (lay.name, amount)
        if spec.iban:
            assert format_iban(spec.iban) in text, lay.name
        street, town, _country = spec.vendor.address.lines("en")
        assert fields["vendor_address"] == f"{street}, {town}"
        assert street in text and town in text, lay.name


def test_long_names_and_numbers_never_run_into_their_neighbours():
    # a long vendor name beside the title, a long PO number in a grid cell: drawn over each
    # other they came out of the text layer interleaved ("GmbH & CoZ. KAGHLUNGSERINNERUNG")
    from dataclasses import replace

    import pdfplumber

    from synthetic.layouts import LAYOUTS

    plan = plan_corpus(Options(invoices=150, seed=12))
    invoices = [d for d in plan.docs if d.document_type == "invoice" and d.po_number]
    name = "Boreaflex Technik Service und Instandhaltung GmbH & Co. KG"
    for i, lay in enumerate(LAYOUTS):
        base = invoices[i % len(invoices)]
        spec = replace(
            base,
            layout=lay.name,
            vendor=replace(base.vendor, name=name),
            po_number="PO-US-2024-0000071",
        )
        with pdfplumber.open(io.BytesIO(render_pdf(spec)[0])) as pdf:
            text = pdf.pages[0].extract_text()
        assert name in text, lay.name
        assert spec.po_number in text, lay.name
