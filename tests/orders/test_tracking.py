"""Carrier tracking: events stored once, parcels and orders moved on, the ask-to-pay duty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from kefu.orders import actions, tracking
from kefu.orders.models import Order, OrderFlag, OrderStatus, Parcel, TrackingEvent
from kefu.orders.tracking import TrackingInput, record_tracking

from .factories import make_order

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=dt.UTC)


def ev(status, days, **kw):
    return TrackingInput(status=status, occurred_at=T0 + dt.timedelta(days=days), **kw)


def test_tracking_events_move_parcel_and_order_and_are_idempotent(shop):
    make_order(shop, "O-1", parcels=[("A1", "Cainiao"), ("A2", "Cainiao")])
    events = [ev("InfoReceived", 1, event_id="e1"), ev("InTransit", 2, event_id="e2")]

    first = record_tracking(shop=shop, tracking_number="A1", events=events)
    again = record_tracking(shop=shop, tracking_number="A1", events=events)

    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates) == (0, 2)
    assert TrackingEvent.objects.count() == 2
    order = Order.objects.get(external_id="O-1")
    assert order.status == OrderStatus.SHIPPED
    assert OrderFlag.SPLIT in order.flags

    record_tracking(shop=shop, tracking_number="A1", events=[ev("Delivered", 5)])
    assert Order.objects.get(external_id="O-1").status == OrderStatus.SHIPPED  # A2 still out
    record_tracking(shop=shop, tracking_number="A2", events=[ev("已签收", 6)])
    order = Order.objects.get(external_id="O-1")
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_at == T0 + dt.timedelta(days=6)


def test_out_of_order_tracking_events_keep_the_latest_status(shop):
    make_order(shop, "O-2", parcels=[("B1", "")])
    record_tracking(shop=shop, tracking_number="B1", events=[ev("OutForDelivery", 4)])
    record_tracking(shop=shop, tracking_number="B1", events=[ev("InTransit", 2)])
    parcel = Parcel.objects.get(tracking_number="B1")
    assert parcel.status == "out_for_delivery"
    assert parcel.last_event_at == T0 + dt.timedelta(days=4)


def test_unknown_tracking_status_stores_nothing(shop):
    make_order(shop, "O-3", parcels=[("C1", "")])
    with pytest.raises(ValidationError):
        record_tracking(
            shop=shop, tracking_number="C1", events=[ev("InTransit", 1), ev("Teleported", 2)]
        )
    assert not TrackingEvent.objects.exists()


def test_unknown_parcel_is_created_only_for_a_known_order(shop):
    make_order(shop, "O-4")
    with pytest.raises(tracking.UnknownParcel):
        record_tracking(shop=shop, tracking_number="NEW", events=[ev("InTransit", 1)])
    outcome = record_tracking(
        shop=shop,
        tracking_number="NEW",
        order_external_id="O-4",
        carrier="YTO",
        events=[ev("InTransit", 1)],
    )
    assert outcome.parcel.order.external_id == "O-4"
    assert outcome.order_status_after == OrderStatus.SHIPPED


def test_dispute_refund_then_delivery_raises_the_ask_to_pay_duty(shop, owner):
    order = make_order(shop, "R-3", parcels=[("D1", "Cainiao")])
    record_tracking(shop=shop, tracking_number="D1", events=[ev("InTransit", 1)])
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        actions.record_refund(
            actor=owner,
            order=order,
            amount=Decimal("100"),
            reason="parcel lost",
            logistics_dispute=True,
        )
    # A delivery scan from before the refund does not raise the duty...
    record_tracking(shop=shop, tracking_number="D1", events=[ev("OutForDelivery", 20)])
    assert OrderFlag.ASK_BUYER_TO_PAY not in Order.objects.get(pk=order.pk).flags
    # ...the parcel arriving after it does.
    record_tracking(shop=shop, tracking_number="D1", events=[ev("Delivered", 40)])
    order.refresh_from_db()
    assert {
        OrderFlag.REFUNDED,
        OrderFlag.LOGISTICS_DISPUTE_REFUND,
        OrderFlag.ASK_BUYER_TO_PAY,
    } <= set(order.flags)
    assert order.status == OrderStatus.REFUNDED  # delivery never undoes the refund
