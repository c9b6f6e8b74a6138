"""The late-shipment risk board and scan under time travel."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import time_machine

from kefu.accounts.models import Role, User
from kefu.conversations.models import Message
from kefu.orders import actions, risk
from kefu.orders.models import LateShipment, Order, OrderFlag
from kefu.orders.selectors import risk_board
from tests.conftest import login_client

from .factories import make_order

UTC = dt.UTC

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def reminders():
    return Message.objects.filter(payload__automation="payment_reminder")


def test_risk_board_shows_time_left_and_exposure_then_records_the_miss(other_shop):
    # A Tmall shop (CNY): 30 % of the amount actually paid, at most 500 yuan.
    paid_at = T0
    make_order(other_shop, "TM-1", buyer="a", amount="2000.00", placed_at=T0, paid_at=paid_at)
    make_order(other_shop, "TM-2", buyer="b", amount="100.00", placed_at=T0, paid_at=paid_at)
    make_order(
        other_shop,
        "TM-LATER",
        buyer="c",
        amount="100.00",
        placed_at=T0,
        paid_at=T0 + dt.timedelta(hours=30),
    )

    at = paid_at + dt.timedelta(hours=61)
    with time_machine.travel(at, tick=False):
        board = risk_board(shop=other_shop)
        result = risk.scan_late_shipments(shop=other_shop)
    assert [(r.order.external_id, r.hours_left, r.exposure) for r in board] == [
        ("TM-1", 11.0, Decimal("500")),
        ("TM-2", 11.0, Decimal("30.00")),
    ]
    assert (result.at_risk, result.missed) == (2, 0)
    assert not LateShipment.objects.exists()

    with time_machine.travel(paid_at + dt.timedelta(hours=73), tick=False):
        first = risk.scan_late_shipments(shop=other_shop)
        second = risk.scan_late_shipments(shop=other_shop)
    assert (first.missed, second.missed) == (2, 0)
    assert sorted(LateShipment.objects.values_list("order__external_id", "penalty")) == [
        ("TM-1", Decimal("500.00")),
        ("TM-2", Decimal("30.00")),
    ]
    assert OrderFlag.LATE_SHIPMENT in Order.objects.get(external_id="TM-1").flags


def test_shipping_in_time_takes_the_order_off_the_board(other_shop, rival):
    order = make_order(other_shop, "TM-3", buyer="a", amount="50.00", placed_at=T0)
    with time_machine.travel(T0 + dt.timedelta(hours=70), tick=False):
        actions.add_parcel(actor=rival, order=order, tracking_number="SF1", carrier="SF")
        assert risk_board(shop=other_shop) == []
    with time_machine.travel(T0 + dt.timedelta(hours=80), tick=False):
        assert risk.scan_late_shipments(shop=other_shop).missed == 0


def test_the_risk_page_reads_the_time_left_as_a_duration(other_shop):
    make_order(other_shop, "TM-1", buyer="a", amount="20.00", placed_at=T0, paid_at=T0)
    owner = User.objects.get(shop=other_shop, role=Role.OWNER)
    with time_machine.travel(T0 + dt.timedelta(hours=61, minutes=25), tick=False):
        page = login_client(owner).get("/orders/risk/", HTTP_ACCEPT_LANGUAGE="en")

    assert "10 h 35 min" in page.content.decode()
