"""The signed order and tracking webhooks."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.integrations.signing import sign
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
        headers={"X-Kefu-Shop": "nope", "X-Kefu-Signature": sign("x", body)},
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
