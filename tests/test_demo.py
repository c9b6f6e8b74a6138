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


def test_demo_care_and_outreach_pages_have_something_to_show():
    """A seller trying the demo finds the after-sale and outreach pages filled, in both
    languages (decided by the account's interface language)."""
    load_demo()
    owner = Client()
    assert owner.login(username="aurora-owner", password=DEMO_PASSWORD)
    pages = {
        "/care/complaints/": ["运输破损", "关税清关"],  # causes, in either language
        "/care/promises/": ["Call the buyer back about the customs refund"],
        "/care/returns/": ["Wrong colour temperature"],
        "/care/reviews/": ["Arrived broken", "shipping took almost a month", "质量很好"],
        "/care/calls/": ["8031"],
        "/care/follow-ups/": ["thank you for your order", "感谢您在", "新灯用了一周"],
        "/care/revisits/": ["/care/revisits/act/"],  # a row to act on
        "/care/feedback/": ["longer USB-C cable"],
        "/outreach/": ["Warm-white lamps are in", "Weekend thank-you"],
        "/outreach/invitations/": ["Questions about the lamp?", "AURORA5"],
    }
    for language in ("en", "zh-hans"):
        owner.post("/language/", {"language": language, "next": "/"})
        for url, expected in pages.items():
            html = owner.get(url).content.decode()
            for text in expected:
                assert text in html, (language, url, text)
    # The sent campaign's results have a row per language and variant.
    html = owner.get("/outreach/").content.decode()
    assert "Nothing sent yet." not in html.split("Warm-white lamps are in")[1]
    # The demo's sample messages never went anywhere, campaigns included.
    assert not Outbox.objects.exists()
