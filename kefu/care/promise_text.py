"""Finding a promise with a time in an agent's reply (R-28): "发票3天内寄出", "we will ship
tomorrow", "refund within 5 days". Pure text work: the reply box offers the result prefilled,
the agent decides whether it is a promise to track."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass

_ZH_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_EN_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

# A promise says what the shop will do ...
_ACTION = re.compile(
    r"ship|send|dispatch|refund|deliver|invoice|issue|reply|contact|arrange|process|mail|post|"
    r"return|replace|repair|寄|发|退|开票|发票|补发|安排|处理|联系|回复|换|修",
    re.IGNORECASE,
)
# ... and commits to it (an intent or a deadline word), so "refunds take 3-20 days" as a
# fact is not offered while "we will refund within 5 days" is.
_COMMIT = re.compile(
    r"\bwill\b|'ll\b|\bshall\b|going to|promise|guarantee|within|\bby\b|"
    r"会|将|保证|承诺|之内|以内|内|前|给您|为您|马上|尽快",
    re.IGNORECASE,
)
_ZH_SPAN = re.compile(
    r"(\d{1,3}|[一二两三四五六七八九十]{1,3})\s*(?:个)?\s*(工作日|天|日|小时|钟头|周|星期)"
)
_EN_SPAN = re.compile(
    r"\b(\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(business\s+|working\s+)?(hours?|days?|weeks?)\b",
    re.IGNORECASE,
)
_RELATIVE = (
    (re.compile(r"明天|明日|\btomorrow\b", re.IGNORECASE), 1),
    (re.compile(r"后天|day after tomorrow", re.IGNORECASE), 2),
    (re.compile(r"今天|今日|今晚|\btoday\b|\btonight\b", re.IGNORECASE), 0),
)
# Sentences end at Chinese and Western stops, line breaks, and a full stop before a space.
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|\n|(?<=\.)\s+")


@dataclass(frozen=True)
class PromiseGuess:
    what: str
    due_at: dt.datetime


def _zh_number(raw: str) -> int:
    if raw.isdigit():
        return int(raw)
    if raw == "十":
        return 10
    if raw.startswith("十"):
        return 10 + _ZH_DIGITS.get(raw[1:], 0)
    if "十" in raw:
        tens, _sep, ones = raw.partition("十")
        return _ZH_DIGITS.get(tens, 1) * 10 + (_ZH_DIGITS.get(ones, 0) if ones else 0)
    return _ZH_DIGITS.get(raw, 0)


def _end_of_day(local: dt.datetime, days: int) -> dt.datetime:
    day = (local + dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(23, 59), tzinfo=local.tzinfo)


def _add_business_days(local: dt.datetime, days: int) -> dt.datetime:
    current = local
    left = days
    while left > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return _end_of_day(current, 0)


def _due(sentence: str, local: dt.datetime) -> dt.datetime | None:
    """The earliest time the sentence names, in the shop's time zone."""
    found: list[dt.datetime] = []
    for m in _ZH_SPAN.finditer(sentence):
        n, unit = _zh_number(m.group(1)), m.group(2)
        if n <= 0:
            continue
        if unit in ("小时", "钟头"):
            found.append(local + dt.timedelta(hours=n))
        elif unit == "工作日":
            found.append(_add_business_days(local, n))
        elif unit in ("周", "星期"):
            found.append(_end_of_day(local, 7 * n))
        else:
            found.append(_end_of_day(local, n))
    for m in _EN_SPAN.finditer(sentence):
        raw = m.group(1).lower()
        n = int(raw) if raw.isdigit() else _EN_NUMBERS.get(raw, 0)
        unit = m.group(3).lower()
        if n <= 0:
            continue
        if unit.startswith("hour"):
            found.append(local + dt.timedelta(hours=n))
        elif unit.startswith("week"):
            found.append(_end_of_day(local, 7 * n))
        elif m.group(2):
            found.append(_add_business_days(local, n))
        else:
            found.append(_end_of_day(local, n))
    if not found:
        # "the day after tomorrow" before "tomorrow": the longer phrase wins.
        for pattern, days in _RELATIVE:
            if pattern.search(sentence):
                found.append(_end_of_day(local, days))
                break
    return min(found) if found else None


def find_promise(text: str, *, now: dt.datetime, timezone_name: str) -> PromiseGuess | None:
    """The first sentence of `text` that promises an action by a time, with its due time."""
    local = now.astimezone(zoneinfo.ZoneInfo(timezone_name))
    for part in _SENTENCE_END.split(text):
        sentence = part.strip()
        if not sentence or not _ACTION.search(sentence) or not _COMMIT.search(sentence):
            continue
        due = _due(sentence, local)
        if due is not None and due > local:
            return PromiseGuess(what=sentence[:300], due_at=due.astimezone(dt.UTC))
    return None
