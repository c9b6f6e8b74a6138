"""Durations as a seller reads them, in both languages: the one formatter every page uses."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

from kefu.core.durations import format_duration

CASES = [
    (None, "—", "—"),
    (0, "0 s", "0秒"),
    (45, "45 s", "45秒"),
    (59, "59 s", "59秒"),
    (59.4, "59 s", "59秒"),
    (59.6, "1 min", "1分钟"),  # rounded to whole seconds first
    (60, "1 min", "1分钟"),
    (1080, "18 min", "18分钟"),
    (1139, "18 min", "18分钟"),  # truncated, never rounded up to the next minute
    (3599, "59 min", "59分钟"),
    (3600, "1 h", "1小时"),
    (7500, "2 h 5 min", "2小时5分钟"),
    (86399, "23 h 59 min", "23小时59分钟"),
    (86400, "1 d", "1天"),
    (273600, "3 d 4 h", "3天4小时"),
    (445577.7, "5 d 3 h", "5天3小时"),  # the dashboard's "Resolution time (s) 445577.7"
    (-3900, "-1 h 5 min", "-1小时5分钟"),
    (float("nan"), "—", "—"),
]


@pytest.mark.parametrize(("seconds", "english", "chinese"), CASES)
def test_format_duration_in_both_languages(seconds, english, chinese):
    with translation.override("en"):
        assert format_duration(seconds) == english
    with translation.override("zh-hans"):
        assert format_duration(seconds) == chinese


def test_the_template_filter_is_the_same_function():
    template = Template("{% load durations %}{{ a|duration }} / {{ b|duration }}")
    with translation.override("en"):
        assert template.render(Context({"a": 7500, "b": None})) == "2 h 5 min / —"
    with translation.override("zh-hans"):
        assert template.render(Context({"a": 7500, "b": 45})) == "2小时5分钟 / 45秒"
