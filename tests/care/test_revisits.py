"""The revisit table (R-34): from the products' usage cycle and the buyer's last delivered
order, in the shop's days whatever the time zone; a buyer who ordered again is left out;
sub-accounts see the rows of their products."""

from __future__ import annotations

import datetime as dt

import pytest

from kefu.accounts.models import Shop
from kefu.care.revisits import revisit_table
from tests.conftest import login_client
from tests.helpers import add_product, post_order_signed

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _delivered(shop, external_id: str, product: str, delivered: str, *, placed: str) -> None:
    response = post_order_signed(
        "/inbound",
        {
            "external_id": external_id,
            "buyer": {"external_id": "b-1", "name": "Ivan", "language": "ru"},
            "status": "TRADE_FINISHED",
            "placed_at": placed,
            "delivered_at": delivered,
            "items": [
                {
                    "product_external_id": product,
                    "title": "Tea",
                    "quantity": 1,
                    "unit_price": "9.00",
                }
            ],
        },
        shop,
    )
    assert response.status_code == 201, response.content


def test_the_run_out_date_is_the_shops_day_of_delivery_plus_the_cycle(shop, owner):
    add_product(shop, "TEA", "Green tea 30 days", usage_cycle_days=30)
    add_product(shop, "LAMP", "Desk lamp")  # no cycle: never revisited
    # 17:00 UTC on 30 November is 01:00 on 1 December in Shanghai, the shop's zone.
    _delivered(shop, "T-1", "TEA", "2026-11-30T17:00:00+00:00", placed="2026-11-25T01:00:00+00:00")
    _delivered(shop, "L-1", "LAMP", "2026-11-30T17:00:00+00:00", placed="2026-11-25T02:00:00+00:00")
    before = dt.datetime(2026, 12, 27, 15, 30, tzinfo=UTC)  # 27 Dec 23:30 in Shanghai
    assert revisit_table(owner, lead_days=3, now=before) == []
    due = dt.datetime(2026, 12, 27, 16, 30, tzinfo=UTC)  # 28 Dec 00:30 in Shanghai
    (row,) = revisit_table(owner, lead_days=3, now=due)
    assert (row.delivered_on, row.runs_out_on, row.days_left) == (
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 31),
        3,
    )
    assert (row.buyer, row.language, row.order_external_id) == ("Ivan", "ru", "T-1")
    # The same delivery in a shop on UTC ran out a day earlier.
    Shop.objects.filter(pk=shop.pk).update(timezone="UTC")
    owner.refresh_from_db()
    (utc_row,) = revisit_table(owner, lead_days=3, now=dt.datetime(2026, 12, 27, 0, 30, tzinfo=UTC))
    assert (utc_row.delivered_on, utc_row.runs_out_on) == (
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 30),
    )
    # Long past running out (beyond the grace days): no longer listed.
    assert revisit_table(owner, now=dt.datetime(2027, 2, 1, tzinfo=UTC)) == []


def test_a_buyer_who_ordered_again_is_not_revisited(shop, owner):
    add_product(shop, "TEA", "Green tea", usage_cycle_days=30)
    _delivered(shop, "T-1", "TEA", "2026-11-30T10:00:00+00:00", placed="2026-11-25T01:00:00+00:00")
    due = dt.datetime(2026, 12, 29, 10, tzinfo=UTC)
    assert [r.order_external_id for r in revisit_table(owner, now=due)] == ["T-1"]
    post_order_signed(
        "/inbound",
        {
            "external_id": "T-2",
            "buyer": {"external_id": "b-1"},
            "status": "WAIT_SELLER_SEND_GOODS",
            "placed_at": "2026-12-20T01:00:00+00:00",
            "paid_at": "2026-12-20T01:05:00+00:00",
            "items": [{"product_external_id": "TEA", "title": "Tea", "unit_price": "9.00"}],
        },
        shop,
    )
    assert revisit_table(owner, now=due) == []


def test_sub_accounts_see_the_revisits_of_their_products(shop, owner, pre_agent, after_agent):
    add_product(shop, "TEA", "Green tea", usage_cycle_days=30, owner=pre_agent)
    _delivered(shop, "T-1", "TEA", "2026-11-30T10:00:00+00:00", placed="2026-11-25T01:00:00+00:00")
    due = dt.datetime(2026, 12, 29, 10, tzinfo=UTC)
    assert len(revisit_table(pre_agent, now=due)) == 1
    assert revisit_table(after_agent, now=due) == []
    page = login_client(owner).get("/care/revisits/")
    assert page.status_code == 200
