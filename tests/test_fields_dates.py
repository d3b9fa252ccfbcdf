"""Date parsing: numeric and written forms in three languages, day/month order, properties."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from extractors.parsing.dates import day_first_for, find_dates, format_date, parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("11. März 2014", date(2014, 3, 11)),
        ("14th Dec, 2015", date(2015, 12, 14)),
        ("1er janvier 2021", date(2021, 1, 1)),
        ("05 MAR 2018", date(2018, 3, 5)),
        ("Rechnungsdatum 05.03.2013", date(2013, 3, 5)),
        ("2018-06-05", date(2018, 6, 5)),
        ("March 5, 2018", date(2018, 3, 5)),
        ("5-Mar-18", date(2018, 3, 5)),
        ("Date: 31/12/2017 10:32", date(2017, 12, 31)),
    ],
)
def test_parse_date_forms(text: str, expected: date) -> None:
    assert parse_date(text) == expected


def test_order_comes_from_the_document_not_the_date() -> None:
    assert parse_date("03/05/2018", day_first=True) == date(2018, 5, 3)
    assert parse_date("03/05/2018", day_first=False) == date(2018, 3, 5)
    assert parse_date("13/05/2018", day_first=False) == date(2018, 5, 13)
    assert parse_date("05.03.2018", day_first=False) == date(2018, 3, 5)  # dots are day-first


def test_country_decides_order() -> None:
    assert day_first_for("en", "US") is False
    assert day_first_for("en", "GB") is True
    assert day_first_for("de", None) is True


def test_impossible_dates_are_not_dates() -> None:
    assert parse_date("31.02.2018") is None
    assert find_dates("Artikel 12.50.2018") == []


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 12, 31))


@given(
    dates,
    st.sampled_from(["iso", "dmy_dot", "dmy_slash", "written_dmy", "written_en", "written_mdy"]),
    st.sampled_from(["en", "de", "fr"]),
)
def test_round_trip_day_first(value: date, style: str, language: str) -> None:
    assert parse_date(format_date(value, style, language), day_first=True) == value


@given(dates)
def test_round_trip_month_first(value: date) -> None:
    assert parse_date(format_date(value, "mdy_slash"), day_first=False) == value


@given(dates)
def test_french_written(value: date) -> None:
    assert parse_date(format_date(value, "written_fr", "fr")) == value
