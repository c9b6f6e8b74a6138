"""Follow-ups and revisits over the API (mounted at /care): the owner's follow-up rules and
quiet hours, the follow-ups sent, and the revisit table's one-click actions and results."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from kefu.accounts.access import api_user, needs, shop_auth
from kefu.accounts.models import Shop
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.care import followups, revisit_actions
from kefu.care import revisits as revisit_reads
from kefu.care.models import FollowUpRule, Revisit
from kefu.core.schema_types import ErrorOut, LocalTime

router = Router(auth=shop_auth, tags=["care"])

Kind = Literal["after_purchase", "at_delivery", "after_days", "revisit"]
Language = Literal["en", "ru", "es", "zh-hans"]


class FollowUpRuleIn(Schema):
    kind: Kind
    texts: dict[Language, str] = Field(max_length=4)
    fallback_language: Language = "en"
    days: int = Field(default=0, ge=0, le=followups.MAX_DAYS)
    active: bool = True


class FollowUpRuleOut(Schema):
    kind: str
    days: int
    texts: dict[str, str]
    fallback_language: str
    active: bool
    active_since: dt.datetime


def _follow_up_rule_out(r: FollowUpRule) -> FollowUpRuleOut:
    return FollowUpRuleOut(
        kind=r.kind,
        days=r.days,
        texts={str(k): str(v) for k, v in r.texts.items()},
        fallback_language=r.fallback_language,
        active=r.active,
        active_since=r.active_since,
    )


@router.get("/follow-ups/rules", response=list[FollowUpRuleOut])
def rules(request: HttpRequest) -> list[FollowUpRuleOut]:
    """The shop's follow-up rules (kinds never saved are absent)."""
    saved = FollowUpRule.objects.filter(shop=shop_of(api_user(request)))
    return [_follow_up_rule_out(r) for r in saved]


@router.put("/follow-ups/rules", response={200: FollowUpRuleOut, 400: ErrorOut, 403: ErrorOut})
@needs(Capability.MANAGE_SETTINGS)
def save_rule(request: HttpRequest, payload: FollowUpRuleIn) -> FollowUpRuleOut:
    """Create or change the rule of one kind; its texts pass the rule guard (400 on a
    block). Main account, or a sub-account allowed to change settings."""
    saved = followups.save_rule(
        actor=api_user(request),
        data=followups.RuleInput(
            kind=payload.kind,
            texts={str(k): v for k, v in payload.texts.items()},
            fallback_language=payload.fallback_language,
            days=payload.days,
            active=payload.active,
        ),
    )
    return _follow_up_rule_out(saved)


class FollowUpHoursOut(Schema):
    quiet_start: LocalTime
    quiet_end: LocalTime
    business_hours_only: bool


class FollowUpHoursIn(Schema):
    # The quiet hours themselves are the shop's one setting (PATCH /api/v1/orders/settings):
    # a payload still naming them here is refused, not silently dropped.
    model_config = ConfigDict(extra="forbid")

    business_hours_only: bool = False


def _hours_out(shop: Shop) -> FollowUpHoursOut:
    start, end = followups.quiet_hours_of(shop)
    return FollowUpHoursOut(
        quiet_start=start,
        quiet_end=end,
        business_hours_only=followups.follow_up_settings(shop).business_hours_only,
    )


@router.get("/follow-ups/quiet-hours", response=FollowUpHoursOut)
def quiet_hours(request: HttpRequest) -> FollowUpHoursOut:
    """The shop's quiet hours (read here; set with PATCH /api/v1/orders/settings) and whether
    follow-ups and revisits also wait for business hours."""
    return _hours_out(shop_of(api_user(request)))


@router.put("/follow-ups/quiet-hours", response={200: FollowUpHoursOut, 403: ErrorOut})
@needs(Capability.MANAGE_SETTINGS)
def save_quiet_hours(request: HttpRequest, payload: FollowUpHoursIn) -> FollowUpHoursOut:
    """Whether follow-up and revisit messages also wait for the shop's business hours."""
    user = api_user(request)
    followups.save_follow_up_settings(actor=user, business_hours_only=payload.business_hours_only)
    return _hours_out(shop_of(user))


class FollowUpOut(Schema):
    order_external_id: str
    buyer: str
    kind: str
    due_at: dt.datetime
    status: str
    reason: str
    language: str
    message_id: int | None


