"""What the reply box offers an agent (R-11, R-13): scripts for the buyer's latest message,
filled from the conversation's order and parcels. Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.accounts.models import User
from kefu.automation import selectors as automation
from kefu.automation.models import BuyerAutomationState
from kefu.automation.placeholders import PlaceholderContext, Rendered
from kefu.conversations.models import Conversation, Direction, Message
from kefu.orders.config import order_settings
from kefu.orders.facts import OrderFacts, order_facts


def language_override(conv: Conversation) -> str:
    """The buyer's language as an agent set it, or "" when detection decides."""
    state = BuyerAutomationState.objects.filter(buyer_id=conv.buyer_id).first()
    return state.language_override if state else ""


@dataclass(frozen=True)
class ScriptOffer:
    script_id: int
    variant_id: int
    title: str
    reason: str
    language: str
    rendered: Rendered


def suggestions_enabled(conv: Conversation) -> bool:
    """The owner's "script suggestions" switch (automation settings): off, nothing is offered."""
    return automation.settings_of(conv.shop).suggestions_enabled


def placeholder_context(user: User, conv: Conversation) -> tuple[PlaceholderContext, OrderFacts]:
    """Everything a script may name for this conversation, as `user` may see it: buyer and
    agent, the product page or else the order's items, the product's facts, the order and
    its parcels, and the shop's own promises (shipping promise, refund time)."""
    facts = order_facts(user, conv)
    promises = order_settings(shop=conv.shop)
    context = automation.placeholder_context_for(
        conversation=conv,
        agent=user,
        order_id=facts.order_id,
        tracking_numbers=facts.tracking_numbers,
        carrier=facts.carrier,
        tracking_url=facts.tracking_url,
        order_month=facts.order_month,
        arrival_date=facts.arrival_date,
        ship_by_hours=promises.ship_by_hours,
        refund_days=promises.refund_days,
        item_titles=facts.item_titles,
        order_product=facts.product,
    )
    return context, facts


def script_offers(
    user: User, conv: Conversation, *, limit: int = 3
) -> tuple[list[ScriptOffer], OrderFacts]:
    context, facts = placeholder_context(user, conv)
    if not suggestions_enabled(conv):
        return [], facts
    last_buyer = (
        Message.objects.filter(conversation=conv, direction=Direction.BUYER)
        .order_by("-sent_at", "-pk")
        .values_list("text", flat=True)
        .first()
    ) or ""
    language = automation.buyer_language(conv.buyer) or "en"
    suggestions = automation.suggest_scripts(
        shop=conv.shop,
        conversation_stage=facts.stage,
        text=last_buyer,
        language=language,
        order_state=facts.order_state,
        limit=limit,
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
