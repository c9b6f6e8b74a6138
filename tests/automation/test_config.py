"""The owner's automation settings and business hours."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.automation.business_hours import Interval
from kefu.automation.config import (
    BusinessHoursInput,
    HolidayInput,
    set_business_hours,
    update_automation_settings,
)
from kefu.automation.models import AutomationSettings, BusinessHours, Holiday

from .conftest import settings_snapshot

NINE, SIX = dt.time(9), dt.time(18)


def test_schedule_validation(owner):
    with pytest.raises(ValidationError, match="after opening"):
        set_business_hours(actor=owner, intervals=[Interval(0, SIX, NINE)], holidays=[])
    with pytest.raises(ValidationError, match="overlap"):
        set_business_hours(
            actor=owner,
            intervals=[Interval(0, NINE, dt.time(12)), Interval(0, dt.time(11), SIX)],
            holidays=[],
        )


def test_agent_without_the_right_cannot_set_hours(pre_agent):
    with pytest.raises(PermissionDenied):
        set_business_hours(actor=pre_agent, intervals=[], holidays=[])


def _settings(owner, **changes):
    values = {
        "actor": owner,
        "welcome_enabled": True,
        "welcome_text": "Hello!",
        "out_of_hours_enabled": True,
        "out_of_hours_text": "We are closed.",
        "agent_quiet_minutes": 10,
        "keyword_replies_enabled": True,
        "languages": ["en", "ru"],
    }
    return update_automation_settings(**{**values, **changes})


WEEKDAYS_9_TO_6 = BusinessHoursInput(
    intervals=[Interval(d, NINE, SIX) for d in range(5)],
    holidays=[HolidayInput(day=dt.date(2026, 10, 1), name="National Day")],
)


def test_settings_and_hours_are_saved_together(owner, shop):
    _settings(owner, hours=WEEKDAYS_9_TO_6)
    assert AutomationSettings.objects.get(shop=shop).welcome_text == "Hello!"
    assert BusinessHours.objects.filter(shop=shop).count() == 5
    assert Holiday.objects.get(shop=shop).name == "National Day"


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        (BusinessHoursInput(intervals=[Interval(0, SIX, NINE)], holidays=[]), "after opening"),
        (
            BusinessHoursInput(
                intervals=[Interval(0, NINE, dt.time(12)), Interval(0, dt.time(11), SIX)],
                holidays=[],
            ),
            "overlap",
        ),
        (
            BusinessHoursInput(
                intervals=[],
                holidays=[HolidayInput(day=dt.date(2026, 10, 1))] * 2,
            ),
            "listed twice",
        ),
    ],
)
def test_refused_hours_save_none_of_the_settings(owner, shop, hours, message):
    _settings(owner, hours=WEEKDAYS_9_TO_6)
    before = settings_snapshot(shop)
    with pytest.raises(ValidationError, match=message):
        _settings(owner, welcome_text="Changed welcome", agent_quiet_minutes=30, hours=hours)
    assert settings_snapshot(shop) == before


def test_refused_settings_save_none_of_the_hours(owner, shop):
    _settings(owner, hours=WEEKDAYS_9_TO_6)
    before = settings_snapshot(shop)
    replacement = BusinessHoursInput(intervals=[Interval(6, NINE, SIX)], holidays=[])
    with pytest.raises(ValidationError, match="languages"):
        _settings(owner, languages=["fr"], hours=replacement)
    with pytest.raises(ValidationError, match="quiet period"):
        _settings(owner, agent_quiet_minutes=5000, hours=replacement)
    assert settings_snapshot(shop) == before


def test_a_refused_first_save_creates_no_settings_row(owner, shop):
    with pytest.raises(ValidationError):
        _settings(owner, hours=BusinessHoursInput(intervals=[Interval(0, SIX, NINE)], holidays=[]))
    assert not AutomationSettings.objects.filter(shop=shop).exists()
