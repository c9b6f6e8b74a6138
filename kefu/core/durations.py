"""Durations as a seller reads them: "45 s", "18 min", "2 h 5 min", "3 d 4 h" (R-39).

Figures are stored and computed in seconds; every page, chart and export that shows one to a
person goes through `format_duration`, so the two languages and the rounding agree everywhere.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext as _

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# What a missing figure reads as (no first response in the range, for example).
MISSING = "—"


def format_duration(seconds: float | int | None) -> str:
    """The two largest units, truncated: 3599 s is "59 min", never "60 min" or "1 h".

    Under a minute in seconds, under an hour in minutes, under a day in hours and minutes,
    beyond in days and hours; a zero second unit is left out ("1 h", not "1 h 0 min"). A
    negative duration (a deadline already missed) keeps its sign."""
    if seconds is None or (isinstance(seconds, float) and not math.isfinite(seconds)):
        return MISSING
    sign = "-" if seconds < 0 else ""
    # Round to whole seconds first, so 59.6 s reads "1 min" and not "59 s".
    total = round(abs(seconds))
    if total < MINUTE:
        text = _("%(s)d s") % {"s": total}
    elif total < HOUR:
        text = _("%(m)d min") % {"m": total // MINUTE}
    elif total < DAY:
        hours, minutes = total // HOUR, total % HOUR // MINUTE
        if minutes:
            text = _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
        else:
            text = _("%(h)d h") % {"h": hours}
    else:
        days, hours = total // DAY, total % DAY // HOUR
        if hours:
            text = _("%(d)d d %(h)d h") % {"d": days, "h": hours}
        else:
            text = _("%(d)d d") % {"d": days}
    return sign + text
