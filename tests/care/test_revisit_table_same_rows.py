"""The revisit table's one-query read (decisions §57) gives the rows the rule gives when
applied the straightforward way, buyer by buyer and product by product in Python: the buyer's
last delivery of a product with a usage cycle is due from `runs_out - lead` to `runs_out +
GRACE_DAYS` in the shop's days, unless the buyer ordered the product again after it.

The shop is built as a seller builds it (products added by the owner, orders by the signed
order webhook), with re-orders, undelivered re-orders, a re-order delivered before the earlier
one, deliveries around the shop's midnight, and a sub-account that sees one product; it is
read on every day of three months, in two time zones."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo

import pytest

from kefu.accounts.models import User
from kefu.accounts.services import update_shop_settings
from kefu.care.revisits import GRACE_DAYS, MAX_ROWS, revisit_table
from kefu.catalog.models import Product
from kefu.orders.models import Order, OrderItem
from kefu.orders.selectors import visible_orders
from tests.helpers import add_product, analyze, post_order_signed

pytestmark = pytest.mark.django_db

UTC = dt.UTC
START = dt.datetime(2026, 9, 1, tzinfo=UTC)


def _expected(actor: User, *, lead_days: int, now: dt.datetime) -> list[tuple]:
    """The rule, straightforwardly: every item of the shop read into Python."""
    shop = actor.shop
    tz = zoneinfo.ZoneInfo(shop.timezone)
    today = now.astimezone(tz).date()
    visible = set(visible_orders(actor).values_list("pk", flat=True))
    items = list(
        OrderItem.objects.filter(shop=shop).select_related("order", "order__buyer", "product")
    )
    rows = []
    for item in items:
        product, order = item.product, item.order
        if product is None or not product.usage_cycle_days or order.pk not in visible:
            continue
        if order.delivered_at is None:
            continue
        # The buyer's last delivery of the product: nothing of it placed or delivered later.
        later = [
            other
            for other in items
            if other.product_id == item.product_id
            and other.order.buyer_id == order.buyer_id
            and (
                other.order.placed_at > order.placed_at
                or (
                    other.order.delivered_at is not None
                    and other.order.delivered_at > order.delivered_at
                )
            )
        ]
        if later:
            continue
        delivered_on = order.delivered_at.astimezone(tz).date()
        runs_out = delivered_on + dt.timedelta(days=product.usage_cycle_days)
        if not (
            runs_out - dt.timedelta(days=lead_days)
            <= today
            <= runs_out + dt.timedelta(days=GRACE_DAYS)
        ):
            continue
        rows.append(
            (
                runs_out,
                str(order.buyer),
                product.title,
                order.external_id,
                delivered_on,
                (runs_out - today).days,
                order.buyer.language,
            )
        )
    rows.sort()
    return rows[:MAX_ROWS]


def _got(actor: User, *, lead_days: int, now: dt.datetime) -> list[tuple]:
    return [
        (
            r.runs_out_on,
            r.buyer,
            r.product,
            r.order_external_id,
            r.delivered_on,
            r.days_left,
            r.language,
        )
        for r in revisit_table(actor, lead_days=lead_days, now=now)
    ]


def _order(shop, n: int, buyer: int, product: str, placed: dt.datetime, delivered) -> None:
    payload = {
        "external_id": f"R-{n}",
        "buyer": {
            "external_id": f"b-{buyer}",
            "name": f"Buyer {buyer:02d}",
            "language": ("ru", "en", "es")[buyer % 3],
        },
        "status": "TRADE_FINISHED" if delivered else "WAIT_BUYER_CONFIRM_GOODS",
        "placed_at": placed.isoformat(),
        "paid_at": placed.isoformat(),
        "items": [{"product_external_id": product, "title": product, "unit_price": "9.00"}],
    }
    if delivered:
        payload["delivered_at"] = delivered.isoformat()
    response = post_order_signed("/inbound", payload, shop)
    assert response.status_code == 201, response.content


def test_the_revisit_table_lists_what_the_rule_lists(shop, owner, pre_agent):
    add_product(shop, "TEA", "Green tea", usage_cycle_days=20)
    add_product(shop, "PAD", "Cotton pads", usage_cycle_days=7, owner=pre_agent)
    add_product(shop, "COF", "Coffee", usage_cycle_days=20)  # the same cycle as the tea
    add_product(shop, "LAMP", "Desk lamp")  # no cycle: never listed
    rng = random.Random(16)
    products = ("TEA", "PAD", "COF", "LAMP")
    for n in range(90):
        placed = START + dt.timedelta(hours=rng.randrange(0, 80 * 24), minutes=rng.randrange(60))
        # Most deliveries take days, a few never arrive, some land near the shop's midnight.
        delivered = None
        if rng.random() < 0.85:
            delivered = placed + dt.timedelta(days=rng.randrange(1, 7), hours=rng.randrange(24))
            if rng.random() < 0.3:
                delivered = delivered.replace(hour=16, minute=rng.choice((0, 30, 59)))
        _order(shop, n, rng.randrange(12), rng.choice(products), placed, delivered)
    # A re-order delivered before the order placed ahead of it.
    _order(shop, 100, 50, "TEA", START + dt.timedelta(days=30), START + dt.timedelta(days=40))
    _order(shop, 101, 50, "TEA", START + dt.timedelta(days=31), START + dt.timedelta(days=33))
    # A sub-account's read nests the visible orders in two semi-joins: with no statistics
    # PostgreSQL looped items x orders x items, 0.4-0.8 s a read and ~2 minutes in all.
    analyze(OrderItem, Order, Product)

    compared = 0
    for zone in ("Asia/Shanghai", "America/Los_Angeles"):
        update_shop_settings(
            actor=owner,
            name=shop.name,
            timezone_name=zone,
            currency=shop.currency,
            callback_url="",
            sign_replies=False,
            signature_template="{agent_name}",
        )
        owner.refresh_from_db()
        pre_agent.refresh_from_db()
        for day in range(0, 115):
            # 16:30 UTC: past midnight in Shanghai, the morning before in Los Angeles.
            now = START + dt.timedelta(days=day, hours=16, minutes=30)
            for actor in (owner, pre_agent):
                for lead in (0, 3):
                    expected = _expected(actor, lead_days=lead, now=now)
                    assert _got(actor, lead_days=lead, now=now) == expected, (zone, day, actor)
                    compared += len(expected)
    # The comparison saw rows, not only empty tables.
    assert compared > 300
