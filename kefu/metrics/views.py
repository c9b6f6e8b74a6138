"""Pages: the metrics dashboard with exports and settings, and the owner's daily inspection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.care.selectors import promises_due_on
from kefu.core.durations import format_duration
from kefu.core.spreadsheets import spreadsheet_response
from kefu.metrics import charts, config, exports, labels, refresh, selectors
from kefu.metrics.models import FxRate
from kefu.metrics.selectors import Report


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


# The totals table: (figure, is a rate).
COMPARED = (
    ("reception_count", False),
    ("replied_buyers", False),
    ("messages_received", False),
    ("messages_replied", False),
    ("replied_24h", False),
    ("reply_rate_24h", True),
    ("reply_rate", True),
    ("consult_conversion_rate", True),
    ("placed_buyers", False),
    ("placed_conversion_rate", True),
    ("guided_gmv", False),
    ("first_response_seconds", False),
    ("first_response_business_seconds", False),
    ("average_response_seconds", False),
    ("resolution_seconds", False),
    ("refund_dispute_rate", True),
    ("automation_share", True),
)


def _change(key: str, now: Any, before: Any, is_rate: bool) -> str | None:
    if now is None or before is None:
        return None
    a, b = Decimal(str(now)), Decimal(str(before))
    if is_rate:
        return f"{(a - b) * 100:+.1f} pt"
    if key in labels.DURATIONS:
        # A time reads as how much longer or shorter it got: "+5 min", "-1 h 10 min".
        return ("+" if a >= b else "") + format_duration(float(a - b))
    if b:
        return f"{(a - b) / b * 100:+.1f}%"
    return None


def _compare(report: Report) -> list[dict[str, Any]]:
    out = []
    for key, is_rate in COMPARED:
        now, before = report.total[key], report.previous[key]
        out.append(
            {
                "key": key,
                "label": labels.label(key),
                "zh": labels.chinese_term(key),
                "now": now,
                "before": before,
                "change": _change(key, now, before, is_rate),
                "is_rate": is_rate,
                "is_duration": key in labels.DURATIONS,
            }
        )
    return out


# Kefu's people-only figure beside the seller centre's, which counts automatic replies.
RECONCILE = (
    ("reply_rate_24h", "reply_rate_24h_with_auto"),
    ("reply_rate", "reply_rate_with_auto"),
)


def _reconcile(report: Report) -> list[dict[str, Any]]:
    return [
        {
            "label": labels.label(people),
            "zh": labels.chinese_term(people),
            "people": report.total[people],
            "with_auto": report.total[with_auto],
        }
        for people, with_auto in RECONCILE
    ]


@shop_view()
@require_GET
def dashboard(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    end = _date(request.GET.get("to"), selectors.today(shop))
    start = _date(request.GET.get("from"), end - dt.timedelta(days=6))
    by = request.GET.get("by", "agent")
    if by not in selectors.BY_CHOICES:
        by = "agent"
    # Without a worker (or right after its pause) the page computes what is missing itself.
    refresh.catch_up(shop=shop)
    try:
        report = selectors.report_for(user, start=start, end=end, by=by)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        start, end = end - dt.timedelta(days=6), end
        report = selectors.report_for(user, start=start, end=end, by=by)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        header, rows = exports.report_table(report)
        name = f"kefu-metrics-{shop.slug}-{start}-{end}-by-{by}"
        return spreadsheet_response(
            fmt=export, header=header, rows=rows, name=name, title=f"by {by}"
        )
    sees_all = selectors.sees_all(user)
    chart = charts.chart_data(report)
    return render(
        request,
        "metrics/dashboard.html",
        {
            "report": report,
            "compare": _compare(report),
            "reconcile": _reconcile(report),
            "chart": chart,
            "chart_rows": charts.table_rows(chart),
            "by": by,
            "sees_all": sees_all,
            "query": f"from={start}&to={end}&by={by}",
            "settings": config.metrics_settings(shop=shop) if sees_all else None,
            "rates": FxRate.objects.filter(shop=shop) if sees_all else [],
        },
    )


@shop_view()
@require_POST
def settings_form(request: ShopRequest) -> HttpResponse:
    user = request.user
    rates: dict[str, Decimal] = {}
    currency = request.POST.get("rate_currency", "").strip()
    if currency:
        try:
            rates[currency] = Decimal(request.POST.get("rate_value", ""))
        except InvalidOperation:
            messages.error(request, _("A rate is a number."))
            return redirect("metrics_dashboard")
    slow = request.POST.get("slow_reply_minutes", "").strip()
    try:
        config.set_reporting(
            actor=user,
            reporting_currency=request.POST.get("reporting_currency") or None,
            rates=rates,
            slow_reply_minutes=int(slow) if slow.isdigit() else None,
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Saved. Figures are recomputed within a minute."))
    return redirect("metrics_dashboard")


@shop_view(capability=Capability.SEE_ALL)
@require_GET
def inspection(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    day = _date(request.GET.get("date"), selectors.today(shop))
    data = selectors.inspection(user, day=day)
    as_of, promises = promises_due_on(user, day=day)
    return render(
        request,
        "metrics/inspection.html",
        {
            "data": data,
            # Promises as they stood at the end of the inspected day.
            "promises": promises,
            "promises_as_of": as_of,
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
        },
    )
