"""The signed order and tracking webhooks."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import pytest
from django.test import Client

from kefu.integrations.signing import signed_headers
from kefu.orders.models import Order, OrderItem, Parcel, TrackingEvent
from tests.helpers import post_order_signed as post_signed

from .factories import make_order

ORDER = {
    "external_id": "WH-1",
    "buyer": {"external_id": "ru_ivan", "name": "Ivan", "language": "ru", "country": "ru"},
    "status": "WAIT_SELLER_SEND_GOODS",
    "currency": "USD",
    "total_amount": "28.50",
    "paid_amount": "28.50",
    "placed_at": "2024-11-11T01:00:00+00:00",
    "paid_at": "2024-11-11T01:05:00+00:00",
    "items": [
        {"product_external_id": "P-100", "title": "Desk lamp", "quantity": 1, "unit_price": "28.50"}
    ],
}


def test_inbound_order_creates_then_updates_idempotently(shop, product):
    first = post_signed("/inbound", ORDER, shop)
    again = post_signed("/inbound", ORDER, shop)
    shipped = post_signed(
        "/inbound",
        {
            **ORDER,
            "status": "WAIT_BUYER_ACCEPT_GOODS",
            "parcels": [{"tracking_number": "LP9", "carrier": "Cainiao"}],
        },
        shop,
    )

    assert first.status_code == 201
    assert first.json()["status"] == "paid"
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    assert (shipped.status_code, shipped.json()["status"]) == (200, "shipped")
    order = Order.objects.get(shop=shop, external_id="WH-1")
    assert order.items.get().product == product
    assert order.buyer.country == "RU"
    assert order.parcels.get().tracking_number == "LP9"
    assert order.source == "webhook"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"secret": "wrong"}, 401),
        ({"raw": b"{not json"}, 400),
    ],
)
def test_inbound_order_rejects_bad_signature_and_bad_json(shop, kwargs, status):
    response = post_signed("/inbound", ORDER, shop, **kwargs)
    assert response.status_code == status
    assert "detail" in response.json()
    assert not Order.objects.exists()


def test_inbound_order_unknown_shop_is_401(shop):
    body = json.dumps(ORDER).encode()
    response = Client().post(
        "/api/v1/orders/inbound",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug="nope", secret="x", body=body),
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    "change",
    [
        {"status": "TELEPORTED"},
        {"total_amount": "-1"},
        {"placed_at": "2024-11-11T01:00:00"},
        {"buyer": {}},
        {"items": [{"quantity": 1}]},
    ],
)
def test_inbound_order_invalid_fields_are_400_and_store_nothing(shop, change):
    response = post_signed("/inbound", {**ORDER, **change}, shop)
    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()


def test_inbound_tracking_stores_events_once(shop):
    make_order(shop, "T-1", parcels=[("LP1", "Cainiao")])
    payload = {
        "tracking_number": "LP1",
        "events": [
            {
                "status": "InTransit",
                "occurred_at": "2024-11-12T10:00:00+08:00",
                "event_id": "a",
                "description": "Departed",
                "location": "Shenzhen",
            },
            {"status": "customs", "occurred_at": "2024-11-14T10:00:00+08:00", "event_id": "b"},
        ],
    }

    first = post_signed("/tracking/inbound", payload, shop)
    again = post_signed("/tracking/inbound", payload, shop)

    assert first.status_code == 200
    assert first.json() == {
        "parcel_id": Parcel.objects.get().pk,
        "status": "at_customs",
        "stored": 2,
        "duplicates": 0,
        "order_status": "shipped",
    }
    assert again.json()["duplicates"] == 2
    assert TrackingEvent.objects.count() == 2


def test_inbound_tracking_errors(shop):
    make_order(shop, "T-2", parcels=[("LP2", "")])
    unknown = post_signed(
        "/tracking/inbound",
        {
            "tracking_number": "NOPE",
            "events": [{"status": "InTransit", "occurred_at": "2024-11-12T10:00:00+08:00"}],
        },
        shop,
    )
    bad_status = post_signed(
        "/tracking/inbound",
        {
            "tracking_number": "LP2",
            "events": [{"status": "Vanished", "occurred_at": "2024-11-12T10:00:00+08:00"}],
        },
        shop,
    )
    naive = post_signed(
        "/tracking/inbound",
        {
            "tracking_number": "LP2",
            "events": [{"status": "InTransit", "occurred_at": "2024-11-12T10:00:00"}],
        },
        shop,
    )
    unsigned = Client().post(
        "/api/v1/orders/tracking/inbound", data=b"{}", content_type="application/json"
    )

    assert unknown.status_code == 404
    assert bad_status.status_code == 400
    assert naive.status_code == 400
    assert unsigned.status_code == 401
    assert not TrackingEvent.objects.exists()


def test_a_replayed_older_report_never_restores_old_amounts(shop, product):
    """An attacker who captured a signed request can resend it only inside the window, and
    an older report then changes nothing: the newer amounts stay."""
    now = time.time()
    old = {**ORDER, "total_amount": "28.50", "paid_amount": "28.50"}
    new = {**ORDER, "total_amount": "20.00", "paid_amount": "20.00", "refund_amount": "8.50"}
    assert post_signed("/inbound", old, shop, signed_at=now - 120).status_code == 201
    assert post_signed("/inbound", new, shop, signed_at=now - 60).status_code == 200

    replay = post_signed("/inbound", old, shop, signed_at=now - 120)

    assert (replay.status_code, replay.json()["outcome"]) == (200, "stale")
    order = Order.objects.get(shop=shop, external_id="WH-1")
    assert (order.total_amount, order.refunded_amount) == (Decimal("20.00"), Decimal("8.50"))


def test_the_marketplaces_updated_at_decides_which_report_is_newer(shop, product):
    newer = {**ORDER, "total_amount": "30.00", "updated_at": "2024-11-11T02:00:00+00:00"}
    older = {**ORDER, "total_amount": "25.00", "updated_at": "2024-11-11T01:30:00+00:00"}
    post_signed("/inbound", newer, shop)

    late = post_signed("/inbound", older, shop)

    assert late.json()["outcome"] == "stale"
    assert Order.objects.get(external_id="WH-1").total_amount == Decimal("30.00")
    future = {**ORDER, "updated_at": "2099-01-01T00:00:00+00:00"}
    refused = post_signed("/inbound", future, shop)
    assert (refused.status_code, refused.json()["detail"]) == (
        400,
        "updated_at is later than the signing time",
    )


@pytest.mark.parametrize("age", [301, -301])
def test_a_request_signed_outside_the_window_is_refused(shop, age):
    response = post_signed("/inbound", ORDER, shop, signed_at=time.time() - age)

    assert response.status_code == 401
    assert "X-Kefu-Timestamp" in response.json()["detail"]
    assert not Order.objects.exists()


def test_a_request_without_a_signing_time_is_refused(shop):
    body = json.dumps(ORDER).encode()
    headers = signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body)
    del headers["X-Kefu-Timestamp"]

    response = Client().post(
        "/api/v1/orders/inbound", data=body, content_type="application/json", headers=headers
    )

    assert response.status_code == 401
    assert not Order.objects.exists()


def test_order_and_tracking_times_with_any_offset_are_stored_not_a_500(shop):
    """Issue 10 (fuzzing): an offset PostgreSQL refuses (beyond ±15:59) was a 500 there."""
    order = post_signed(
        "/inbound",
        {**ORDER, "placed_at": "2024-11-11T01:00:00-23:09", "parcels": [{"tracking_number": "Z1"}]},
        shop,
    )
    tracking = post_signed(
        "/tracking/inbound",
        {
            "tracking_number": "Z1",
            "events": [{"status": "InTransit", "occurred_at": "2024-11-12T10:00:00+18:30"}],
        },
        shop,
    )
    beyond = post_signed("/inbound", {**ORDER, "paid_at": "9999-12-31T23:59:00-01:00"}, shop)

    assert order.status_code == 201, order.content
    assert Order.objects.get().placed_at.isoformat() == "2024-11-12T00:09:00+00:00"
    assert tracking.status_code == 200, tracking.content
    assert TrackingEvent.objects.get().occurred_at.isoformat() == "2024-11-11T15:30:00+00:00"
    assert beyond.status_code == 400
    assert [e["field"] for e in beyond.json()["errors"]] == ["paid_at"]
