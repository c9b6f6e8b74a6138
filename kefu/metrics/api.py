"""Metrics over the API: the R-39 report, the daily inspection, settings and rates."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError
from pydantic import Field

from kefu.core.api_auth import api_user, refusal, shop_auth
from kefu.core.scoping import shop_of
from kefu.metrics import config, refresh, selectors
from kefu.metrics.models import FxRate

router = Router(auth=shop_auth, tags=["metrics"])


class ReportQuery(Schema):
    from_: dt.date | None = Field(default=None, alias="from")
    to: dt.date | None = None
    by: Literal["day", "agent", "group"] = "day"


@router.get("", response=dict[str, Any])
def report(request: HttpRequest, q: Query[ReportQuery]) -> dict[str, Any]:
    """Figures of a range of shop-local days; a sub-account gets its own figures only."""
    user = api_user(request)
    shop = shop_of(user)
    end = q.to or selectors.today(shop)
    start = q.from_ or end - dt.timedelta(days=6)
    try:
        return selectors.report_for(user, start=start, end=end, by=q.by).as_json()
    except ValidationError as exc:
        raise refusal(exc) from exc


class RebuildOut(Schema):
    buyers: int
    facts: int
    days: int
    seconds: float


@router.post("/rebuild", response=RebuildOut)
def rebuild(request: HttpRequest) -> RebuildOut:
    user = api_user(request)
    if not selectors.sees_all(user):
        raise HttpError(403, "only the main account rebuilds metrics")
    try:
        result = refresh.rebuild_shop(shop=shop_of(user))
    except refresh.Busy as exc:
        raise HttpError(409, str(exc)) from exc
    return RebuildOut(
        buyers=result.buyers, facts=result.facts, days=result.days, seconds=result.seconds
    )


class SettingsIO(Schema):
    reporting_currency: str | None = Field(default=None, min_length=3, max_length=3)
    slow_reply_minutes: int | None = None
    rates: dict[str, Decimal] | None = None


def _settings_out(user: Any) -> dict[str, Any]:
    shop = shop_of(user)
    ms = config.metrics_settings(shop=shop)
    return {
        "reporting_currency": ms.reporting_currency,
        "slow_reply_minutes": ms.slow_reply_minutes,
        "rates": {r.currency: str(r.rate) for r in FxRate.objects.filter(shop=shop)},
    }


@router.get("/settings", response=dict[str, Any])
def get_settings(request: HttpRequest) -> dict[str, Any]:
    return _settings_out(api_user(request))


@router.put("/settings", response=dict[str, Any])
def put_settings(request: HttpRequest, payload: SettingsIO) -> dict[str, Any]:
    user = api_user(request)
    try:
        config.set_reporting(
            actor=user,
            reporting_currency=payload.reporting_currency,
            rates=payload.rates,
            slow_reply_minutes=payload.slow_reply_minutes,
        )
    except (PermissionDenied, ValidationError) as exc:
        raise refusal(exc) from exc
    return _settings_out(user)


class InspectionQuery(Schema):
    date: dt.date | None = None


@router.get("/inspection", response=dict[str, Any])
def inspection(request: HttpRequest, q: Query[InspectionQuery]) -> dict[str, Any]:
    user = api_user(request)
    day = q.date or selectors.today(shop_of(user))
    try:
        data = selectors.inspection(user, day=day)
    except PermissionDenied as exc:
        raise refusal(exc) from exc
    return {
        "date": day.isoformat(),
        "slow_reply_minutes": data.threshold_minutes,
        "figures": data.figures,
        "slow_replies": [
            {
                "conversation_id": s.conversation_id,
                "buyer": s.buyer,
                "agent": s.agent,
                "group": s.group,
                "waited_from": s.waited_from.isoformat(),
                "replied_at": s.replied_at.isoformat() if s.replied_at else None,
                "minutes": s.minutes,
                "first_response": s.first,
            }
            for s in data.slow
        ],
        "unanswered": [
            {
                **u,
                "waiting_since": u["waiting_since"].isoformat() if u["waiting_since"] else None,
            }
            for u in data.unanswered
        ],
        "findings": [
            {
                "id": f.pk,
                "code": f.code,
                "severity": f.severity,
                "agent": f.actor.username if f.actor else None,
                "blocked": f.blocked,
                "overridden": f.overridden,
                "conversation_id": f.conversation_id,
            }
            for f in data.findings
        ],
        "overrides": data.overrides,
        "red_marks": [
            {"conversation_id": m.conversation_id, "note": m.note, "label": m.label}
            for m in data.red_marks
        ],
    }
