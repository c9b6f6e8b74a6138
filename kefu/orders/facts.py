"""What the reply box and the rule guard need to know of a conversation's order (R-11, R-13):
its stage, state, parcels and dates, read within what the agent may see."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from kefu.accounts.models import User
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation
from kefu.orders.selectors import OrderCard, orders_for_buyer


def universal_tracking_url(number: str) -> str:
    """A multi-carrier tracking page, used when the shop set no page for the parcel's carrier."""
    return f"https://t.17track.net/en#nums={number}"


@dataclass(frozen=True)
class OrderFacts:
    stage: str
    order_state: str | None
    order_id: str | None = None
    tracking_numbers: tuple[str, ...] = ()
    carrier: str | None = None
    tracking_url: str | None = None
    order_month: dt.date | None = None
    arrival_date: dt.date | None = None
    # What the buyer bought: {product} when the chat did not start on a product page.
    item_titles: tuple[str, ...] = ()
    product: Product | None = None  # the first item linked to the catalogue, for its facts


def _order_state(card: OrderCard) -> str | None:
    statuses = [p.status for p in card.parcels]
    shipped = [p for p in card.parcels if not p.parcel.is_reshipment]
    for status in (
        "available_for_pickup",
        "delivery_failed",
        "stalled",
        "at_customs",
        "out_for_delivery",
    ):
        if status in statuses:
            return status
    if len(shipped) > 1:
        return "split_parcels"
    order_status = card.order.status
    if card.payment_state in ("refunded", "partially_refunded"):
        return "refund_pending"
    if order_status == "placed":
        return "unpaid"
    if order_status == "paid":
        return "awaiting_shipment"
    if order_status == "delivered" or "delivered" in statuses:
        return "delivered"
    if statuses:
        return statuses[0] if statuses[0] in ("info_received", "in_transit") else "in_transit"
    return None


def order_facts(user: User, conv: Conversation) -> OrderFacts:
    """The conversation's order (or the buyer's latest one the user may see) as script facts."""
    pre = conv.group == "pre_sale"
    cards = orders_for_buyer(user=user, buyer=conv.buyer, highlight=conv.order_external_id, limit=5)
    card = next((c for c in cards if c.highlighted), None)
    if card is None and not conv.order_external_id:
        card = cards[0] if cards else None
    # A named order the user may not see stays unknown: filling the placeholders from another
    # of the buyer's orders would tell the buyer about the wrong parcel.
    if card is None:
        return OrderFacts(stage="pre_sale" if pre else "after_sale", order_state=None)
    state = _order_state(card)
    in_sale = state not in (None, "delivered", "refund_pending") and not pre
    first = card.parcels[0] if card.parcels else None
    arrived = [
        e.occurred_at
        for p in card.parcels
        for e in p.events
        if e.status in ("available_for_pickup", "delivered")
    ]
    linked = next((item.product for item in card.items if item.product_id is not None), None)
    return OrderFacts(
        item_titles=tuple(dict.fromkeys(i.title.strip() for i in card.items if i.title.strip())),
        product=linked,
        stage="pre_sale" if pre else ("in_sale" if in_sale else "after_sale"),
        order_state=state,
        order_id=card.order.external_id,
        tracking_numbers=tuple(p.parcel.tracking_number for p in card.parcels),
        carrier=first.parcel.carrier or None if first else None,
        tracking_url=(first.url or universal_tracking_url(first.parcel.tracking_number))
        if first
        else None,
        order_month=card.order.placed_at.astimezone(ZoneInfo(conv.shop.timezone)).date()
        if card.order.placed_at
        else None,
        arrival_date=max(arrived).astimezone(ZoneInfo(conv.shop.timezone)).date()
        if arrived
        else None,
    )
