"""Geometry for the overview's charts, drawn on the server as SVG.

The templates turn these shapes into <rect> and <text> elements; every chart is also given as a
table, so the SVG only has to be readable, not the one way to the numbers.
"""

import datetime as dt
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# Dates the quarterly chart marks, so a reader sees closures against the two security laws.
MILESTONES = (
    (dt.date(2020, 6, 30), gettext_lazy("National Security Law")),
    (dt.date(2024, 3, 19), gettext_lazy("Article 23 law")),
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: int
    series: str
    label: str

    @property
    def end(self) -> float:
        return round(self.x + self.width, 1)


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    baseline: float = 0
    milestones: list[dict] = field(default_factory=list)
    quarter_labels: list[dict] = field(default_factory=list)


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Return round, evenly spaced axis values from 0 to at least `maximum`."""
    step = max(1, -(-maximum // count))
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if candidate >= step:
            step = candidate
            break
    top = max(step, -(-maximum // step) * step)
    return list(range(0, top + 1, step))


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def fill_quarters(
    rows: list[dict], *, since: dt.date | None = None, until: dt.date | None = None
) -> list[dict]:
    """Add the empty quarters between the first and `until` (else the last), so time runs
    evenly and a quiet recent quarter shows as a zero rather than as the end of the story."""
    if not rows:
        return []
    known = {(row["year"], row["quarter"]): row for row in rows}
    year, quarter = min((rows[0]["year"], rows[0]["quarter"]), quarter_of(since or dt.date.max))
    last = max((rows[-1]["year"], rows[-1]["quarter"]), quarter_of(until) if until else (0, 0))
    filled = []
    while (year, quarter) <= last:
        row = known.get((year, quarter), {"closed": 0, "left": 0})
        filled.append(
            {
                "year": year,
                "quarter": quarter,
                "closed": row["closed"],
                "left": row["left"],
                "total": row["closed"] + row["left"],
                "label": _("%(year)s Q%(quarter)s") % {"year": year, "quarter": quarter},
                "first_day": dt.date(year, 3 * quarter - 2, 1),
                "last_day": dt.date(year + quarter // 4, 3 * quarter % 12 + 1, 1)
                - dt.timedelta(days=1),
            }
        )
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return filled


def quarter_columns(quarters: list[dict], *, width=720, height=260) -> Chart:
    """Stack closures and relocations abroad in one column per quarter."""
    left_margin, right_margin, bottom_margin, top_margin = 36, 30, 40, 24
    chart = Chart(width=width, height=height, baseline=height - bottom_margin)
    if not quarters:
        return chart
    ticks = nice_ticks(max(row["total"] for row in quarters))
    plot_height = height - bottom_margin - top_margin
    scale = plot_height / ticks[-1]
    slot = (width - left_margin - right_margin) / len(quarters)
    bar_width = max(2.0, slot * 0.7)
    chart.y_ticks = [(round(chart.baseline - tick * scale, 1), tick) for tick in ticks]
    for index, row in enumerate(quarters):
        x = round(left_margin + index * slot + (slot - bar_width) / 2, 1)
        bottom = chart.baseline
        for series, value in (("closed", row["closed"]), ("left", row["left"])):
            if not value:
                continue
            bar_height = value * scale
            bottom -= bar_height
            chart.bars.append(
                Bar(
                    x,
                    round(bottom, 1),
                    round(bar_width, 1),
                    round(bar_height, 1),
                    value,
                    series,
                    row["label"],
                )
            )
        if row["quarter"] == 1 or index == 0:
            chart.x_labels.append((x, chart.baseline + 30, str(row["year"])))
        chart.quarter_labels.append(
            {
                "x": round(x + bar_width / 2, 1),
                "y": chart.baseline + 13,
                "text": f"Q{row['quarter']}",
                "row": row,
                "slot_x": round(left_margin + index * slot, 1),
                "slot": round(slot, 1),
            }
        )
        for day, name in MILESTONES:
            if row["first_day"] <= day <= row["last_day"]:
                share = (day - row["first_day"]).days / (
                    (row["last_day"] - row["first_day"]).days + 1
                )
                line_x = round(left_margin + (index + share) * slot, 1)
                chart.milestones.append({"x": line_x, "label": str(name), "date": day})
    return chart


def horizontal_bars(items: list[tuple[str, int]], *, width=400, row_height=40) -> Chart:
    """One bar per labelled value, longest first as given, each under its own label.

    Labels above the bars rather than beside them get the whole width, so a long one ("unknown
    (no source names it)") is never cut and the chart is drawn at about its natural size on a
    390 px phone too: beside the bars, a label column squeezed the chart to half size there.
    """
    label_height, value_width = 20, 40
    chart = Chart(width=width, height=max(row_height, row_height * len(items)))
    if not items:
        return chart
    maximum = max(value for _label, value in items) or 1
    scale = (width - value_width) / maximum
    for index, (label, value) in enumerate(items):
        y = index * row_height + label_height
        chart.bars.append(
            Bar(0, y, round(value * scale, 1), row_height - label_height - 6, value, "left", label)
        )
    return chart
