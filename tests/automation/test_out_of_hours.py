import datetime as dt

import pytest
import time_machine

from kefu.automation.business_hours import Interval
from kefu.automation.models import AutomationSettings
from kefu.automation.services import HolidayInput, on_buyer_message, set_business_hours

from .conftest import T0, agent_says, buyer_says, make_conversation

NINE, SIX = dt.time(9), dt.time(18)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        yield


@pytest.fixture
def ooh(shop, owner):
    conf = AutomationSettings.objects.create(
        shop=shop,
        out_of_hours_enabled=True,
        out_of_hours_text="We are closed now.",
        agent_quiet_minutes=10,
    )
    set_business_hours(
        actor=owner,
        intervals=[Interval(weekday=d, opens=NINE, closes=SIX) for d in range(5)],
        holidays=[HolidayInput(day=dt.date(2026, 3, 4), name="Shop party")],
    )
    return conf


def _shanghai(y, m, d, h, mi=0):
    return (
        dt.datetime(y, m, d, h - 8, mi, tzinfo=dt.UTC)
        if h >= 8
        else (dt.datetime(y, m, d, h, mi, tzinfo=dt.UTC) - dt.timedelta(hours=8))
    )


def _ooh(replies):
    return [r for r in replies if r.payload["automation"] == "out_of_hours"]


def test_no_reply_inside_business_hours(ooh, conversation):
    assert (
        _ooh(on_buyer_message(message=buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 10))))
        == []
    )


def test_reply_after_closing_in_the_shop_time_zone(ooh, conversation):
    # 18:00 Shanghai is 10:00 UTC: closed although it is mid-morning in UTC.
    replies = on_buyer_message(message=buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 18)))
    assert [r.text for r in _ooh(replies)] == ["We are closed now."]


def test_at_most_once_per_buyer_per_shop_day(shop, ooh, buyer, conversation):
    first = buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 19))
    assert len(_ooh(on_buyer_message(message=first))) == 1
    other_conv = make_conversation(shop, buyer, group="after_sale")
    same_night = buyer_says(other_conv, "hello?", _shanghai(2026, 3, 2, 23, 30))
    assert _ooh(on_buyer_message(message=same_night)) == []
    next_morning = buyer_says(conversation, "still there?", _shanghai(2026, 3, 3, 7))
    assert len(_ooh(on_buyer_message(message=next_morning))) == 1


def test_holiday_is_closed_all_day(ooh, conversation):
    at_noon = buyer_says(conversation, "hi", _shanghai(2026, 3, 4, 12))
    assert len(_ooh(on_buyer_message(message=at_noon))) == 1


def test_weekend_is_closed(ooh, conversation):
    saturday = buyer_says(conversation, "hi", _shanghai(2026, 3, 7, 11))
    assert len(_ooh(on_buyer_message(message=saturday))) == 1


def test_skipped_when_an_agent_replied_recently(ooh, conversation, pre_agent):
    at = _shanghai(2026, 3, 2, 20)
    agent_says(conversation, "I am still here", at - dt.timedelta(minutes=9), author=pre_agent)
    assert _ooh(on_buyer_message(message=buyer_says(conversation, "ok", at))) == []


def test_sent_when_the_agent_reply_is_older_than_the_quiet_period(ooh, conversation):
    at = _shanghai(2026, 3, 2, 20)
    agent_says(conversation, "bye", at - dt.timedelta(minutes=11))
    assert len(_ooh(on_buyer_message(message=buyer_says(conversation, "ok", at)))) == 1


def test_no_schedule_means_no_out_of_hours_reply(shop, conversation):
    AutomationSettings.objects.create(
        shop=shop, out_of_hours_enabled=True, out_of_hours_text="closed"
    )
    assert on_buyer_message(message=buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 3))) == []


def test_schedule_validation(owner):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="after opening"):
        set_business_hours(actor=owner, intervals=[Interval(0, SIX, NINE)], holidays=[])
    with pytest.raises(ValidationError, match="overlap"):
        set_business_hours(
            actor=owner,
            intervals=[Interval(0, NINE, dt.time(12)), Interval(0, dt.time(11), SIX)],
            holidays=[],
        )


def test_agent_without_the_right_cannot_set_hours(pre_agent):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        set_business_hours(actor=pre_agent, intervals=[], holidays=[])
