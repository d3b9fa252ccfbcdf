"""Amount parsing: locale formats, signs, ambiguity, and a round-trip property."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.parsing.amounts import (
    detect_decimal_separator,
    find_amounts,
    format_amount,
    parse_amount,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("1'234.56", "1234.56"),
        ("-12,00", "-12.00"),
        ("12,00-", "-12.00"),
        ("(12.00)", "-12.00"),
        ("27,80", "27.80"),
        ("1 234,56 €", "1234.56"),
        ("EUR 12,00", "12.00"),
        ("RM 8.20", "8.20"),
        ("3,3333", "3.3333"),
        ("1.234.567", "1234567"),
    ],
)
def test_parse_amount_formats(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


def test_ambiguous_thousands_follow_the_document() -> None:
    assert parse_amount("1,234") == Decimal("1234")
    assert parse_amount("1,234", decimal_hint=",") == Decimal("1.234")


def test_two_numbers_are_not_one_amount() -> None:
    assert parse_amount("12,00 13,00") is None
    assert [a.value for a in find_amounts("Netto 473,00 Steuer 56,87")] == [
        Decimal("473.00"),
        Decimal("56.87"),
    ]


def test_decimal_separator_vote() -> None:
    assert detect_decimal_separator("Summe 1.234,56\nSteuer 56,87") == ","
    assert detect_decimal_separator("Total 1,234.56\nTax 56.87") == "."


money = st.decimals(min_value=Decimal("-9999999.99"), max_value=Decimal("9999999.99"), places=2)
locales = st.sampled_from([(",", "."), (".", ","), (".", "'"), (",", " "), (".", "")])


@given(money, locales)
def test_round_trip_every_locale(value: Decimal, locale: tuple[str, str]) -> None:
    decimal_sep, thousands = locale
    text = format_amount(value, decimal_sep, thousands)
    assert parse_amount(text, decimal_hint=decimal_sep) == value


@given(money)
def test_trailing_minus_is_negative(value: Decimal) -> None:
    text = format_amount(abs(value), ",", ".") + "-"
    assert parse_amount(text, decimal_hint=",") == -abs(value)
