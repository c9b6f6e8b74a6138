"""A web process loads language models and the rule automaton before it serves."""

from __future__ import annotations

from kefu.automation import language
from kefu.compliance import prescan
from kefu.core.warmup import warm_up


def test_warm_up_loads_what_the_first_message_would_wait_for():
    language.detector_for.cache_clear()
    prescan.automaton.cache_clear()

    warmed = warm_up()

    assert warmed == ["kefu.automation.language", "kefu.compliance.scanner"]
    assert language.detector_for.cache_info().currsize == 1
    assert prescan.automaton.cache_info().currsize == 1
    # Intake then reuses them instead of building its own.
    language.detect("Hello, where is my parcel?", frozenset({"en", "es", "ru", "zh-hans"}))
    assert language.detector_for.cache_info().hits >= 1
