"""Reads of orders: who may see which order, the sidebar, related products, parcel states."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from kefu.conversations.models import Conversation
from kefu.orders import actions
from kefu.orders.models import Order, Parcel
from kefu.orders.selectors import (
    access_order,
    orders_for_buyer,
    related_products_for,
    sidebar_for,
    visible_orders,
)

from ..helpers import add_product
from .factories import make_order

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=dt.UTC)


def test_a_replaced_parcel_is_never_shown_stalled(shop, owner):
    import datetime as dt

    from kefu.orders.selectors import order_card

    order = make_order(shop, "R-5", parcels=[("LOST1", "YTO")])
    lost = Parcel.objects.get(tracking_number="LOST1")
    Parcel.objects.filter(pk=lost.pk).update(shipped_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert {p.status for p in order_card(owner, order.pk).parcels} == {"stalled"}

    actions.add_parcel(
        actor=owner, order=order, tracking_number="NEW5", reshipment=True, replaces=lost
    )

    shown = {p.parcel.tracking_number: p.status for p in order_card(owner, order.pk).parcels}
    assert shown["LOST1"] != "stalled"


def test_visibility_owner_all_agent_own_products_other_shop_nothing(
    shop, owner, pre_agent, after_agent, rival, product
):
    mine = make_order(shop, "V-1", products=[product])
    other_product = add_product(shop, "P-9", "Fan", owner=after_agent)
    theirs = make_order(shop, "V-2", products=[other_product])

    assert set(visible_orders(owner)) == {mine, theirs}
    assert list(visible_orders(pre_agent)) == [mine]
    assert list(visible_orders(after_agent)) == [theirs]
    assert access_order(pre_agent, mine.pk) == mine
    with pytest.raises(Http404):
        access_order(pre_agent, theirs.pk)
    with pytest.raises(Http404):
        access_order(rival, mine.pk)


def test_orders_for_buyer_highlights_the_conversation_order(shop, owner):
    make_order(shop, "B-1", buyer="zoe", placed_at=T0)
    make_order(shop, "B-2", buyer="zoe", placed_at=T0 + dt.timedelta(days=1))
    make_order(shop, "B-3", buyer="zoe", placed_at=T0 + dt.timedelta(days=2))
    buyer = Order.objects.get(external_id="B-1").buyer

    cards = orders_for_buyer(user=owner, buyer=buyer, highlight="B-1")

    assert [c.order.external_id for c in cards] == ["B-1", "B-3", "B-2"]
    assert [c.highlighted for c in cards] == [True, False, False]


def test_related_products_then_main_push(shop, product):
    shade = add_product(shop, "P-2", "Shade", stock=5)
    bulb = add_product(shop, "P-3", "Bulb", stock=9)
    star = add_product(shop, "P-4", "Star lamp", is_main_push=True)
    add_product(shop, "P-5", "Unrelated")
    product.related.add(shade, bulb)
    order = make_order(shop, "RP-1", products=[product])

    assert related_products_for(shop=shop, product=product) == [bulb, shade, star]
    assert related_products_for(shop=shop, order=order, limit=2) == [bulb, shade]
    assert related_products_for(shop=shop) == [star]


def test_sidebar_for_hides_orders_of_other_agents_products(shop, pre_agent, after_agent, product):
    other = add_product(shop, "P-7", "Fan", owner=after_agent)
    make_order(shop, "SB-1", buyer="kim", products=[product])
    make_order(shop, "SB-2", buyer="kim", products=[other])
    buyer = Order.objects.get(external_id="SB-1").buyer

    panel = sidebar_for(user=pre_agent, buyer_id=buyer.pk, highlight="SB-2")

    assert [c.order.external_id for c in panel.orders] == ["SB-1"]


def test_sidebar_never_names_the_order_of_a_conversation_the_sub_account_may_not_see(
    shop, pre_agent, after_agent, product
):
    other = add_product(shop, "P-8", "Fan", owner=after_agent)
    make_order(shop, "SEEN-1", buyer="kim", products=[product])
    make_order(shop, "HIDDEN-1", buyer="kim", products=[other])
    buyer = Order.objects.get(external_id="SEEN-1").buyer
    now = timezone.now()
    # Max's conversation about Max's product: Lily (a sub-account) may not open it.
    conv = Conversation.objects.create(
        shop=shop,
        buyer=buyer,
        channel="marketplace",
        entry_point="order_detail",
        group="after_sale",
        assignee=after_agent,
        product=other,
        order_external_id="HIDDEN-1",
        last_message_at=now,
        opened_at=now,
    )

    lily = sidebar_for(user=pre_agent, buyer_id=buyer.pk, conversation_id=conv.pk)
    max_ = sidebar_for(user=after_agent, buyer_id=buyer.pk, conversation_id=conv.pk)

    assert lily.conversation_id is None
    assert lily.highlight == ""
    assert not lily.highlight_hidden
    assert [c.order.external_id for c in lily.orders] == ["SEEN-1"]
    assert not any(c.highlighted for c in lily.orders)
    assert max_.conversation_id == conv.pk
    assert max_.highlight == "HIDDEN-1"
    assert [c.order.external_id for c in max_.orders if c.highlighted] == ["HIDDEN-1"]
