"""What the reply box offers: scripts for the buyer's latest message, filled from the
conversation's order and parcels (R-11, R-13), and the agent's quick replies.

Reads only; it joins the orders and automation domains for the conversation at hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from kefu.accounts.models import User
from kefu.automation import selectors as automation
from kefu.automation.placeholders import PLACEHOLDERS, Rendered, gap_marker
from kefu.conversations.models import Conversation, Direction, Message

LANGUAGES = ("en", "ru", "es", "zh-hans")


@lru_cache(maxsize=1)
def _gap_pattern() -> re.Pattern[str]:
    markers = {gap_marker(name, lang) for name in PLACEHOLDERS for lang in LANGUAGES}
    return re.compile("|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True)))


def unfilled_gaps(text: str) -> list[str]:
    """Gap markers a rendered script left in the text ("[order id?]"): never sent to buyers."""
    return _gap_pattern().findall(text)


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
    order_month: Any = None
    arrival_date: Any = None


def _order_state(card: Any) -> str | None:
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
    from kefu.orders.selectors import orders_for_buyer

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
    return OrderFacts(
        stage="pre_sale" if pre else ("in_sale" if in_sale else "after_sale"),
        order_state=state,
        order_id=card.order.external_id,
        tracking_numbers=tuple(p.parcel.tracking_number for p in card.parcels),
        carrier=first.parcel.carrier or None if first else None,
        tracking_url=(first.url or universal_tracking_url(first.parcel.tracking_number))
        if first
        else None,
        order_month=card.order.placed_at.date() if card.order.placed_at else None,
        arrival_date=max(arrived).astimezone(ZoneInfo(conv.shop.timezone)).date()
        if arrived
        else None,
    )


@dataclass(frozen=True)
class ScriptOffer:
    script_id: int
    variant_id: int
    title: str
    reason: str
    language: str
    rendered: Rendered


def script_offers(
    user: User, conv: Conversation, *, limit: int = 3
) -> tuple[list[ScriptOffer], OrderFacts]:
    last_buyer = (
        Message.objects.filter(conversation=conv, direction=Direction.BUYER)
        .order_by("-sent_at", "-pk")
        .values_list("text", flat=True)
        .first()
    ) or ""
    facts = order_facts(user, conv)
    language = automation.buyer_language(conv.buyer) or "en"
    suggestions = automation.suggest_scripts(
        shop=conv.shop,
        conversation_stage=facts.stage,
        text=last_buyer,
        language=language,
        order_state=facts.order_state,
        limit=limit,
    )
    context = automation.placeholder_context_for(
        conversation=conv,
        agent=user,
        order_id=facts.order_id,
        tracking_numbers=facts.tracking_numbers,
        carrier=facts.carrier,
        tracking_url=facts.tracking_url,
        order_month=facts.order_month,
        arrival_date=facts.arrival_date,
    )
    offers = []
    for s in suggestions:
        if s.variant_id is None:  # a script with no text in any language yet
            continue
        variant = automation.access_variant(user, s.variant_id)
        offers.append(
            ScriptOffer(
                script_id=s.script_id,
                variant_id=s.variant_id,
                title=s.title,
                reason=s.reason,
                language=s.language,
                rendered=automation.render_script(variant, context),
            )
        )
    return offers, facts
