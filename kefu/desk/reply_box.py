"""What the reply box offers an agent (R-11, R-13): scripts for the buyer's latest message,
filled from the conversation's order and parcels. Reads only."""

from __future__ import annotations

from dataclasses import dataclass

from kefu.accounts.models import User
from kefu.automation import selectors as automation
from kefu.automation.models import BuyerAutomationState
from kefu.automation.placeholders import Rendered
from kefu.conversations.models import Conversation, Direction, Message
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
