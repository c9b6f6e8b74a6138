"""Metrics over the API: the R-39 report, the daily inspection, settings and rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from kefu.accounts.access import api_user, needs, shop_auth
from kefu.accounts.models import User
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.care.selectors import promises_due_on
from kefu.core.schema_types import ErrorOut
from kefu.metrics import config, refresh, selectors
from kefu.metrics.models import FxRate

router = Router(auth=shop_auth, tags=["metrics"])


class ReportQuery(Schema):
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    by: Literal["day", "agent", "group"] = "day"


class FiguresOut(Schema):
    """The published figures (`kefu.metrics.compute.figures`); a rate or mean is null when
    there is nothing to divide by."""

    reception_count: int
    replied_buyers: int
    messages_received: int
    messages_replied: int
    replied_24h: int
    reply_rate_24h: float | None
    reply_rate: float | None = Field(description="回复率: messages_replied / messages_received")
    consult_conversion_rate: float | None
    converted_buyers: int
    placed_buyers: int = Field(description="引导下单人数: replied pairs that placed an order")
    placed_conversion_rate: float | None
    replied_24h_with_auto: int = Field(
        description="the seller centre's way: answered within 24 h by a person or automatically"
    )
    reply_rate_24h_with_auto: float | None
    reply_rate_with_auto: float | None
    guided_orders: int
    guided_gmv: str = Field(description="decimal string in the reporting currency")
    unconverted_orders: int
    first_response_seconds: float | None
    first_response_business_seconds: float | None
    average_response_seconds: float | None
    average_response_business_seconds: float | None
    resolution_seconds: float | None
    resolution_business_seconds: float | None
    refund_dispute_rate: float | None
    automation_share: float | None
    paid_orders: int
    disputed_orders: int
    auto_only: int


class ReportRowOut(FiguresOut):
    key: str = Field(description="the day (ISO date), agent id or group")
    label: str


class PreviousOut(Schema):
    from_: str = Field(alias="from")
    to: str
    total: FiguresOut


# Days and times are the strings the report has always sent (ISO dates, "+00:00").
class ReportOut(Schema):
    shop: str
    from_: str = Field(alias="from")
    to: str
    by: str
    currency: str
    own_figures_only: bool
    total: FiguresOut
    previous: PreviousOut
    rows: list[ReportRowOut]
    updated_at: str | None = Field(description="same as figures_as_of (kept for old clients)")
    figures_as_of: str | None = Field(description="when the figures were last computed")
    data_until: str | None = Field(
        description="the newest buyer message or order time stored for the shop"
    )
    figures_behind_data: bool = Field(
        description="rows arrived after the figures were computed; they update within a minute"
    )


@router.get("", response=ReportOut, by_alias=True)
def report(request: HttpRequest, q: Query[ReportQuery]) -> dict[str, Any]:
    """Figures of a range of shop-local days; a sub-account gets its own figures only."""
    user = api_user(request)
    shop = shop_of(user)
    end = q.to or selectors.today(shop)
    start = q.from_ or end - dt.timedelta(days=6)
    refresh.catch_up(shop=shop)
    return selectors.report_for(user, start=start, end=end, by=q.by).as_json()


class RebuildOut(Schema):
    buyers: int
    facts: int
    days: int
    seconds: float


@router.post("/rebuild", response={200: RebuildOut, 409: ErrorOut})
@needs(Capability.SEE_ALL, "only the main account rebuilds metrics")
def rebuild(request: HttpRequest) -> RebuildOut:
    user = api_user(request)
    try:
        result = refresh.rebuild_shop(shop=shop_of(user))
    except refresh.Busy as exc:
        raise HttpError(409, str(exc)) from exc
    return RebuildOut(
        buyers=result.buyers, facts=result.facts, days=result.days, seconds=result.seconds
    )


# Named apart from the automation API's settings: the schema knows each model by its class name.
class MetricsSettingsIn(Schema):
    reporting_currency: str | None = Field(default=None, min_length=3, max_length=3)
    slow_reply_minutes: int | None = None
    rates: dict[str, Decimal] | None = None


class SettingsOut(Schema):
    reporting_currency: str
    slow_reply_minutes: int
    # Rates as decimal strings, exactly as stored.
    rates: dict[str, str]


def _settings_out(user: User) -> SettingsOut:
    shop = shop_of(user)
    ms = config.metrics_settings(shop=shop)
    return SettingsOut(
        reporting_currency=ms.reporting_currency,
        slow_reply_minutes=ms.slow_reply_minutes,
        rates={r.currency: str(r.rate) for r in FxRate.objects.filter(shop=shop)},
    )


@router.get("/settings", response=SettingsOut)
def get_settings(request: HttpRequest) -> SettingsOut:
    return _settings_out(api_user(request))


@router.put("/settings", response=SettingsOut)
def put_settings(request: HttpRequest, payload: MetricsSettingsIn) -> SettingsOut:
    user = api_user(request)
    config.set_reporting(
        actor=user,
        reporting_currency=payload.reporting_currency,
        rates=payload.rates,
        slow_reply_minutes=payload.slow_reply_minutes,
    )
    return _settings_out(user)


class InspectionQuery(Schema):
    date: dt.date | None = None


# Times below are the ISO strings the inspection has always sent ("+00:00", not "Z").
class SlowReplyOut(Schema):
    conversation_id: int
    buyer: str
    agent: str
    group: str
    waited_from: str
    replied_at: str | None
    minutes: int
    first_response: bool


class UnansweredOut(Schema):
    conversation_id: int
    buyer: str
    agent: str
    group: str
    waiting_since: str | None


class InspectionFindingOut(Schema):
    id: int
    code: str
    severity: str
    agent: str | None
    blocked: bool
    overridden: bool
    conversation_id: int | None


class RedMarkOut(Schema):
    conversation_id: int
    note: str
    label: str


class InspectionPromiseOut(Schema):
    id: int
    what: str
    buyer: str | None
    owner: str | None
    due_at: str
    overdue: bool
    status: str  # as it stands now (kept or broken since, or still open)


class InspectionOut(Schema):
    date: str
    promises_as_of: str
    promises: list[InspectionPromiseOut]
    slow_reply_minutes: int
    figures: dict[str, Any]
    slow_replies: list[SlowReplyOut]
    unanswered: list[UnansweredOut]
    findings: list[InspectionFindingOut]
    overrides: int
    red_marks: list[RedMarkOut]


@router.get("/inspection", response={200: InspectionOut, 403: ErrorOut})
def inspection(request: HttpRequest, q: Query[InspectionQuery]) -> InspectionOut:
    user = api_user(request)
    day = q.date or selectors.today(shop_of(user))
    data = selectors.inspection(user, day=day)
    as_of, board = promises_due_on(user, day=day)
    return InspectionOut(
        date=day.isoformat(),
        promises_as_of=as_of.isoformat(),
        promises=[
            InspectionPromiseOut(
                id=p.pk,
                what=p.what,
                buyer=str(p.buyer) if p.buyer_id else None,
                owner=p.owner.username if p.owner else None,
                due_at=p.due_at.isoformat(),
                overdue=overdue,
                status=p.status,
            )
            for overdue, rows in ((True, board.overdue), (False, board.due_soon))
            for p in rows
        ],
        slow_reply_minutes=data.threshold_minutes,
        figures=data.figures,
        slow_replies=[
            SlowReplyOut(
                conversation_id=s.conversation_id,
                buyer=s.buyer,
                agent=s.agent,
                group=s.group,
                waited_from=s.waited_from.isoformat(),
                replied_at=s.replied_at.isoformat() if s.replied_at else None,
                minutes=s.minutes,
                first_response=s.first,
            )
            for s in data.slow
        ],
        unanswered=[
            UnansweredOut(
                **{
                    **u,
                    "waiting_since": u["waiting_since"].isoformat() if u["waiting_since"] else None,
                }
            )
            for u in data.unanswered
        ],
        findings=[
            InspectionFindingOut(
                id=f.pk,
                code=f.code,
                severity=f.severity,
                agent=f.actor.username if f.actor else None,
                blocked=f.blocked,
                overridden=f.overridden,
                conversation_id=f.conversation_id,
            )
            for f in data.findings
        ],
        overrides=data.overrides,
        red_marks=[
            RedMarkOut(conversation_id=m.conversation_id, note=m.note, label=m.label)
            for m in data.red_marks
        ],
    )
