"""Parcel alerts under time travel: stalled parcels and parcels waiting for pickup."""

from __future__ import annotations

import datetime as dt

import time_machine

from kefu.conversations.models import ConversationEvent, Message
from kefu.orders import config, parcel_alerts
from kefu.orders.models import OrderSettings, ParcelAlert, ParcelAlertKind
from kefu.orders.tracking import TrackingInput, record_tracking

from .factories import make_order

UTC = dt.UTC

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def reminders():
    return Message.objects.filter(payload__automation="payment_reminder")


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
