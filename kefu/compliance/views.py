"""Pages of the rule guard: findings per agent per day, and the shop's rule pack."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.compliance import selectors
from kefu.orders.config import order_settings

PAGE_ROWS = 500


def _day(request: HttpRequest, tz_name: str) -> dt.date:
    raw = request.GET.get("date", "")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        return timezone.now().astimezone(zoneinfo.ZoneInfo(tz_name)).date()


@shop_view()
@require_GET
def findings(request: ShopRequest) -> HttpResponse:
    user = request.user
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


@shop_view()
@require_GET
def rules(request: ShopRequest) -> HttpResponse:
    user = request.user
    pack = selectors.pack_of(user)
    promises = order_settings(shop=shop_of(user))
    rows = [
        (
            rule,
            rule.alternative_for(
                ship_by_hours=promises.ship_by_hours, refund_days=promises.refund_days
            ),
        )
        for rule in pack.rules
    ]
    return render(request, "compliance/rules.html", {"pack": pack, "rows": rows})
