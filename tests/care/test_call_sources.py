"""Calls from revisits and the risk board (R-42): a buyer of the revisit table becomes a
call once per order and product, for the sub-account of the product; a late-shipment call refused
or unanswered stays marked on the risk board."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from kefu.care.calls import log_call
from kefu.care.models import CallReason, CallTask
from kefu.care.watch import watch_shop
from kefu.catalog.models import Product
from kefu.orders.models import Order
from tests.care.test_reviews import _delivered
from tests.conftest import login_client
from tests.helpers import post_order_signed

pytestmark = pytest.mark.django_db


def test_a_revisit_becomes_a_call_once(shop, owner, pre_agent, after_agent, product):
    Product.objects.filter(pk=product.pk).update(usage_cycle_days=30)
    _delivered(shop, "AE-R", "P-100", "vera", days_ago=28)  # runs out in about 2 days
    order = Order.objects.get(shop=shop, external_id="AE-R")
    form = {"order": order.pk, "product": product.pk, "way": "call"}

    page = login_client(pre_agent).get("/care/revisits/")
    assert "vera" in page.content.decode()
    made = login_client(pre_agent).post("/care/revisits/act/", form)
    again = login_client(pre_agent).post(
        "/api/v1/care/revisits/call",
        data=json.dumps({"order_id": order.pk, "product_id": product.pk}),
        content_type="application/json",
    )
    # Max serves neither the product nor the buyer: not his revisit.
    refused = login_client(after_agent).post("/care/revisits/act/", form)

    assert made.status_code == 302 and made["Location"].endswith("/care/revisits/")
    assert again.status_code == 400  # already revisited: one call per order and product
    assert refused.status_code == 404
    task = CallTask.objects.get(reason=CallReason.REVISIT)
    assert task.order.external_id == "AE-R" and task.buyer_id == order.buyer_id
    assert task.call_by > timezone.now()
    calls = login_client(pre_agent).get("/api/v1/care/calls").json()
    assert [c["reason"] for c in calls] == ["revisit"]


def test_a_refused_late_shipment_call_stays_marked_on_the_risk_board(shop, owner, product):
    paid = timezone.now() - dt.timedelta(hours=66)  # ship-by (72 h) in 6 h
    response = post_order_signed(
        "/inbound",
        {
            "external_id": "LATE-1",
            "buyer": {"external_id": "b-late", "name": "Olga"},
            "status": "WAIT_SELLER_SEND_GOODS",
            "currency": "USD",
            "total_amount": "30.00",
            "paid_amount": "30.00",
            "placed_at": paid.isoformat(),
            "paid_at": paid.isoformat(),
            "items": [{"product_external_id": "P-100", "quantity": 1, "unit_price": "30"}],
        },
        shop,
    )
    assert response.status_code == 201
    watch_shop(shop=shop)
    task = CallTask.objects.get(reason=CallReason.LATE_SHIPMENT)
    board = login_client(owner).get("/orders/risk/").content.decode()
    assert f'data-call-mark="{task.order_id}"' not in board

    log_call(actor=owner, task=task, outcome="refused", note="Wants it on time")

    board = login_client(owner).get("/orders/risk/").content.decode()
    assert "LATE-1" in board and f'data-call-mark="{task.order_id}"' in board
    assert "Refused" in board or "拒绝" in board
    log_call(actor=owner, task=task, outcome="agreed")
    board = login_client(owner).get("/orders/risk/").content.decode()
    assert "LATE-1" in board and f'data-call-mark="{task.order_id}"' not in board
