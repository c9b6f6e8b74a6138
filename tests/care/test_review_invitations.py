"""Review invitations (R-43): once per order, only after delivery, never while a complaint of
the order or its buyer is open; sent through the rule guard and the outbox; the minute watch
invites delivered orders when the shop turned it on, outside its quiet hours. Five stars are
asked on Tmall only."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.care.complaints import ComplaintChange, ComplaintInput, open_complaint, update_complaint
from kefu.care.models import ReviewInvitation
from kefu.care.watch import watch_shop
from kefu.conversations.models import Message, Outbox
from kefu.orders.models import Order
from tests.care.test_reviews import (  # noqa: F401 - fixtures
    _delivered,
    _fresh_import_group,
    tmall_shop,
)
from tests.conftest import login_client
from tests.helpers import post_order_signed, save_review_settings

pytestmark = pytest.mark.django_db


def _invite(user: User, order: Order):
    return login_client(user).post(
        "/api/v1/care/reviews/invitations",
        data=json.dumps({"order_id": order.pk}),
        content_type="application/json",
        headers={"Accept-Language": "en"},
    )


def test_an_invitation_goes_once_after_delivery_and_never_during_a_complaint(shop, owner, product):
    _delivered(shop, "AE-1", "P-100", "ivan")
    now = timezone.now()
    post_order_signed(
        "/inbound",
        {
            "external_id": "AE-PAID",
            "buyer": {"external_id": "b-olga", "name": "Olga"},
            "status": "WAIT_SELLER_SEND_GOODS",
            "currency": "USD",
            "total_amount": "10",
            "paid_amount": "10",
            "placed_at": now.isoformat(),
            "paid_at": now.isoformat(),
            "items": [{"product_external_id": "P-100", "quantity": 1, "unit_price": "10"}],
        },
        shop,
    )
    delivered = Order.objects.get(external_id="AE-1")
    paid = Order.objects.get(external_id="AE-PAID")

    not_yet = _invite(owner, paid)
    assert not_yet.status_code == 400 and "not delivered" in not_yet.json()["detail"]

    complaint = open_complaint(
        actor=owner,
        conversation=None,
        order=delivered,
        data=ComplaintInput(cause="quality", summary="Scratched"),
    )
    refused = _invite(owner, delivered)
    assert refused.status_code == 400 and "complaint" in refused.json()["detail"]
    assert not Message.objects.filter(payload__automation="review_invitation").exists()

    update_complaint(
        actor=owner,
        complaint=complaint,
        change=ComplaintChange(status="resolved", resolution="kept"),
    )
    sent = _invite(owner, delivered)

    assert sent.status_code == 201, sent.content
    message = Message.objects.get(pk=sent.json()["message_id"])
    assert message.payload["automation"] == "review_invitation"
    assert message.buyer_id == delivered.buyer_id
    # The buyer writes Chinese; AliExpress is not Tmall, so no five stars are asked.
    assert "评价" in message.text and "五星" not in message.text
    assert Outbox.objects.filter(message=message).exists()
    again = _invite(owner, delivered)
    assert again.status_code == 400 and "already invited" in again.json()["detail"]
    assert ReviewInvitation.objects.count() == 1


def test_the_watch_invites_tmall_buyers_to_five_stars_outside_quiet_hours(tmall_shop):  # noqa: F811
    owner = User.objects.get(shop=tmall_shop, role="owner")
    save_review_settings(owner)
    open_complaint(
        actor=owner,
        conversation=None,
        order=Order.objects.get(external_id="TM-4"),
        data=ComplaintInput(cause="quality", summary="坏了"),
    )
    tz = zoneinfo.ZoneInfo(tmall_shop.timezone)
    today = timezone.now().astimezone(tz).date()
    night = dt.datetime.combine(today, dt.time(23, 30), tzinfo=tz)  # default quiet 22:00-08:00
    day = dt.datetime.combine(today, dt.time(10, 0), tzinfo=tz)

    assert watch_shop(shop=tmall_shop, now=night)["review_invitations"] == 0
    assert watch_shop(shop=tmall_shop, now=day)["review_invitations"] == 3
    assert watch_shop(shop=tmall_shop, now=day)["review_invitations"] == 0

    invited = set(ReviewInvitation.objects.values_list("order__external_id", flat=True))
    assert invited == {"TM-1", "TM-2", "TM-3"}  # TM-4's buyer has a complaint open
    texts = Message.objects.filter(payload__automation="review_invitation")
    assert texts.count() == 3 and all("五星好评" in m.text for m in texts)


def test_invitations_are_off_until_the_shop_turns_them_on(shop: Shop, product):
    _delivered(shop, "AE-5", "P-100", "anna", days_ago=5)
    assert watch_shop(shop=shop)["review_invitations"] == 0
    assert not ReviewInvitation.objects.exists()
