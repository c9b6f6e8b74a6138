"""Saving a case (`kefu.care.services.save_case`): who may, what is kept, what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.care.models import Case, CaseOutcome
from kefu.care.services import CaseInput, save_case
from tests.metrics.factories import History, at


def test_a_case_keeps_the_names_and_defaults_to_the_shops_today(shop, owner, pre_agent):
    conv = History(shop).conv("ivan")
    conv.assignee = pre_agent
    conv.save()
    # 23:30 UTC is the next morning in Shanghai, the shop's zone.
    with time_machine.travel(dt.datetime(2026, 3, 2, 23, 30, tzinfo=dt.UTC), tick=False):
        case = save_case(
            actor=owner, conversation=conv, data=CaseInput(title=" Cracked lamp ", event="x")
        )
    assert (case.date, case.title) == (dt.date(2026, 3, 3), "Cracked lamp")
    assert (case.agent, case.agent_name, case.buyer_name) == (pre_agent, "Lily", "ivan")
    assert (case.created_by, case.outcome_kind) == (owner, CaseOutcome.RESOLVED)


def test_a_sub_account_saves_only_cases_of_its_own(shop, pre_agent, after_agent):
    conv = History(shop).conv("ivan")
    conv.assignee = pre_agent
    conv.save()
    with pytest.raises(PermissionDenied):
        save_case(actor=after_agent, conversation=conv, data=CaseInput(title="t", event="e"))
    with pytest.raises(PermissionDenied):
        save_case(actor=after_agent, data=CaseInput(title="t", event="e", agent_id=pre_agent.pk))
    mine = save_case(actor=pre_agent, conversation=conv, data=CaseInput(title="t", event="e"))
    assert mine.agent == pre_agent
    assert Case.objects.count() == 1


def test_another_shops_conversation_is_refused(shop, rival):
    conv = History(shop).conv("ivan")
    with pytest.raises(PermissionDenied):
        save_case(actor=rival, conversation=conv, data=CaseInput(title="t", event="e"))
    assert not Case.objects.exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (CaseInput(title=" ", event="e"), "title"),
        (CaseInput(title="x" * 201, event="e"), "title"),
        (CaseInput(title="t", event=" "), "event"),
        (CaseInput(title="t", event="e", outcome_kind="won"), "outcome"),
        (CaseInput(title="t", event="e", agent_id=999_999), "agent"),
    ],
)
def test_bad_input_is_refused(shop, owner, data, code):
    with pytest.raises(ValidationError) as exc:
        save_case(actor=owner, data=data)
    assert exc.value.code == code
    assert not Case.objects.exists()


def test_dates_are_kept_as_given(shop, owner):
    case = save_case(actor=owner, data=CaseInput(title="t", event="e", date=at(5).date()))
    assert case.date == dt.date(2026, 3, 5)
