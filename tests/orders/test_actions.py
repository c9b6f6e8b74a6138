"""Agents actions on an order: refunds within the right and the limit, reshipments."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.orders import actions
from kefu.orders.models import Order, OrderFlag, OrderStatus, Parcel, Refund

from .factories import make_order


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
