"""Order event rows: one per state change (the order timeline and the metrics' feed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from kefu.accounts.models import User
from kefu.orders.models import Order, OrderEvent


def order_event(
    order: Order,
    kind: str,
    *,
    actor: User | None = None,
    at: dt.datetime | None = None,
    **data: Any,
) -> OrderEvent:
    """An unsaved event row; callers save it (or bulk-create many) in their transaction."""
    return OrderEvent(
        shop_id=order.shop_id,
        order=order,
        kind=kind,
        actor=actor,
        created_at=at or timezone.now(),
        data=data,
    )


def record_order_event(
    order: Order, kind: str, *, actor: User | None = None, **data: Any
) -> OrderEvent:
    event = order_event(order, kind, actor=actor, **data)
    event.save()
    return event
