"""Tracking, refunds, reshipments, incident broadcasts and who may see which order."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from kefu.catalog.models import Product
from kefu.conversations.models import Message
from kefu.orders import actions, incidents, selectors, tracking
from kefu.orders.models import (
    IncidentRecipient,
    Order,
    OrderFlag,
    OrderStatus,
    Parcel,
    Refund,
    TrackingEvent,
)
from kefu.orders.selectors import (
    access_order,
    orders_for_buyer,
    related_products_for,
    sidebar_for,
    visible_orders,
)
from kefu.orders.tracking import TrackingInput, record_tracking

from .factories import make_order

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=dt.UTC)


def ev(status, days, **kw):
    return TrackingInput(status=status, occurred_at=T0 + dt.timedelta(days=days), **kw)


def test_tracking_events_move_parcel_and_order_and_are_idempotent(shop):
    make_order(shop, "O-1", parcels=[("A1", "Cainiao"), ("A2", "Cainiao")])
    events = [ev("InfoReceived", 1, event_id="e1"), ev("InTransit", 2, event_id="e2")]

    first = record_tracking(shop=shop, tracking_number="A1", events=events)
    again = record_tracking(shop=shop, tracking_number="A1", events=events)

    assert (first.stored, first.duplicates) == (2, 0)
    assert (again.stored, again.duplicates) == (0, 2)
    assert TrackingEvent.objects.count() == 2
    order = Order.objects.get(external_id="O-1")
    assert order.status == OrderStatus.SHIPPED
    assert OrderFlag.SPLIT in order.flags

    record_tracking(shop=shop, tracking_number="A1", events=[ev("Delivered", 5)])
    assert Order.objects.get(external_id="O-1").status == OrderStatus.SHIPPED  # A2 still out
    record_tracking(shop=shop, tracking_number="A2", events=[ev("已签收", 6)])
    order = Order.objects.get(external_id="O-1")
    assert order.status == OrderStatus.DELIVERED
    assert order.delivered_at == T0 + dt.timedelta(days=6)


def test_out_of_order_tracking_events_keep_the_latest_status(shop):
    make_order(shop, "O-2", parcels=[("B1", "")])
    record_tracking(shop=shop, tracking_number="B1", events=[ev("OutForDelivery", 4)])
    record_tracking(shop=shop, tracking_number="B1", events=[ev("InTransit", 2)])
    parcel = Parcel.objects.get(tracking_number="B1")
    assert parcel.status == "out_for_delivery"
    assert parcel.last_event_at == T0 + dt.timedelta(days=4)


def test_unknown_tracking_status_stores_nothing(shop):
    make_order(shop, "O-3", parcels=[("C1", "")])
    with pytest.raises(ValidationError):
        record_tracking(
            shop=shop, tracking_number="C1", events=[ev("InTransit", 1), ev("Teleported", 2)]
        )
    assert not TrackingEvent.objects.exists()


def test_unknown_parcel_is_created_only_for_a_known_order(shop):
    make_order(shop, "O-4")
    with pytest.raises(tracking.UnknownParcel):
        record_tracking(shop=shop, tracking_number="NEW", events=[ev("InTransit", 1)])
    outcome = record_tracking(
        shop=shop,
        tracking_number="NEW",
        order_external_id="O-4",
        carrier="YTO",
        events=[ev("InTransit", 1)],
    )
    assert outcome.parcel.order.external_id == "O-4"
    assert outcome.order_status_after == OrderStatus.SHIPPED


def test_refund_needs_the_right_and_respects_the_limit(shop, owner, after_agent):
    order = make_order(shop, "R-1", amount="80.00")

    with pytest.raises(PermissionDenied):
        actions.record_refund(actor=after_agent, order=order, amount=Decimal("10"), reason="broken")
    after_agent.can_issue_refunds = True
    after_agent.refund_limit = Decimal("20")
    after_agent.save()
    with pytest.raises(PermissionDenied, match="above 20"):
        actions.record_refund(actor=after_agent, order=order, amount=Decimal("25"), reason="broken")
    assert not Refund.objects.exists()
    assert Order.objects.get(pk=order.pk).refunded_amount == 0

    actions.record_refund(
        actor=after_agent, order=order, amount=Decimal("20"), reason="scratch", channel="paypal"
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.PARTIALLY_REFUNDED
    assert OrderFlag.REFUNDED in order.flags
    with pytest.raises(ValidationError, match="more than"):
        actions.record_refund(actor=owner, order=order, amount=Decimal("60.01"), reason="x")
    actions.record_refund(
        actor=owner, order=order, amount=Decimal("60"), reason="rest", kind="return"
    )
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == Decimal("80.00")


def test_refund_of_another_shops_order_is_refused(shop, rival):
    order = make_order(shop, "R-2")
    with pytest.raises(PermissionDenied):
        actions.record_refund(actor=rival, order=order, amount=Decimal("1"), reason="x")


def test_dispute_refund_then_delivery_raises_the_ask_to_pay_duty(shop, owner):
    order = make_order(shop, "R-3", parcels=[("D1", "Cainiao")])
    record_tracking(shop=shop, tracking_number="D1", events=[ev("InTransit", 1)])
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        actions.record_refund(
            actor=owner,
            order=order,
            amount=Decimal("100"),
            reason="parcel lost",
            logistics_dispute=True,
        )
    # A delivery scan from before the refund does not raise the duty...
    record_tracking(shop=shop, tracking_number="D1", events=[ev("OutForDelivery", 20)])
    assert OrderFlag.ASK_BUYER_TO_PAY not in Order.objects.get(pk=order.pk).flags
    # ...the parcel arriving after it does.
    record_tracking(shop=shop, tracking_number="D1", events=[ev("Delivered", 40)])
    order.refresh_from_db()
    assert {
        OrderFlag.REFUNDED,
        OrderFlag.LOGISTICS_DISPUTE_REFUND,
        OrderFlag.ASK_BUYER_TO_PAY,
    } <= set(order.flags)
    assert order.status == OrderStatus.REFUNDED  # delivery never undoes the refund


def test_reshipment_adds_a_parcel_and_the_new_tracking_duty(shop, owner):
    order = make_order(shop, "R-4", parcels=[("OLD1", "YTO")])
    old = Parcel.objects.get(tracking_number="OLD1")

    parcel = actions.add_parcel(
        actor=owner,
        order=order,
        tracking_number="NEW1",
        carrier="SF",
        reshipment=True,
        replaces=old,
    )

    assert parcel.is_reshipment
    order.refresh_from_db()
    assert {OrderFlag.RESHIPMENT, OrderFlag.SEND_NEW_TRACKING} <= set(order.flags)
    with pytest.raises(ValidationError, match="already used"):
        actions.add_parcel(actor=owner, order=order, tracking_number="NEW1")
    assert actions.clear_flag(actor=owner, order=order, flag=OrderFlag.SEND_NEW_TRACKING)
    order.refresh_from_db()
    assert OrderFlag.SEND_NEW_TRACKING not in order.flags


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


def test_incident_broadcast_reaches_each_affected_buyer_once(shop, owner, pre_agent):
    make_order(shop, "I-1", buyer="ann", parcels=[("Y1", "YTO Express")], region="Zhejiang")
    make_order(shop, "I-2", buyer="ann", parcels=[("Y2", "YTO Express")], region="Zhejiang")
    make_order(shop, "I-3", buyer="ben", parcels=[("Y3", "YTO Express")], region="Zhejiang")
    make_order(shop, "I-4", buyer="cat", parcels=[("S1", "SF Express")], region="Zhejiang")
    criteria = selectors.IncidentCriteria(carrier="yto")

    with pytest.raises(PermissionDenied):
        incidents.create_incident_broadcast(actor=pre_agent, title="t", text="x", criteria=criteria)
    broadcast = incidents.create_incident_broadcast(
        actor=owner,
        title="YTO overload",
        text="Your parcel may take 3 more days.",
        criteria=criteria,
    )
    assert incidents.deliver_incident_broadcast(broadcast=broadcast) == 2
    assert incidents.deliver_incident_broadcast(broadcast=broadcast) == 0

    sent = Message.objects.filter(payload__automation="incident")
    assert sorted(sent.values_list("buyer__external_id", flat=True)) == ["ann", "ben"]
    assert IncidentRecipient.objects.count() == 2
    broadcast.refresh_from_db()
    assert broadcast.recipient_count == 2


def test_an_incident_needs_criteria(shop, owner):
    with pytest.raises(ValidationError):
        incidents.create_incident_broadcast(
            actor=owner, title="t", text="x", criteria=selectors.IncidentCriteria()
        )


def test_visibility_owner_all_agent_own_products_other_shop_nothing(
    shop, owner, pre_agent, after_agent, rival, product
):
    mine = make_order(shop, "V-1", products=[product])
    other_product = Product.objects.create(
        shop=shop, external_id="P-9", title="Fan", owner=after_agent
    )
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
    shade = Product.objects.create(shop=shop, external_id="P-2", title="Shade", stock=5)
    bulb = Product.objects.create(shop=shop, external_id="P-3", title="Bulb", stock=9)
    star = Product.objects.create(
        shop=shop, external_id="P-4", title="Star lamp", is_main_push=True
    )
    Product.objects.create(shop=shop, external_id="P-5", title="Unrelated")
    product.related.add(shade, bulb)
    order = make_order(shop, "RP-1", products=[product])

    assert related_products_for(shop=shop, product=product) == [bulb, shade, star]
    assert related_products_for(shop=shop, order=order, limit=2) == [bulb, shade]
    assert related_products_for(shop=shop) == [star]


def test_sidebar_for_hides_orders_of_other_agents_products(shop, pre_agent, after_agent, product):
    other = Product.objects.create(shop=shop, external_id="P-7", title="Fan", owner=after_agent)
    make_order(shop, "SB-1", buyer="kim", products=[product])
    make_order(shop, "SB-2", buyer="kim", products=[other])
    buyer = Order.objects.get(external_id="SB-1").buyer

    panel = sidebar_for(user=pre_agent, buyer_id=buyer.pk, highlight="SB-2")

    assert [c.order.external_id for c in panel.orders] == ["SB-1"]


def test_an_order_whose_parts_add_past_the_column_stays_readable(shop):
    from decimal import Decimal

    from kefu.orders.inputs import OrderInput
    from kefu.orders.upserts import upsert_orders

    huge = Decimal("999999999999.99")
    upsert_orders(
        shop=shop,
        inputs=[
            OrderInput(
                external_id="HUGE-1",
                buyer_external_id="b",
                status="placed",
                goods_amount=huge,
                shipping_fee=huge,
            )
        ],
    )

    order = Order.objects.get(shop=shop, external_id="HUGE-1")  # reads back
    assert order.goods_amount == huge
    assert order.total_amount == 0  # not derived: the sum does not fit
