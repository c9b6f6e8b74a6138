"""Pages of the rule guard: findings per agent per day, and the shop's rule pack."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, has_capability
from kefu.compliance import selectors
from kefu.core.scoping import shop_of

PAGE_ROWS = 500


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # noqa: S101 - login_required ran
    shop_of(user)
    return user


def _day(request: HttpRequest, tz_name: str) -> dt.date:
    raw = request.GET.get("date", "")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).date()


@login_required
@require_GET
def findings(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    shop = shop_of(user)
    day = _day(request, shop.timezone)
    sees_all = has_capability(user, Capability.SEE_ALL)
    agent = request.GET.get("agent", "").strip() or None
    rows = selectors.visible_findings(user, day=day, agent_login=agent if sees_all else None)
    return render(
        request,
        "compliance/findings.html",
        {
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "agent": agent if sees_all else None,
            "sees_all": sees_all,
            "summary": selectors.per_agent_summary(rows),
            "findings": rows[:PAGE_ROWS],
        },
    )


@login_required
@require_GET
def rules(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    pack = selectors.pack_of(user)
    return render(request, "compliance/rules.html", {"pack": pack, "rules": pack.rules})
