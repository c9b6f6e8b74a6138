"""Pages of the rule guard: findings per agent per day, the shop's rule pack, and the shop's
shipping policy (the free-shipping promise the guard uses when no listing or order says)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.compliance import selectors, services
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


def _regions(raw: str) -> list[str]:
    # One region per line; commas (ASCII or Chinese 、，) separate too, as sellers paste lists.
    return [part.strip() for part in re.split(r"[\n,，、;；]+", raw) if part.strip()]


@shop_view(Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def shipping_policy(request: ShopRequest) -> HttpResponse:
    """The shop's free-shipping promise and the regions its listings exclude (R-25, R-44)."""
    user = request.user
    shop = shop_of(user)
    policy = selectors.shipping_policy_of(shop)
    free_shipping = policy.free_shipping
    regions_text = "\n".join(policy.excluded_regions)
    errors: list[str] = []
    if request.method == "POST":
        free_shipping = request.POST.get("free_shipping") == "on"
        regions_text = request.POST.get("excluded_regions", "")
        try:
            services.set_shipping_policy(
                shop=shop,
                actor=user,
                free_shipping=free_shipping,
                excluded_regions=_regions(regions_text),
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(request, _("Shipping policy saved."))
            return redirect("compliance_shipping_policy")
    context = {
        "free_shipping": free_shipping,
        "regions_text": regions_text,
        "errors": errors,
        "max_regions": services.MAX_REGIONS,
    }
    return render(
        request, "compliance/shipping_policy.html", context, status=400 if errors else 200
    )
