"""Issue 17: the spend and "never reordered" filters read one grouped pass over the orders
(decisions §59). Same buyers as the rule says, on histories a seller's paths make — the order
import and the signed order webhook, including an order that is paid later, one updated twice
and a buyer who only chatted — counted by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from kefu.outreach import selectors
from kefu.outreach.selectors import SegmentFilters
from tests.helpers import buyer_says, post_order_signed
from tests.outreach.test_campaigns import order

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def _webhook(shop, ext: str, buyer: str, status: str, amount: str, paid: str | None) -> None:
    body = {
        "external_id": ext,
        "buyer": {"external_id": buyer, "name": buyer.title()},
        "status": status,
        "currency": "USD",
        "total_amount": amount,
        "placed_at": "2026-11-01T10:00:00+08:00",
        "items": [{"title": "Lamp", "unit_price": amount}],
    }
    if paid is not None:
        body["paid_amount"] = paid
    assert post_order_signed("/inbound", body, shop).status_code in (200, 201)


def _count(shop, **filters: str) -> int:
    return selectors.segment_buyers(shop=shop, filters=SegmentFilters.from_json(filters)).count()


def test_spend_and_never_reordered_count_the_buyers_the_rule_names(shop):
    # Imported: "two" spends 300 + 250 over two orders; "one" 499.99 once; "unpaid" owes 800.
    order(shop, "I1", "two", amount="300.00", country="RU")
    order(shop, "I2", "two", amount="250.00", country="RU")
    order(shop, "I3", "one", amount="499.99", country="ES")
    order(shop, "I4", "unpaid", status="placed", amount="800.00", country="RU")
    # Webhooks: "later" placed unpaid then paid 600 (one order, updated); "hook" two orders,
    # one paid 120, the other placed and never paid.
    _webhook(shop, "W1", "later", "placed", "600.00", None)
    _webhook(shop, "W1", "later", "paid", "600.00", "600.00")
    _webhook(shop, "W2", "hook", "paid", "120.00", "120.00")
    _webhook(shop, "W3", "hook", "placed", "90.00", None)
    buyer_says(shop, "Is the lamp in stock?", buyer="looker")  # chatted, never ordered

    # Total paid ≥ X: two (550), later (600); one is 1 cent short; unpaid's 800 is not paid.
    assert _count(shop, min_spend="500") == 2
    assert _count(shop, min_spend="499.99") == 3
    assert _count(shop, min_spend="550.01") == 1
    assert _count(shop, min_spend="100") == 4  # + hook (120)
    # 0 asks for no minimum: everybody, the buyer who only chatted too.
    assert _count(shop, min_spend="0") == 6
    # One order ever: one, unpaid, later (updated twice, still one order); not two, hook,
    # nor the buyer without orders.
    assert _count(shop, never_reordered="1") == 3
    # The aggregates combine with the other filters.
    assert _count(shop, never_reordered="1", countries="RU") == 1  # unpaid
    assert _count(shop, never_reordered="1", min_spend="500") == 1  # later
    assert _count(shop, min_spend="500", statuses="placed") == 0


def test_last_order_paid_reads_each_buyers_latest_order(shop):
    # "two": 300 on Nov 1, then 250 placed later; "late": a big order, then a small one;
    # "unpaid": latest order not paid yet; "single": one order of 260.
    order(shop, "L1", "two", amount="300.00", placed=dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC))
    order(shop, "L2", "two", amount="250.00", placed=dt.datetime(2026, 11, 5, 2, tzinfo=dt.UTC))
    order(shop, "L3", "late", amount="900.00", placed=dt.datetime(2026, 11, 1, 2, tzinfo=dt.UTC))
    order(shop, "L4", "late", amount="20.00", placed=dt.datetime(2026, 11, 9, 2, tzinfo=dt.UTC))
    order(shop, "L5", "single", amount="260.00")
    _webhook(shop, "L6", "unpaid", "placed", "700.00", None)
    assert _count(shop, last_order_min="250") == 2  # two (250), single (260)
    assert _count(shop, last_order_min="255") == 1  # single
    assert _count(shop, last_order_min="21") == 2  # late's latest is 20
    assert _count(shop, last_order_min="0") == 4  # no minimum: everyone
    assert _count(shop, last_order_min="250", min_spend="500") == 1  # two: 550 in all
