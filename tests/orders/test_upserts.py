"""Order upserts: what a source says is stored readably."""

from __future__ import annotations

from decimal import Decimal

from kefu.orders.models import Order


def test_an_order_whose_parts_add_past_the_column_stays_readable(shop):

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
