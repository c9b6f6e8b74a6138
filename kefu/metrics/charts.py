"""The dashboard's charts as data: what kefu/static/kefu/charts.js draws with ECharts.

Everything a seller reads on a chart is decided here, in the request's language: axis names
with their units, series names, day labels (the shop's local days) and every duration label,
which comes from `format_duration` like the tables' so the chart and the table agree. The
page passes this dict to the browser as JSON (`json_script`), never as inline script.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.dateformat import format as format_date
from django.utils.translation import gettext as _

from kefu.core.durations import DAY, HOUR, MINUTE, format_duration
from kefu.metrics.labels import label
from kefu.metrics.selectors import Report, Row

# Axis units for durations: the largest unit the longest time fills at least twice, so the
# ticks read "0, 10, 20 min" rather than "0, 600, 1200 s" or "0, 0.1, 0.2 h".
_UNITS = ((2 * DAY, DAY), (2 * HOUR, HOUR), (2 * MINUTE, MINUTE), (0, 1))

_TIME_SERIES = ("first_response_seconds", "average_response_seconds")


def _unit(longest: float) -> tuple[int, str, str]:
    """(seconds per unit, axis name, tick template) for the longest time on the chart."""
    size = next(size for floor, size in _UNITS if longest >= floor)
    names = {
        DAY: (_("Days"), _("{value} d")),
        HOUR: (_("Hours"), _("{value} h")),
        MINUTE: (_("Minutes"), _("{value} min")),
        1: (_("Seconds"), _("{value} s")),
    }
    axis, tick = names[size]
    return size, axis, tick


def _days(report: Report) -> list[Row]:
    return report.rows if report.by == "day" else report.daily


def chart_data(report: Report) -> dict[str, Any]:
    days = _days(report)
    # Translators: a day on a chart's axis, in Django's date format ("Mar 2"); keep it short.
    day_format = _("M j")
    counts = [r.figures["reception_count"] for r in days]
    rates = [
        None if r.figures["reply_rate_24h"] is None else round(r.figures["reply_rate_24h"] * 100, 1)
        for r in days
    ]
    times = [[r.figures[key] for r in days] for key in _TIME_SERIES]
    longest = max((t for series in times for t in series if t is not None), default=0)
    size, unit_axis, unit_tick = _unit(longest)
    return {
        "empty": not any(counts),
        "dates": [r.key for r in days],
        "days": [format_date(_day(r), day_format) for r in days],
        # Translators: the name of a chart's day axis; the placeholder is the shop's time zone.
        "day_axis": _("Day (%(tz)s)") % {"tz": report.shop.timezone},
        "volume": {
            "empty": not any(counts),
            "title": _("Reception count and 24 h reply rate per day"),
            "count_name": label("reception_count"),
            "count_axis": _("Buyers"),
            "counts": counts,
            "rate_name": label("reply_rate_24h"),
            "rate_axis": _("Reply rate (%)"),
            "rates": rates,
        },
        "times": {
            "empty": all(t is None for series in times for t in series),
            "title": _("First response and average response time per day"),
            "axis": unit_axis,
            "tick": unit_tick,
            "series": [
                {
                    "name": label(key),
                    "values": [None if t is None else round(t / size, 1) for t in series],
                    "labels": [format_duration(t) if t is not None else "" for t in series],
                }
                for key, series in zip(_TIME_SERIES, times, strict=True)
            ],
        },
        "no_value": _("no data"),
        # Translators: one line of a chart's tooltip, a figure's name and its value.
        "pair": _("{name}: {value}"),
    }


def _day(row: Row) -> dt.date:
    # A per-day row's key is its local day (selectors.rows_by).
    return dt.date.fromisoformat(row.key)


def table_rows(chart: dict[str, Any]) -> list[dict[str, Any]]:
    """The charts' figures day by day, for the table read instead of the canvas (screen
    readers, no JavaScript)."""
    series = chart["times"]["series"]
    return [
        {
            "day": day,
            "count": chart["volume"]["counts"][i],
            "rate": chart["volume"]["rates"][i],
            "times": [s["labels"][i] for s in series],
        }
        for i, day in enumerate(chart["days"])
    ]
