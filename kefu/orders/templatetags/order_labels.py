"""Human labels for order flags and order history rows, in the reader's language."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.translation import gettext

from kefu.orders.models import OrderEventKind, OrderFlag, OrderStatus, TrackingStatus

register = template.Library()

EVENT_LABELS = dict(OrderEventKind.choices)


@register.filter
def flag_label(flag: str) -> str:
    """`oversold` → "Oversold 超卖" (English UI) or "超卖" (Chinese UI)."""
    return str(dict(OrderFlag.choices).get(flag, flag.replace("_", " ")))


@register.filter
def order_event_text(event: Any) -> str:
    """One history row: what happened, with the facts it recorded."""
    data = event.data or {}
    label = str(EVENT_LABELS.get(event.kind, event.kind.replace("_", " ")))
    statuses = dict(OrderStatus.choices)
    tracking = dict(TrackingStatus.choices)
    detail = ""
    if event.kind == "status_changed" and data.get("after"):
        before = data.get("before")
        after = str(statuses.get(data["after"], data["after"]))
        detail = f"{statuses.get(before, before)} → {after}" if before else after
    elif event.kind in ("flag_added", "flag_cleared") and data.get("flag"):
        detail = flag_label(data["flag"])
    elif event.kind == "parcel_added":
        detail = " ".join(str(v) for v in (data.get("carrier"), data.get("tracking_number")) if v)
        if data.get("reshipment"):
            detail += " · " + gettext("reshipment")
    elif event.kind == "parcel_status" and data.get("after"):
        detail = f"{data.get('tracking_number', '')} → {tracking.get(data['after'], data['after'])}"
    elif event.kind in ("refund_recorded", "ship_by_missed"):
        amount = data.get("amount") or data.get("penalty")
        if amount:
            detail = f"{amount} {data.get('currency', '')}".strip()
    if not detail.strip():
        return label
    return gettext("%(what)s: %(detail)s") % {"what": label, "detail": detail.strip()}
