"""Dates known only to the month or the year.

Sources often say "October 2021" or "in 2022". Such a date is stored as the first day of its
period together with its precision, so it sorts with full dates, and is always shown and
exported at its precision: "Oct 2021", never "1 Oct 2021".
"""

import calendar
import datetime as dt
import re

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class DatePrecision(models.TextChoices):
    DAY = "day", _("day")
    MONTH = "month", _("month")
    YEAR = "year", _("year")


PARTIAL_DATE_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def parse_partial_date(text: str) -> tuple[dt.date, str]:
    """Read `YYYY`, `YYYY-MM` or `YYYY-MM-DD`: the format is the precision."""
    match = PARTIAL_DATE_PATTERN.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = match.groups()
    try:
        value = dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError as error:
        raise ValueError(f"{text!r} is not a real date ({error})") from None
    precision = DatePrecision.DAY if day else DatePrecision.MONTH if month else DatePrecision.YEAR
    return value, precision


def truncate_to_precision(value: dt.date, precision: str) -> dt.date:
    """Return the first day of the period, the one stored for a partial date."""
    if precision == DatePrecision.YEAR:
        return value.replace(month=1, day=1)
    if precision == DatePrecision.MONTH:
        return value.replace(day=1)
    return value


def period_end(value: dt.date, precision: str) -> dt.date:
    """Return the last day a partial date may stand for, so ranges overlap correctly."""
    if precision == DatePrecision.YEAR:
        return value.replace(month=12, day=31)
    if precision == DatePrecision.MONTH:
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


def iso_partial_date(value: dt.date | None, precision: str) -> str:
    """Return the date as `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, the form exports use."""
    if value is None:
        return ""
    if precision == DatePrecision.YEAR:
        return f"{value.year:04d}"
    if precision == DatePrecision.MONTH:
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


def format_partial_date(value: dt.date | None, precision: str, language: str | None = None) -> str:
    """Return the date for a reader, in the active language, at its precision."""
    if value is None:
        return ""
    language = language or get_language() or "en"
    if language.startswith("zh"):
        if precision == DatePrecision.YEAR:
            return f"{value.year}年"
        if precision == DatePrecision.MONTH:
            return f"{value.year}年{value.month}月"
        return f"{value.year}年{value.month}月{value.day}日"
    month = calendar.month_abbr[value.month]
    if precision == DatePrecision.YEAR:
        return str(value.year)
    if precision == DatePrecision.MONTH:
        return f"{month} {value.year}"
    return f"{value.day} {month} {value.year}"
