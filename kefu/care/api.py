"""The case archive over the API: search the cases, save one (mounted at /metrics/cases)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kefu.accounts.access import api_user, shop_auth
from kefu.care import selectors, services
from kefu.care.models import Case
from kefu.conversations.selectors import access_conversation
from kefu.core.schema_types import ErrorOut

router = Router(auth=shop_auth, tags=["care"])


class CaseIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    event: str = Field(min_length=1, max_length=10_000)
    follow_up: str = Field(default="", max_length=10_000)
    outcome: str = Field(default="", max_length=10_000)
    outcome_kind: Literal["open", "resolved", "escalated", "lost"] = "resolved"
    tags: str = Field(default="", max_length=200)
    date: dt.date | None = None
    conversation_id: int | None = None
    agent_id: int | None = None


class CaseOut(Schema):
    id: int
    date: dt.date
    title: str
    agent: str
    buyer: str
    conversation_id: int | None
    event: str
    follow_up: str
    outcome: str
    outcome_kind: str
    tags: str


def _case_out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.pk,
        date=case.date,
        title=case.title,
        agent=case.agent_name,
        buyer=case.buyer_name,
        conversation_id=case.conversation_id,
        event=case.event,
        follow_up=case.follow_up,
        outcome=case.outcome,
        outcome_kind=case.outcome_kind,
        tags=case.tags,
    )


class CasesQuery(Schema):
    q: str = Field(default="", max_length=200)
    outcome: Literal["", "open", "resolved", "escalated", "lost"] = ""


@router.get("", response=list[CaseOut])
def cases(request: HttpRequest, q: Query[CasesQuery]) -> list[CaseOut]:
    user = api_user(request)
    return [_case_out(c) for c in selectors.visible_cases(user, query=q.q, outcome=q.outcome)[:500]]


@router.post("", response={201: CaseOut, 404: ErrorOut})
def create_case(request: HttpRequest, payload: CaseIn) -> Status[CaseOut]:
    user = api_user(request)
    conversation = (
        access_conversation(user, payload.conversation_id)
        if payload.conversation_id is not None
        else None
    )
    case = services.save_case(
        actor=user,
        conversation=conversation,
        data=services.CaseInput(
            title=payload.title,
            event=payload.event,
            date=payload.date,
            follow_up=payload.follow_up,
            outcome=payload.outcome,
            outcome_kind=payload.outcome_kind,
            tags=payload.tags,
            agent_id=payload.agent_id,
        ),
    )
    return Status(201, _case_out(case))
