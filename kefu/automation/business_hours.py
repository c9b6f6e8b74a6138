"""Whether a moment falls inside a shop's business hours (shop-local weekly schedule)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    weekday: int  # 0 = Monday
    opens: dt.time
    closes: dt.time


def local_moment(moment: dt.datetime, tz_name: str) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("business hours need an aware datetime")
    return moment.astimezone(zoneinfo.ZoneInfo(tz_name))


def is_open(
    *,
    moment: dt.datetime,
    tz_name: str,
    schedule: Iterable[Interval],
    holidays: Iterable[dt.date] = (),
) -> bool:
    """Open when the shop-local time is in [opens, closes) of an interval of that weekday
    and the shop-local day is not a holiday. An empty schedule means never open."""
    local = local_moment(moment, tz_name)
    if local.date() in set(holidays):
        return False
    now = local.time().replace(tzinfo=None)
    return any(iv.weekday == local.weekday() and iv.opens <= now < iv.closes for iv in schedule)
