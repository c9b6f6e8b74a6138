"""The owner's automation settings and business hours."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.automation.business_hours import Interval
from kefu.automation.config import set_business_hours

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
