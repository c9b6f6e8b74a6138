"""Order and tracking webhooks are also served beside the message webhook (/api/v1/inbound/)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.integrations.signing import signed_headers
from kefu.orders.models import Order, Parcel

pytestmark = pytest.mark.django_db

ORDER = {
    "external_id": "WH-9",
    "buyer": {"external_id": "es_maria", "name": "María"},
    "status": "WAIT_SELLER_SEND_GOODS",
    "currency": "USD",
    "paid_amount": "12.00",
    "placed_at": "2026-11-11T01:00:00+00:00",
    "paid_at": "2026-11-11T01:05:00+00:00",
}


def post(shop, path, payload, secret=None):
    body = json.dumps(payload).encode()
    return Client().post(
        f"/api/v1/inbound/{path}",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=secret or shop.webhook_secret, body=body),
    )


def test_order_and_tracking_through_the_inbound_paths(shop):
    assert post(shop, "orders", ORDER).status_code == 201
    assert post(shop, "orders", ORDER).status_code == 200
    tracking = {
        "tracking_number": "RR1CN",
        "carrier": "China Post",
        "order_external_id": "WH-9",
        "events": [{"status": "in_transit", "occurred_at": "2026-11-12T08:00:00+00:00"}],
    }
    assert post(shop, "tracking", tracking).status_code in (200, 201)
    assert Order.objects.get(external_id="WH-9").paid_amount == 12
    assert Parcel.objects.get(tracking_number="RR1CN").status == "in_transit"


def test_bad_signature_on_the_alias_stores_nothing(shop):
    assert post(shop, "orders", ORDER, secret="wrong").status_code == 401
    assert not Order.objects.exists()
