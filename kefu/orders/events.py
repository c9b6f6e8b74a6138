"""Order event rows (the order timeline and the metrics' feed): one writer per `OrderEventKind`.

This module is the only code that creates `OrderEvent` rows, so a kind's data always has the
same shape. A writer stores its row at once, or adds it to an `EventBatch` (the upsert path,
whose orders get their ids after their events are known).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from django.utils import timezone

from kefu.accounts.models import User
from kefu.core.db.bulk import Table
from kefu.orders.models import Order, OrderEvent, OrderEventKind

# kind -> its writer; filled by `_writes` so a test can check each kind has exactly one.
WRITERS: dict[str, Callable[..., None]] = {}

_Writer = TypeVar("_Writer", bound=Callable[..., None])


def _writes(kind: OrderEventKind) -> Callable[[_Writer], _Writer]:
    def register(writer: _Writer) -> _Writer:
        if kind.value in WRITERS:
            raise RuntimeError(f"order event kind {kind.value} has two writers")
        WRITERS[kind.value] = writer
        return writer

    return register


class PendingOrder(Protocol):
    """An order as the upsert path holds it: its id may come after its events."""

    @property
    def id(self) -> int | None: ...


class EventBatch:
    """A chunk's events, written in one INSERT by `write` once every order has its id; all of
    them carry the chunk's `now`."""

    _TABLE = Table(OrderEvent)

    def __init__(self, *, shop_id: int, now: dt.datetime) -> None:
        self.shop_id = shop_id
        self.now = now
        self._rows: list[tuple[PendingOrder, str, dict[str, Any], int | None]] = []

    def add(self, order: PendingOrder, kind: str, data: dict[str, Any], actor: User | None) -> None:
        self._rows.append((order, kind, data, actor.pk if actor else None))

    def write(self) -> None:
        self._TABLE.insert(
            ("shop_id", "order_id", "kind", "data", "actor_id", "created_at"),
            [
                (self.shop_id, order.id, kind, data, actor_id, self.now)
                for order, kind, data, actor_id in self._rows
            ],
            now=self.now,
        )


def _write(
    order: Order | PendingOrder,
    kind: OrderEventKind,
    data: dict[str, Any],
    *,
    actor: User | None = None,
    batch: EventBatch | None = None,
) -> None:
    if batch is not None:
        batch.add(order, kind.value, data, actor)
        return
    if not isinstance(order, Order):
        raise TypeError("an order without a model instance is written through an EventBatch")
    OrderEvent.objects.create(
        shop_id=order.shop_id,
        order=order,
        kind=kind.value,
        actor=actor,
        created_at=timezone.now(),
        data=data,
    )


@_writes(OrderEventKind.CREATED)
def created(order: PendingOrder, *, status: str, source: str, batch: EventBatch) -> None:
    _write(order, OrderEventKind.CREATED, {"status": status, "source": source}, batch=batch)


@_writes(OrderEventKind.STATUS_CHANGED)
def status_changed(
    order: Order | PendingOrder,
    *,
    before: str,
    after: str,
    reason: str | None = None,
    platform_status: str | None = None,
    late: bool | None = None,
    actor: User | None = None,
    batch: EventBatch | None = None,
) -> None:
    """`reason` says what moved it (tracking, refund, parcel_added); a source's update says
    the `platform_status` it reported instead."""
    data: dict[str, Any] = {"before": before, "after": after}
    if platform_status is not None:
        data["platform_status"] = platform_status
    if reason is not None:
        data["reason"] = reason
    if late is not None:
        data["late"] = late
    _write(order, OrderEventKind.STATUS_CHANGED, data, actor=actor, batch=batch)


@_writes(OrderEventKind.FLAG_ADDED)
def flag_added(
    order: Order | PendingOrder,
    *,
    flag: str,
    actor: User | None = None,
    batch: EventBatch | None = None,
) -> None:
    _write(order, OrderEventKind.FLAG_ADDED, {"flag": flag}, actor=actor, batch=batch)


@_writes(OrderEventKind.FLAG_CLEARED)
def flag_cleared(order: Order, *, flag: str, actor: User) -> None:
    _write(order, OrderEventKind.FLAG_CLEARED, {"flag": flag}, actor=actor)


@_writes(OrderEventKind.PARCEL_ADDED)
def parcel_added(
    order: Order | PendingOrder,
    *,
    tracking_number: str,
    carrier: str,
    reshipment: bool | None = None,
    replaces: int | None = None,
    actor: User | None = None,
    batch: EventBatch | None = None,
) -> None:
    """An agent's parcel (`reshipment` given) also records which parcel it `replaces`."""
    data: dict[str, Any] = {"tracking_number": tracking_number, "carrier": carrier}
    if reshipment is not None:
        data["reshipment"] = reshipment
        data["replaces"] = replaces
    _write(order, OrderEventKind.PARCEL_ADDED, data, actor=actor, batch=batch)


@_writes(OrderEventKind.PARCEL_STATUS)
def parcel_status(
    order: Order, *, parcel_id: int, tracking_number: str, before: str, after: str
) -> None:
    _write(
        order,
        OrderEventKind.PARCEL_STATUS,
        {
            "parcel_id": parcel_id,
            "tracking_number": tracking_number,
            "before": before,
            "after": after,
        },
    )


@_writes(OrderEventKind.REFUND_RECORDED)
def refund_recorded(
    order: Order,
    *,
    actor: User,
    refund_id: int,
    amount: Decimal,
    currency: str,
    channel: str,
    refund_kind: str,
    logistics_dispute: bool,
) -> None:
    _write(
        order,
        OrderEventKind.REFUND_RECORDED,
        {
            "refund_id": refund_id,
            "amount": str(amount),
            "currency": currency,
            "channel": channel,
            "refund_kind": refund_kind,
            "logistics_dispute": logistics_dispute,
        },
        actor=actor,
    )


@_writes(OrderEventKind.PAYMENT_REMINDED)
def payment_reminded(
    order: Order, *, conversation_id: int, message_id: int | None, language: str
) -> None:
    _write(
        order,
        OrderEventKind.PAYMENT_REMINDED,
        {"conversation_id": conversation_id, "message_id": message_id, "language": language},
    )


@_writes(OrderEventKind.SHIP_BY_MISSED)
def ship_by_missed(order: Order, *, ship_by: dt.datetime, penalty: Decimal, currency: str) -> None:
    _write(
        order,
        OrderEventKind.SHIP_BY_MISSED,
        {"ship_by": ship_by.isoformat(), "penalty": str(penalty), "currency": currency},
    )


@_writes(OrderEventKind.PARCEL_STALLED_ALERT)
def parcel_stalled_alert(order: Order, *, parcel_id: int, conversation_id: int) -> None:
    _write(
        order,
        OrderEventKind.PARCEL_STALLED_ALERT,
        {"parcel_id": parcel_id, "conversation_id": conversation_id},
    )


@_writes(OrderEventKind.PARCEL_PICKUP_ALERT)
def parcel_pickup_alert(order: Order, *, parcel_id: int, conversation_id: int) -> None:
    _write(
        order,
        OrderEventKind.PARCEL_PICKUP_ALERT,
        {"parcel_id": parcel_id, "conversation_id": conversation_id},
    )


@_writes(OrderEventKind.INCIDENT_NOTIFIED)
def incident_notified(order: Order, *, broadcast_id: int) -> None:
    _write(order, OrderEventKind.INCIDENT_NOTIFIED, {"broadcast_id": broadcast_id})
