"""Every published figure has an English name and a Chinese one (issue 13: "24H回复量" had no
English), and times are named as times, not "(s)"."""

from __future__ import annotations

from django.utils import translation

from kefu.metrics.compute import METRIC_NAMES
from kefu.metrics.labels import DURATIONS, METRIC_LABELS, chinese_term, label


def test_each_label_reads_english_in_english_and_chinese_in_chinese():
    for key in METRIC_LABELS:
        with translation.override("en"):
            english = label(key)
        with translation.override("zh-hans"):
            chinese = label(key)
        assert english.isascii() and "(s)" not in english, key
        assert chinese != english and not chinese.isascii(), key
        assert not chinese_term(key).isascii(), key


def test_the_named_figures_are_published_ones_and_times_are_the_seconds_figures():
    assert set(METRIC_LABELS) <= set(METRIC_NAMES)
    assert {n for n in METRIC_NAMES if n.endswith("_seconds")} == DURATIONS
    with translation.override("en"):
        assert label("replied_24h") == "Messages replied within 24 h"
    with translation.override("zh-hans"):
        assert label("replied_24h") == "24H回复量"
