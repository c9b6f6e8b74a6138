"""Pages: the metrics dashboard with exports and settings, and the owner's daily inspection."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.core.spreadsheets import spreadsheet_response
from kefu.metrics import config, exports, refresh, selectors
from kefu.metrics.models import FxRate
from kefu.metrics.selectors import Report


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


def _chart(report: Report) -> dict[str, Any]:
    """An inline SVG of reception count (bars) and 24 h reply rate (line) per day."""
    days = report.rows if report.by == "day" else report.daily
    width, height, pad = 720, 180, 24
    top = max([r.figures["reception_count"] for r in days] + [1])
    step = (width - 2 * pad) / max(len(days), 1)
    bars, points = [], []
    for i, r in enumerate(days):
        h = (height - 2 * pad) * r.figures["reception_count"] / top
        x = pad + i * step
        bars.append(
            {
                "x": round(x + step * 0.15, 1),
                "y": round(height - pad - h, 1),
                "w": round(step * 0.7, 1),
                "h": round(h, 1),
                "label": r.label,
                "value": r.figures["reception_count"],
                "rate": r.figures["reply_rate_24h"],
            }
        )
        rate = r.figures["reply_rate_24h"]
        if rate is not None:
            y = height - pad - (height - 2 * pad) * rate
            points.append(f"{x + step / 2:.1f},{y:.1f}")
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "line": " ".join(points),
        "top": top,
        "base": height - pad,
        "first": days[0].label if days else "",
        "last": days[-1].label if days else "",
    }


COMPARED = (
    ("reception_count", "Reception count", "接待人数", False),
    ("replied_buyers", "Replied buyers", "回复人数", False),
    ("messages_received", "Messages received", "收到消息数", False),
    ("messages_replied", "Messages replied", "回复消息数", False),
    ("replied_24h", "24 h replied messages", "24H回复量", False),
    ("reply_rate_24h", "24 h reply rate", "24H回复率", True),
    ("reply_rate", "Reply rate", "回复率", True),
    ("consult_conversion_rate", "Consult conversion rate", "咨询转化率", True),
    ("placed_buyers", "Buyers guided to place an order", "引导下单人数", False),
    ("placed_conversion_rate", "Placed-order conversion rate", "下单转化率", True),
    ("guided_gmv", "Guided GMV", "引导下单GMV", False),
    ("first_response_seconds", "First response time (s)", "首次响应时间", False),
    (
        "first_response_business_seconds",
        "First response, business hours (s)",
        "首次响应时间（工作时间）",
        False,
    ),
    ("average_response_seconds", "Average response time (s)", "平均响应时间", False),
    ("resolution_seconds", "Resolution time (s)", "解决时长", False),
    ("refund_dispute_rate", "Refund-dispute rate", "退款纠纷率", True),
    ("automation_share", "Automation share", "自动化占比", True),
)


def _compare(report: Report) -> list[dict[str, Any]]:
    out = []
    for key, label, zh, is_rate in COMPARED:
        now, before = report.total[key], report.previous[key]
        change = None
        if now is not None and before is not None:
            a, b = Decimal(str(now)), Decimal(str(before))
            if is_rate:
                change = f"{(a - b) * 100:+.1f} pt"
            elif b:
                change = f"{(a - b) / b * 100:+.1f}%"
        # The sellers' own Chinese names are the labels of the Chinese interface.
        chinese = get_language() == "zh-hans"
        out.append(
            {
                "key": key,
                "label": zh if chinese and zh else _(label),
                "zh": "" if chinese else zh,
                "now": now,
                "before": before,
                "change": change,
                "is_rate": is_rate,
            }
        )
    return out


# Kefu's people-only figure beside the seller centre's, which counts automatic replies.
RECONCILE = (
    ("reply_rate_24h", "reply_rate_24h_with_auto", "24 h reply rate", "24H回复率"),
    ("reply_rate", "reply_rate_with_auto", "Reply rate", "回复率"),
)


def _reconcile(report: Report) -> list[dict[str, Any]]:
    chinese = get_language() == "zh-hans"
    return [
        {
            "label": zh if chinese else _(label),
            "zh": "" if chinese else zh,
            "people": report.total[people],
            "with_auto": report.total[with_auto],
        }
        for people, with_auto, label, zh in RECONCILE
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
    return render(
        request,
        "metrics/dashboard.html",
        {
            "report": report,
            "compare": _compare(report),
            "reconcile": _reconcile(report),
            "chart": _chart(report),
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
    return render(
        request,
        "metrics/inspection.html",
        {
            "data": data,
            "day": day,
            "previous_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
        },
    )
