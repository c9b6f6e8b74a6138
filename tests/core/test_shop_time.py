"""Times a seller (and the shop's buyers) read are in the shop's time zone, not UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from tests.conftest import login_client
from tests.helpers import online, post_order_signed, post_signed, routing_of

pytestmark = pytest.mark.django_db

# 01:30 UTC is 09:30 in Shanghai, the fixture shop's zone.
SENT = "2026-11-11T01:30:00+00:00"


def test_the_inbox_timeline_order_page_and_widget_show_shanghai_time(shop, owner, pre_agent):
    assert shop.timezone == "Asia/Shanghai"
    online(pre_agent)
    sent = post_signed(
        Client(),
        shop,
        {
            "external_id": "m-1",
            "buyer": {"external_id": "b-1", "name": "Ivan"},
            "entry_point": "order_detail",
            "order_external_id": "SH-1",
            "text": "Where is my parcel?",
            "sent_at": SENT,
        },
    )
    assert sent.status_code == 202, sent.content
    conv = routing_of(shop, "m-1")["conversation_id"]
    post_order_signed(
        "/inbound",
        {
            "external_id": "SH-1",
            "buyer": {"external_id": "b-1"},
            "status": "WAIT_SELLER_SEND_GOODS",
            "total_amount": "9.00",
            "paid_amount": "9.00",
            "placed_at": SENT,
            "paid_at": SENT,
        },
        shop,
    )
    boss = login_client(owner)

    timeline = boss.get(f"/inbox/{conv}/messages/").content.decode()
    order_id = boss.get("/api/v1/orders?q=SH-1").json()[0]["id"]
    order_page = boss.get(f"/orders/{order_id}/").content.decode()

    assert ">11-11 09:30<" in timeline and ">11-11 01:30<" not in timeline
    assert "2026-11-11 09:30" in order_page
    # The API keeps ISO times with their offset, in UTC: clients convert.
    message = boss.get(f"/api/v1/conversations/{conv}/messages").json()[0]
    assert dt.datetime.fromisoformat(message["sent_at"]).utcoffset() == dt.timedelta(0)


def test_the_widget_shows_the_shops_time(shop, pre_agent):
    online(pre_agent)
    buyer = Client()
    buyer.get(f"/chat/{shop.slug}/")
    buyer.post(f"/chat/{shop.slug}/send/", {"text": "Hello"})

    page = buyer.get(f"/chat/{shop.slug}/").content.decode()

    now_in_shanghai = dt.datetime.now(dt.UTC) + dt.timedelta(hours=8)
    assert now_in_shanghai.strftime("%H:%M") in page or (
        (now_in_shanghai - dt.timedelta(minutes=1)).strftime("%H:%M") in page
    )
