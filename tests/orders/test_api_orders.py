"""The signed-in orders API: scoped reads, refusals that change nothing."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client

from kefu.orders.models import Order

from ..conftest import login_client
from .factories import make_order


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
