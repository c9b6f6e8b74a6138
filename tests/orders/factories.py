"""Small builders for order tests (plain functions: fewer moving parts than factories)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kefu.accounts.models import Shop
from kefu.catalog.models import Product
from kefu.orders.inputs import ItemInput, OrderInput, ParcelInput
from kefu.orders.models import Order
from kefu.orders.upserts import upsert_orders

UTC = dt.UTC


def make_order(
    shop: Shop,
    external_id: str = "O-1",
    *,
    buyer: str = "buyer-1",
    status: str = "paid",
    products: list[Product] | None = None,
    amount: str = "100.00",
    placed_at: dt.datetime | None = None,
    paid_at: dt.datetime | None = None,
    parcels: list[tuple[str, str]] | None = None,
    language: str = "",
    region: str | None = None,
    currency: str | None = None,
) -> Order:
    placed = placed_at or dt.datetime(2024, 11, 11, 2, 0, tzinfo=UTC)
    if paid_at is None and status != "placed":
        paid_at = placed + dt.timedelta(minutes=5)
    items = tuple(
        ItemInput(
            title=p.title, quantity=1, unit_price=Decimal(amount), product_external_id=p.external_id
        )
        for p in (products or [])
    ) or (ItemInput(title="Something", quantity=1, unit_price=Decimal(amount)),)
    upsert_orders(
        shop=shop,
        inputs=[
            OrderInput(
                external_id=external_id,
                buyer_external_id=buyer,
                buyer_name=buyer.title(),
                buyer_language=language,
                status=status,
                total_amount=Decimal(amount),
                paid_amount=Decimal(amount) if paid_at else None,
                placed_at=placed,
                paid_at=paid_at,
                items=items,
                parcels=tuple(ParcelInput(n, c) for n, c in (parcels or [])),
                region=region,
                currency=currency,
            )
        ],
    )
    return Order.objects.get(shop=shop, external_id=external_id)
