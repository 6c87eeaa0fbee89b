import datetime as dt

import pytest

from closures.dates import (
    DatePrecision,
    format_partial_date,
    iso_partial_date,
    parse_partial_date,
    period_end,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2021-10-31", (dt.date(2021, 10, 31), DatePrecision.DAY)),
        ("2021-10", (dt.date(2021, 10, 1), DatePrecision.MONTH)),
        ("2021", (dt.date(2021, 1, 1), DatePrecision.YEAR)),
    ],
)
def test_format_of_a_date_is_its_precision(text, expected):
    assert parse_partial_date(text) == expected


@pytest.mark.parametrize("text", ["31/10/2021", "2021-13", "2021-02-30", "Oct 2021", "", "21"])
def test_malformed_dates_are_rejected(text):
    with pytest.raises(ValueError):
        parse_partial_date(text)


@pytest.mark.parametrize(
    ("precision", "english", "chinese", "iso"),
    [
        (DatePrecision.DAY, "31 Oct 2021", "2021年10月31日", "2021-10-31"),
        (DatePrecision.MONTH, "Oct 2021", "2021年10月", "2021-10"),
        (DatePrecision.YEAR, "2021", "2021年", "2021"),
    ],
)
def test_dates_display_at_their_precision(precision, english, chinese, iso):
    value = dt.date(2021, 10, 31) if precision == DatePrecision.DAY else dt.date(2021, 10, 1)
    if precision == DatePrecision.YEAR:
        value = dt.date(2021, 1, 1)
    assert format_partial_date(value, precision, "en") == english
    assert format_partial_date(value, precision, "zh-hant") == chinese
    assert iso_partial_date(value, precision) == iso


def test_period_end_covers_the_whole_period():
    assert period_end(dt.date(2024, 2, 1), DatePrecision.MONTH) == dt.date(2024, 2, 29)
    assert period_end(dt.date(2021, 1, 1), DatePrecision.YEAR) == dt.date(2021, 12, 31)
    assert period_end(dt.date(2021, 5, 6), DatePrecision.DAY) == dt.date(2021, 5, 6)


def test_missing_date_displays_as_nothing():
    assert format_partial_date(None, "") == ""
    assert iso_partial_date(None, "") == ""
