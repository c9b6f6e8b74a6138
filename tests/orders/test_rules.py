from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kefu.orders.models import OrderFlag, OrderStatus, TrackingStatus
from kefu.orders.rules import (
    PLATFORM_PENALTY_RULES,
    PenaltyRule,
    in_quiet_hours,
    late_shipment_penalty,
    tracking_url,
)
from kefu.orders.statuses import map_order_status, map_tracking_status

TMALL = PLATFORM_PENALTY_RULES["tmall"]


@pytest.mark.parametrize(
    ("amount", "penalty"),
    [
        ("100", "30.00"),
        ("2000", "500"),
        ("1666.66", "500.00"),  # 499.998 rounds to 500.00: exactly the cap
        ("1666.60", "499.98"),
        ("0.01", "0.00"),
        ("33.35", "10.01"),  # half-up on the cent
        ("0", "0.00"),
    ],
)
def test_tmall_late_shipment_penalty_is_30_percent_capped_at_500_cny(amount, penalty):
    assert late_shipment_penalty(amount=Decimal(amount), currency="CNY", rule=TMALL) == Decimal(
        penalty
    )


def test_cap_in_another_currency_is_not_applied_without_conversion():
    assert late_shipment_penalty(amount=Decimal("2000"), currency="USD", rule=TMALL) == Decimal(
        "600.00"
    )


def test_rule_is_configurable():
    rule = PenaltyRule(Decimal("0.10"), Decimal("50"), "USD")
    assert late_shipment_penalty(amount=Decimal("1000"), currency="usd", rule=rule) == Decimal("50")


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ((21, 59), False),
        ((22, 0), True),
        ((3, 0), True),
        ((7, 59), True),
        ((8, 0), False),
    ],
)
def test_quiet_hours_span_midnight_in_the_shop_zone(local, quiet):
    moment = dt.datetime(2024, 11, 11, *local, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert (
        in_quiet_hours(
            moment=moment.astimezone(dt.UTC),
            timezone_name="Asia/Shanghai",
            start=dt.time(22),
            end=dt.time(8),
        )
        is quiet
    )


def test_quiet_hours_refuse_naive_times():
    with pytest.raises(ValueError, match="timezone-aware"):
        in_quiet_hours(
            moment=dt.datetime(2024, 1, 1), timezone_name="UTC", start=dt.time(22), end=dt.time(8)
        )


@pytest.mark.parametrize(
    ("raw", "status", "flags"),
    [
        ("PLACE_ORDER_SUCCESS", OrderStatus.PLACED, ()),
        ("RISK_CONTROL_HOLD", OrderStatus.PAID, (OrderFlag.PAYMENT_ANOMALY,)),
        ("WAIT_SELLER_SEND_GOODS", OrderStatus.PAID, ()),
        (
            "SELLER_PART_SEND_GOODS",
            OrderStatus.SHIPPED,
            (OrderFlag.PARTIALLY_SHIPPED, OrderFlag.SPLIT),
        ),
        ("WAIT_BUYER_ACCEPT_GOODS", OrderStatus.SHIPPED, ()),
        ("FINISH", OrderStatus.DELIVERED, ()),
        ("in_issue", None, (OrderFlag.DISPUTE_OPEN,)),
        ("WAIT_BUYER_PAY", OrderStatus.PLACED, ()),
        ("TRADE_BUYER_SIGNED", OrderStatus.DELIVERED, ()),
        ("TRADE_CLOSED_BY_TAOBAO", OrderStatus.CLOSED, ()),
        ("买家已付款，等待卖家发货", OrderStatus.PAID, ()),
        ("買家已付款,等待賣家發貨", OrderStatus.PAID, ()),
        ("卖家已发货，等待买家确认", OrderStatus.SHIPPED, ()),
        ("交易成功", OrderStatus.DELIVERED, ()),
        ("交易關閉", OrderStatus.CLOSED, ()),
    ],
)
def test_marketplace_statuses_map_onto_kefu_statuses(raw, status, flags):
    mapped = map_order_status(raw)
    assert mapped is not None
    assert mapped.status == status
    assert mapped.flags == flags


def test_unknown_status_is_none():
    assert map_order_status("SOMETHING_ELSE") is None


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("InfoReceived", TrackingStatus.INFO_RECEIVED),
        ("in transit", TrackingStatus.IN_TRANSIT),
        ("快件已到达上海转运中心，运输中", TrackingStatus.IN_TRANSIT),
        ("进口清关中", TrackingStatus.AT_CUSTOMS),
        ("AvailableForPickup", TrackingStatus.AVAILABLE_FOR_PICKUP),
        ("已到達自提點", TrackingStatus.AVAILABLE_FOR_PICKUP),
        ("OutForDelivery", TrackingStatus.OUT_FOR_DELIVERY),
        ("Delivered", TrackingStatus.DELIVERED),
        ("parcel undelivered, nobody home", TrackingStatus.DELIVERY_FAILED),
        ("AttemptFail", TrackingStatus.DELIVERY_FAILED),
        ("Exception", TrackingStatus.EXCEPTION),
        ("Returned", TrackingStatus.RETURNED),
    ],
)
def test_tracking_statuses_map_onto_the_vocabulary(raw, status):
    assert map_tracking_status(raw) == status


def test_tracking_url_templates_match_the_carrier_case_insensitively():
    templates = {
        "Cainiao": "https://global.cainiao.com/detail.htm?mailNoList={number}",
        "*": "https://t.17track.net/en#nums={number}",
    }
    assert tracking_url(templates=templates, carrier="cainiao", number="LP1") == (
        "https://global.cainiao.com/detail.htm?mailNoList=LP1"
    )
    assert tracking_url(templates=templates, carrier="DHL", number="9") == (
        "https://t.17track.net/en#nums=9"
    )
    assert tracking_url(templates={}, carrier="DHL", number="9") == ""
