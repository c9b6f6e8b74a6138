"""`make serve` loads the demo shop: a seller can log in and finds a working shop."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.conversations.models import Conversation, Message, Outbox
from kefu.demo.seed import load_demo
from kefu.orders.models import Order, Parcel
from kefu.orders.selectors import order_card

pytestmark = pytest.mark.django_db

DEMO_PASSWORD = "kefu-demo-2026"


def test_demo_shop_is_complete_and_loading_twice_changes_nothing():
    first = load_demo()
    counts = (
        User.objects.count(),
        Conversation.objects.count(),
        Message.objects.count(),
        Order.objects.count(),
        Parcel.objects.count(),
    )
    again = load_demo()

    assert first.created and not again.created
    assert counts == (
        User.objects.count(),
        Conversation.objects.count(),
        Message.objects.count(),
        Order.objects.count(),
        Parcel.objects.count(),
    )
    shop = first.shop
    logins = {"aurora-owner", "lily", "max", "mei"}
    assert set(User.objects.filter(shop=shop).values_list("username", flat=True)) >= logins
    for login in logins:
        assert Client().login(username=login, password=DEMO_PASSWORD), login
    assert Conversation.objects.filter(shop=shop).count() >= 10
    assert Order.objects.filter(shop=shop, status="placed").exists()  # payment reminders
    owner = User.objects.get(username="aurora-owner")
    cainiao = Parcel.objects.filter(shop=shop, carrier="Cainiao").select_related("order").first()
    assert cainiao is not None
    card = order_card(owner, cainiao.order.pk)
    links = {p.url for p in card.parcels if p.parcel.carrier == "Cainiao"}
    assert links
    assert all(link.startswith("https://global.cainiao.com/") for link in links)


def test_demo_history_is_not_a_wall_of_undelivered_replies():
    shop = load_demo().shop
    owner = Client()
    assert owner.login(username="aurora-owner", password=DEMO_PASSWORD)
    # Sample history never went anywhere: no delivery state, like imported history.
    assert Message.objects.filter(shop=shop, direction="agent").exists()
    assert not Outbox.objects.filter(shop=shop).exists()
    assert 'id="undelivered-notice"' not in owner.get("/inbox/").content.decode()
