"""Demo orders for the demo shop: every after-sale conversation's order, with parcels and
tracking in the states agents meet (in transit, at the post office, stalled, split, delivered),
plus unpaid orders for payment reminders and paid ones near the ship-by deadline."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.accounts.selectors import owner_of
from kefu.catalog.models import Product
from kefu.conversations.models import Buyer, Conversation
from kefu.orders.config import update_order_settings
from kefu.orders.inputs import ItemInput, OrderInput
from kefu.orders.tracking import TrackingInput, record_tracking
from kefu.orders.upserts import upsert_orders

CARRIERS = ["Cainiao", "China Post", "YunExpress", "4PX"]
# Public tracking pages, so the demo's parcel links open something real.
TRACKING_LINKS = {
    "Cainiao": "https://global.cainiao.com/newDetail.htm?mailNoList={number}",
    "*": "https://t.17track.net/en#nums={number}",
}


def _tracking(
    shop: Shop, number: str, carrier: str, order_id: str, steps: list[tuple[str, dt.datetime]]
) -> None:
    record_tracking(
        shop=shop,
        tracking_number=number,
        carrier=carrier,
        order_external_id=order_id,
        events=[
            TrackingInput(status=s, occurred_at=at, event_id=f"{number}-{i}")
            for i, (s, at) in enumerate(steps)
        ],
    )


def load(*, shop: Shop, rng: random.Random) -> None:
    now = timezone.now()
    owner = owner_of(shop)
    if owner is not None:
        update_order_settings(actor=owner, shop=shop, tracking_url_templates=TRACKING_LINKS)
    products = list(Product.objects.filter(shop=shop).order_by("pk"))
    inputs: list[OrderInput] = []
    plans: list[tuple[str, str]] = []
    convs = (
        Conversation.objects.filter(shop=shop)
        .exclude(order_external_id="")
        .select_related("buyer", "product")
    )
    seen: set[str] = set()
    for n, conv in enumerate(convs.order_by("pk")):
        order_id = conv.order_external_id
        if order_id in seen:
            continue
        seen.add(order_id)
        product = conv.product or rng.choice(products)
        placed = now - dt.timedelta(days=rng.randint(12, 30))
        inputs.append(
            OrderInput(
                external_id=order_id,
                buyer_external_id=conv.buyer.external_id,
                status="paid",
                currency="USD",
                paid_amount=product.price,
                total_amount=product.price,
                placed_at=placed,
                paid_at=placed + dt.timedelta(minutes=20),
                items=(
                    ItemInput(
                        title=product.title,
                        quantity=1,
                        unit_price=product.price,
                        product_external_id=product.external_id,
                    ),
                ),
            )
        )
        plans.append(
            (
                order_id,
                [
                    "in_transit",
                    "available_for_pickup",
                    "stalled",
                    "split",
                    "delivered",
                    "at_customs",
                ][n % 6],
            )
        )
    # Orders waiting for payment (payment reminders) and paid ones about to miss ship-by.
    buyers = list(Buyer.objects.filter(shop=shop).order_by("pk"))
    for i, buyer in enumerate(buyers[:6]):
        product = products[(i * 5) % len(products)]
        unpaid = i % 2 == 0
        placed = now - dt.timedelta(hours=3 + i * 7 if unpaid else 60 + i)
        inputs.append(
            OrderInput(
                external_id=f"90{4100 + i}",
                buyer_external_id=buyer.external_id,
                status="placed" if unpaid else "paid",
                currency="USD",
                paid_amount=None if unpaid else product.price * 2,
                total_amount=product.price * 2,
                placed_at=placed,
                paid_at=None if unpaid else placed + dt.timedelta(minutes=5),
                items=(
                    ItemInput(
                        title=product.title,
                        quantity=2,
                        unit_price=product.price,
                        product_external_id=product.external_id,
                    ),
                ),
            )
        )
    upsert_orders(shop=shop, inputs=inputs, source="import")
    for k, (order_id, plan) in enumerate(plans):
        carrier = CARRIERS[k % len(CARRIERS)]
        number = f"LP{order_id}{k:02d}CN"
        start = now - dt.timedelta(days=10)
        steps = [("info_received", start), ("in_transit", start + dt.timedelta(days=1))]
        if plan == "available_for_pickup":
            steps.append(("available_for_pickup", now - dt.timedelta(days=2)))
        elif plan == "stalled":
            steps = [
                ("info_received", now - dt.timedelta(days=16)),
                ("in_transit", now - dt.timedelta(days=14)),
            ]
        elif plan == "delivered":
            steps.append(("delivered", now - dt.timedelta(days=1)))
        elif plan == "at_customs":
            steps.append(("at_customs", now - dt.timedelta(days=3)))
        _tracking(shop, number, carrier, order_id, steps)
        if plan == "split":
            _tracking(
                shop,
                f"YT{order_id}{k:02d}",
                "YunExpress",
                order_id,
                [("info_received", start), ("in_transit", now - dt.timedelta(days=4))],
            )
