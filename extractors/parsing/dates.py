"""Dates in numeric and written forms, in English, German, French (and Dutch month names).

"05.03.2018", "2018-03-05", "3/5/2018", "11. März 2014", "14th Dec, 2015", "1er janvier 2021",
"05 MAR 2018". Whether "03/05/2018" is the 3rd of May or the 5th of March is decided by the
document's language and country (`day_first_for`) unless another date on the page proves the
order (`proven_order`), never per date; a component above 12 settles it regardless.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

MONTHS: dict[str, int] = {}
for _number, _names in enumerate(
    [
        "january jan januar jän janvier janv januari",
        "february feb febr februar février fevrier févr fevr fév fev februari",
        "march mar märz maerz marz mars mrz maart mrt",
        "april apr avril avr",
        "may mai mei",
        "june jun juni juin",
        "july jul juli juillet juil",
        "august aug août aout aoû aou augustus",
        "september sep sept septembre",
        "october oct okt oktober octobre",
        "november nov novembre",
        "december dec dez dezember décembre decembre déc",
    ],
    start=1,
):
    for _name in _names.split():
        MONTHS[_name] = _number

_MONTH_WORD = r"(?P<month>[A-Za-zÄÖÜäöüéèûÉ]{3,10})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th|er|\.)?"
_YEAR = r"(?P<year>\d{4}|\d{2})"

_NUMERIC = re.compile(
    r"(?<![\d.,/-])(?P<a>\d{1,4})\s?(?P<sep>[./-])\s?(?P<b>\d{1,2})\s?(?P=sep)\s?(?P<c>\d{2,4})"
    r"(?:(?![\d/-]|[.,]\d)|(?<=\d{4})(?=\d{1,2}:\d{2}))"  # or a time glued to the year (OCR)
)
_WRITTEN_DMY = re.compile(
    rf"(?<![\w]){_DAY}[\s-]*(?:de\s)?{_MONTH_WORD}[\s,-]*{_YEAR}(?![\w])", re.IGNORECASE
)
_WRITTEN_MDY = re.compile(
    rf"(?<![\w]){_MONTH_WORD}[\s-]*{_DAY}(?:\s?,[\s-]*|[\s-]+|(?=\d{{4}}(?!\d))){_YEAR}(?![\w])",
    re.IGNORECASE,
)

# Countries whose documents write month first (03/05/2018 = March 5th).
MONTH_FIRST_COUNTRIES = frozenset({"US", "PH", "FM", "PW", "MH"})


@dataclass(frozen=True)
class DateMatch:
    """One date found in a text, with its position and raw characters."""

    value: date
    start: int
    end: int
    raw: str


def day_first_for(language: str | None, country: str | None) -> bool:
    """Whether a document in this language and country writes the day before the month."""
    if country:
        return country.upper() not in MONTH_FIRST_COUNTRIES
    return language not in {"en-us"}


def proven_order(text: str) -> bool | None:
    """Whether the numeric dates of a text prove the day first (True) or the month first
    (False): a slashed or hyphenated date with a first component above 12 is day-first, one
    with a second component above 12 month-first. None when no date proves either, or both."""
    votes = set()
    for match in _NUMERIC.finditer(text):
        a, b = match.group("a"), match.group("b")
        if match.group("sep") == "." or len(a) == 4 or len(match.group("c")) == 3:
            continue  # dotted dates are day-first everywhere; ISO dates have no doubt
        first, second = int(a), int(b)
        if first > 12 and 1 <= second <= 12:
            votes.add(True)
        elif second > 12 and 1 <= first <= 12 and second <= 31:
            votes.add(False)
    return votes.pop() if len(votes) == 1 else None


def _year(text: str) -> int:
    year = int(text)
    if year < 100:
        year += 2000 if year < 70 else 1900
    return year


def _safe_date(year: int, month: int, day: int) -> date | None:
    if not (1900 <= year <= 2100):
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _numeric(match: re.Match[str], day_first: bool) -> date | None:
    a, b, c = match.group("a"), match.group("b"), match.group("c")
    if len(a) == 4:
        return _safe_date(int(a), int(b), int(c)) if len(c) <= 2 else None
    if len(c) not in (2, 4):
        return None
    year, first, second = _year(c), int(a), int(b)
    if match.group("sep") == ".":
        day_first = True  # dotted dates are day-first in every locale that uses them
    if first > 12 and second <= 12:
        day_first = True
    elif second > 12 and first <= 12:
        day_first = False
    day, month = (first, second) if day_first else (second, first)
    return _safe_date(year, month, day)


def month_number(word: str) -> int | None:
    """The month a (possibly abbreviated) English, German or French month name means."""
    key = word.lower().rstrip(".")
    if key in MONTHS:
        return MONTHS[key]
    plain = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
    return MONTHS.get(plain)


def _written(match: re.Match[str]) -> date | None:
    month = month_number(match.group("month"))
    if month is None:
        return None
    return _safe_date(_year(match.group("year")), month, int(match.group("day")))


def find_dates(text: str, day_first: bool = True) -> list[DateMatch]:
    """Every date in `text`, left to right, without overlaps."""
    found: list[DateMatch] = []
    taken: list[tuple[int, int]] = []
    candidates: list[tuple[re.Match[str], date | None]] = []
    for match in _WRITTEN_DMY.finditer(text):
        candidates.append((match, _written(match)))
    for match in _WRITTEN_MDY.finditer(text):
        candidates.append((match, _written(match)))
    for match in _NUMERIC.finditer(text):
        candidates.append((match, _numeric(match, day_first)))
    for match, value in candidates:
        if value is None:
            continue
        start, end = match.span()
        if any(start < t_end and end > t_start for t_start, t_end in taken):
            continue
        taken.append((start, end))
        found.append(DateMatch(value, start, end, text[start:end]))
    return sorted(found, key=lambda m: m.start)


def parse_date(text: str, day_first: bool = True) -> date | None:
    """The single date in `text`, or None when there is none or several."""
    found = find_dates(text, day_first)
    return found[0].value if len(found) == 1 else None


_MONTH_NAMES = {
    "en": "January February March April May June July August September October November "
    "December".split(),
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November "
    "Dezember".split(),
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre "
    "décembre".split(),
}


def format_date(value: date, style: str, language: str = "en") -> str:
    """`value` printed in one of the styles the parser reads (used by the property tests)."""
    names = _MONTH_NAMES[language]
    month = names[value.month - 1]
    english = _MONTH_NAMES["en"][value.month - 1]
    styles = {
        "iso": value.isoformat(),
        "dmy_dot": f"{value.day:02d}.{value.month:02d}.{value.year}",
        "dmy_slash": f"{value.day}/{value.month}/{value.year}",
        "mdy_slash": f"{value.month}/{value.day}/{value.year}",
        "written_dmy": f"{value.day}. {month} {value.year}",
        "written_en": f"{value.day}th {english[:3]}, {value.year}",
        "written_mdy": f"{month} {value.day}, {value.year}",
        "written_fr": f"{'1er' if value.day == 1 else value.day} {month} {value.year}",
    }
    return styles[style]