@router.get("/follow-ups", response=list[FollowUpOut])
def follow_ups(request: HttpRequest) -> list[FollowUpOut]:
    """The latest follow-ups of orders the caller may see (at most 200)."""
    return [
        FollowUpOut(
            order_external_id=f.order.external_id,
            buyer=str(f.buyer),
            kind=f.kind,
            due_at=f.due_at,
            status=f.status,
            reason=f.reason,
            language=f.language,
            message_id=f.message_id,
        )
        for f in followups.visible_follow_ups(api_user(request))
    ]


class RevisitActionIn(Schema):
    # Ids are 64-bit rows: a larger number names nothing (and would overflow the query).
    order_id: int = Field(ge=1, le=2**63 - 1)
    product_id: int = Field(ge=1, le=2**63 - 1)


class RevisitActionOut(Schema):
    id: int
    way: str
    buyer: str
    product: str
    order_external_id: str
    message_id: int | None
    call_task_id: int | None
    at: dt.datetime


def _revisit_out(r: Revisit) -> RevisitActionOut:
    return RevisitActionOut(
        id=r.pk,
        way=r.way,
        buyer=str(r.buyer),
        product=r.product.title,
        order_external_id=r.order.external_id,
        message_id=r.message_id,
        call_task_id=r.call_task_id,
        at=r.at,
    )


@router.post(
    "/revisits/send", response={201: RevisitActionOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
)
def send_revisit(request: HttpRequest, payload: RevisitActionIn) -> Status[RevisitActionOut]:
    """Send the shop's revisit script to the buyer of a revisit-table row (rule guard and
    outbox, the buyer's language). 400 when the buyer opted out, has an open complaint, it is
    quiet hours, there is no script, or the rule guard blocks it."""
    user = api_user(request)
    order, product = revisit_actions.revisit_subject(
        user, order_id=payload.order_id, product_id=payload.product_id
    )
    sent = revisit_actions.send_revisit(actor=user, order=order, product=product)
    return Status(201, _revisit_out(sent))


@router.post(
    "/revisits/call", response={201: RevisitActionOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut}
)
def call_revisit(request: HttpRequest, payload: RevisitActionIn) -> Status[RevisitActionOut]:
    """Put the buyer of a revisit-table row on the call group's list."""
    user = api_user(request)
    order, product = revisit_actions.revisit_subject(
        user, order_id=payload.order_id, product_id=payload.product_id
    )
    called = revisit_actions.call_for_revisit(actor=user, order=order, product=product)
    return Status(201, _revisit_out(called))


class RevisitResultsQuery(Schema):
    days: int = Field(default=30, ge=1, le=365)


class RevisitResultRowOut(Schema):
    revisit: RevisitActionOut
    replied: bool
    second_order_external_id: str | None
    case_id: int | None


class RevisitResultsOut(Schema):
    revisits: int
    replied: int
    reordered: int
    rows: list[RevisitResultRowOut]


@router.get("/revisits/results", response=RevisitResultsOut)
def revisit_results(request: HttpRequest, q: Query[RevisitResultsQuery]) -> RevisitResultsOut:
    """Revisits of the last `days`: replied, and reordered within 7 days."""
    since = timezone.now() - dt.timedelta(days=q.days)
    rows, totals = revisit_actions.revisit_results(api_user(request), since=since)
    return RevisitResultsOut(
        revisits=totals.revisits,
        replied=totals.replied,
        reordered=totals.reordered,
        rows=[
            RevisitResultRowOut(
                revisit=_revisit_out(x.revisit),
                replied=x.replied,
                second_order_external_id=x.second_order.external_id if x.second_order else None,
                case_id=x.revisit.case_id,
            )
            for x in rows
        ],
    )


class RevisitCaseOut(Schema):
    case_id: int


@router.post(
    "/revisits/{revisit_id}/case", response={201: RevisitCaseOut, 400: ErrorOut, 404: ErrorOut}
)
def revisit_case(request: HttpRequest, revisit_id: int) -> Status[RevisitCaseOut]:
    """Save a revisit that led to a second sale to the case archive."""
    user = api_user(request)
    found = revisit_reads.access_revisit(user, revisit_id)
    case = revisit_actions.save_revisit_case(actor=user, revisit=found)
    return Status(201, RevisitCaseOut(case_id=case.pk))
