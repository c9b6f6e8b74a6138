"""The signed order and tracking webhooks, and the signed-in order API."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from kefu.integrations.signing import sign
from kefu.orders.models import Order, OrderItem, Parcel, TrackingEvent

from ..conftest import login_client
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


def post_signed(path, payload, shop, *, secret=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    return Client().post(
        f"/api/v1/orders{path}",
        data=body,
        content_type="application/json",
        headers={
            "X-Kefu-Shop": shop.slug,
            "X-Kefu-Signature": sign(secret or shop.webhook_secret, body),
        },
    )


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


def test_order_api_is_scoped(shop, owner, pre_agent, rival, product):
    mine = make_order(shop, "A-1", products=[product], parcels=[("Z1", "SF")])
    hidden = make_order(shop, "A-2")

    owner_list = login_client(owner).get("/api/v1/orders")
    agent_list = login_client(pre_agent).get("/api/v1/orders")

    assert [o["external_id"] for o in owner_list.json()] == ["A-2", "A-1"]
    assert [o["external_id"] for o in agent_list.json()] == ["A-1"]
    detail = login_client(pre_agent).get(f"/api/v1/orders/{mine.pk}").json()
    assert detail["parcels"][0]["tracking_number"] == "Z1"
    assert detail["payment_state"] == "paid"
    assert login_client(pre_agent).get(f"/api/v1/orders/{hidden.pk}").status_code == 404
    assert login_client(rival).get(f"/api/v1/orders/{mine.pk}").status_code == 404
    assert Client().get("/api/v1/orders").status_code == 401


def test_refund_api_denied_changes_nothing(shop, owner, pre_agent, product):
    order = make_order(shop, "A-3", products=[product], amount="50.00")
    denied = login_client(pre_agent).post(
        f"/api/v1/orders/{order.pk}/refunds",
        data={"amount": "5", "reason": "x"},
        content_type="application/json",
    )
    assert denied.status_code == 403
    assert Order.objects.get(pk=order.pk).refunded_amount == 0

    ok = login_client(owner).post(
        f"/api/v1/orders/{order.pk}/refunds",
        data={"amount": "50.00", "reason": "lost", "channel": "paypal"},
        content_type="application/json",
    )
    assert ok.status_code == 201
    assert ok.json()["order_status"] == "refunded"
    assert Order.objects.get(pk=order.pk).refunded_amount == Decimal("50.00")


def test_incident_broadcast_over_the_api(shop, owner, pre_agent, product):
    from kefu.orders.models import IncidentBroadcast

    make_order(shop, "INC-1", buyer="ivan", parcels=[("LP-I1", "Cainiao")])
    make_order(shop, "INC-2", buyer="olga", parcels=[("LP-I2", "YunExpress")])
    body = json.dumps(
        {"title": "Hub overload", "text": "Your parcel is safe.", "carrier": "Cainiao"}
    )

    refused = login_client(pre_agent).post(
        "/api/v1/orders/incidents", data=body, content_type="application/json"
    )
    accepted = login_client(owner).post(
        "/api/v1/orders/incidents", data=body, content_type="application/json"
    )

    assert refused.status_code == 403
    assert accepted.status_code == 202
    assert accepted.json()["orders"] == 1
    assert IncidentBroadcast.objects.filter(shop=shop).count() == 1
