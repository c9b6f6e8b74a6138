"""Scheduled jobs under time travel: payment reminders, late-shipment scan, parcel alerts."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from kefu.conversations.models import ConversationEvent, Direction, Message, Outbox
from kefu.orders import actions, config, parcel_alerts, risk
from kefu.orders.models import (
    LateShipment,
    Order,
    OrderFlag,
    OrderSettings,
    ParcelAlert,
    ParcelAlertKind,
)
from kefu.orders.reminders import send_payment_reminders
from kefu.orders.selectors import risk_board
from kefu.orders.tracking import TrackingInput, record_tracking

from .factories import make_order

UTC = dt.UTC
T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def reminders():
    return Message.objects.filter(payload__automation="payment_reminder")


def test_payment_reminder_waits_for_the_delay_and_is_sent_once(shop):
    make_order(shop, "U-1", buyer="ivan", status="placed", placed_at=T0, language="ru")

    with time_machine.travel(T0 + dt.timedelta(minutes=59), tick=False):
        assert send_payment_reminders(shop=shop) == 0
    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        assert send_payment_reminders(shop=shop) == 1
        assert send_payment_reminders(shop=shop) == 0

    message = reminders().get()
    assert message.direction == Direction.AUTO
    assert message.text.startswith("Здравствуйте, Ivan!")
    assert "U-1" in message.text
    assert message.conversation.group == "pre_sale"
    assert Outbox.objects.filter(message=message).count() == 1
    order = Order.objects.get(external_id="U-1")
    assert order.payment_reminded_at == T0 + dt.timedelta(minutes=61)
    assert order.events.filter(kind="payment_reminded").count() == 1


def test_payment_reminder_never_in_quiet_hours_of_the_shop_zone(shop):
    placed = dt.datetime(2024, 11, 11, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai
    make_order(shop, "U-2", buyer="li", status="placed", placed_at=placed, language="zh-CN")

    with time_machine.travel(dt.datetime(2024, 11, 11, 14, 45, tzinfo=UTC), tick=False):
        assert send_payment_reminders(shop=shop) == 0  # 22:45 Shanghai
    with time_machine.travel(dt.datetime(2024, 11, 11, 23, 59, tzinfo=UTC), tick=False):
        assert send_payment_reminders(shop=shop) == 0  # 07:59 Shanghai
    with time_machine.travel(dt.datetime(2024, 11, 12, 0, 1, tzinfo=UTC), tick=False):
        assert send_payment_reminders(shop=shop) == 1  # 08:01 Shanghai
    assert reminders().get().text.startswith("亲爱的Li")


def test_payment_reminder_skips_paid_and_stale_orders_and_other_shops(shop, other_shop):
    make_order(shop, "PAID", status="paid", placed_at=T0)
    make_order(shop, "OLD", buyer="old", status="placed", placed_at=T0 - dt.timedelta(days=3))
    make_order(other_shop, "THEIRS", buyer="x", status="placed", placed_at=T0)

    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert send_payment_reminders(shop=shop) == 0
    assert not reminders().exists()


def test_payment_reminders_can_be_switched_off(shop):
    make_order(shop, "U-3", status="placed", placed_at=T0)
    config.default_order_settings(shop=shop).save()
    OrderSettings.objects.filter(shop=shop).update(payment_reminder_enabled=False)
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert send_payment_reminders(shop=shop) == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reminder_runs_send_one_reminder(shop):
    for n in range(5):
        make_order(shop, f"C-{n}", buyer=f"b{n}", status="placed", placed_at=T0)
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(send_payment_reminders(shop=shop, now=T0 + dt.timedelta(hours=2)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(results) == 5
    assert reminders().count() == 5
    assert Outbox.objects.count() == 5


def test_risk_board_shows_time_left_and_exposure_then_records_the_miss(other_shop):
    # A Tmall shop (CNY): 30 % of the amount actually paid, at most 500 yuan.
    paid_at = T0
    make_order(other_shop, "TM-1", buyer="a", amount="2000.00", placed_at=T0, paid_at=paid_at)
    make_order(other_shop, "TM-2", buyer="b", amount="100.00", placed_at=T0, paid_at=paid_at)
    make_order(
        other_shop,
        "TM-LATER",
        buyer="c",
        amount="100.00",
        placed_at=T0,
        paid_at=T0 + dt.timedelta(hours=30),
    )

    at = paid_at + dt.timedelta(hours=61)
    with time_machine.travel(at, tick=False):
        board = risk_board(shop=other_shop)
        result = risk.scan_late_shipments(shop=other_shop)
    assert [(r.order.external_id, r.hours_left, r.exposure) for r in board] == [
        ("TM-1", 11.0, Decimal("500")),
        ("TM-2", 11.0, Decimal("30.00")),
    ]
    assert (result.at_risk, result.missed) == (2, 0)
    assert not LateShipment.objects.exists()

    with time_machine.travel(paid_at + dt.timedelta(hours=73), tick=False):
        first = risk.scan_late_shipments(shop=other_shop)
        second = risk.scan_late_shipments(shop=other_shop)
    assert (first.missed, second.missed) == (2, 0)
    assert sorted(LateShipment.objects.values_list("order__external_id", "penalty")) == [
        ("TM-1", Decimal("500.00")),
        ("TM-2", Decimal("30.00")),
    ]
    assert OrderFlag.LATE_SHIPMENT in Order.objects.get(external_id="TM-1").flags


def test_shipping_in_time_takes_the_order_off_the_board(other_shop, rival):
    order = make_order(other_shop, "TM-3", buyer="a", amount="50.00", placed_at=T0)
    with time_machine.travel(T0 + dt.timedelta(hours=70), tick=False):
        actions.add_parcel(actor=rival, order=order, tracking_number="SF1", carrier="SF")
        assert risk_board(shop=other_shop) == []
    with time_machine.travel(T0 + dt.timedelta(hours=80), tick=False):
        assert risk.scan_late_shipments(shop=other_shop).missed == 0


def _notes():
    return ConversationEvent.objects.filter(kind="note")


def test_stalled_parcel_alert_notes_the_conversation_once_per_stall(shop):
    order = make_order(
        shop, "S-1", buyer="maria", placed_at=T0, language="es", parcels=[("LP1", "Cainiao")]
    )
    config.default_order_settings(shop=shop).save()
    OrderSettings.objects.filter(shop=shop).update(
        tracking_url_templates={"cainiao": "https://track.example/{number}"}
    )
    record_tracking(
        shop=shop,
        tracking_number="LP1",
        events=[
            TrackingInput(
                status="InTransit",
                occurred_at=T0 + dt.timedelta(days=1),
                description="Departed Shenzhen",
            )
        ],
    )

    with time_machine.travel(T0 + dt.timedelta(days=7, hours=23), tick=False):
        assert parcel_alerts.alert_parcels(shop=shop) == 0
    with time_machine.travel(T0 + dt.timedelta(days=8, hours=1), tick=False):
        assert parcel_alerts.alert_parcels(shop=shop) == 1
        assert parcel_alerts.alert_parcels(shop=shop) == 0

    alert = ParcelAlert.objects.get()
    assert alert.kind == ParcelAlertKind.STALLED
    assert alert.suggested_reply.startswith("Hola Maria")
    assert "https://track.example/LP1" in alert.suggested_reply
    note = _notes().get()
    assert note.conversation_id == alert.conversation_id
    assert note.conversation.group == "after_sale"
    assert note.data["alert"] == "parcel_stalled"
    assert note.data["order_id"] == order.pk
    assert "7 days" in note.data["text"]
    # Nothing was sent to the buyer: the agent decides.
    assert not Message.objects.exists()

    # News arrives, then the parcel stalls again: a second alert for the new episode.
    record_tracking(
        shop=shop,
        tracking_number="LP1",
        events=[TrackingInput(status="at customs", occurred_at=T0 + dt.timedelta(days=9))],
    )
    with time_machine.travel(T0 + dt.timedelta(days=16, hours=1), tick=False):
        assert parcel_alerts.alert_parcels(shop=shop) == 1
    assert ParcelAlert.objects.count() == 2


def test_parcel_waiting_for_pickup_is_noted_and_delivered_parcels_are_not(shop):
    make_order(shop, "S-2", buyer="bob", placed_at=T0, parcels=[("PK1", "PostNL")])
    make_order(shop, "S-3", buyer="amy", placed_at=T0, parcels=[("DL1", "DHL")])
    record_tracking(
        shop=shop,
        tracking_number="PK1",
        events=[TrackingInput(status="AvailableForPickup", occurred_at=T0 + dt.timedelta(days=5))],
    )
    record_tracking(
        shop=shop,
        tracking_number="DL1",
        events=[TrackingInput(status="Delivered", occurred_at=T0 + dt.timedelta(days=2))],
    )

    with time_machine.travel(T0 + dt.timedelta(days=5, hours=2), tick=False):
        assert parcel_alerts.alert_parcels(shop=shop) == 1
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        # Still waiting at the pickup point 25 days later: the stall alert follows once.
        assert parcel_alerts.alert_parcels(shop=shop) == 1
        assert parcel_alerts.alert_parcels(shop=shop) == 0
    assert sorted(ParcelAlert.objects.values_list("parcel__tracking_number", "kind")) == [
        ("PK1", "pickup"),
        ("PK1", "stalled"),
    ]
