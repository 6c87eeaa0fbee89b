"""Geometry for the overview's charts, drawn on the server as SVG.

The templates turn these shapes into <rect> and <text> elements; every chart is also given as a
table, so the SVG only has to be readable, not the one way to the numbers.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext as _


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

    @property
    def label_x(self) -> float:
        return self.x - 8


@dataclass
class Chart:
    width: int
    height: int
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, float, str]] = field(default_factory=list)
    y_ticks: list[tuple[float, int]] = field(default_factory=list)
    baseline: float = 0


def nice_ticks(maximum: int, count: int = 4) -> list[int]:
    """Return round, evenly spaced axis values from 0 to at least `maximum`."""
    step = max(1, -(-maximum // count))
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if candidate >= step:
            step = candidate
            break
    top = max(step, -(-maximum // step) * step)
    return list(range(0, top + 1, step))


def fill_quarters(rows: list[dict]) -> list[dict]:
    """Add the empty quarters between the first and the last, so time runs evenly."""
    if not rows:
        return []
    known = {(row["year"], row["quarter"]): row for row in rows}
    year, quarter = rows[0]["year"], rows[0]["quarter"]
    last = (rows[-1]["year"], rows[-1]["quarter"])
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
            }
        )
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return filled


def quarter_columns(quarters: list[dict], *, width=720, height=260) -> Chart:
    """Stack closures and relocations abroad in one column per quarter."""
    left_margin, right_margin, bottom_margin, top_margin = 36, 30, 28, 10
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
            chart.x_labels.append((x, chart.baseline + 18, str(row["year"])))
    return chart


def horizontal_bars(items: list[tuple[str, int]], *, width=720, row_height=26) -> Chart:
    """One bar per labelled value, longest first as given."""
    label_width, value_width = 280, 40
    chart = Chart(width=width, height=max(row_height, row_height * len(items)))
    if not items:
        return chart
    maximum = max(value for _label, value in items) or 1
    scale = (width - label_width - value_width) / maximum
    for index, (label, value) in enumerate(items):
        y = index * row_height + 4
        chart.bars.append(
            Bar(label_width, y, round(value * scale, 1), row_height - 8, value, "left", label)
        )
    return chart
