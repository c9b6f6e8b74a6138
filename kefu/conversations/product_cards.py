"""Product cards (R-21): an agent recommends one of the shop's products to the buyer.

A card is an ordinary agent reply of kind ``product_card``: it goes through ``send_reply``, so
the rule guard, the outbox, delivery to the channel and the metrics treat it like any reply.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError

from kefu.accounts.models import User
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation, Message, MessageKind
from kefu.conversations.services import send_reply

CENT = Decimal("0.01")


def _web_link(url: str) -> str:
    # Only http(s): the link is rendered as an href in the buyer's widget and the agent's
    # timeline, and a catalog row is not validated like a form field would be.
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def card_payload(product: Product) -> dict[str, Any]:
    """What a channel needs to draw the card. Money stays a decimal string, never a float.

    ``price`` is None for a product without a price (the catalog's default of 0 means the
    price was never imported), so no channel shows the buyer "0.00".
    """
    return {
        "product_external_id": product.external_id,
        "title": product.title,
        "price": str(product.price.quantize(CENT)) if product.price > 0 else None,
        "currency": product.currency,
        "url": _web_link(product.url),
    }


def card_text(payload: dict[str, Any]) -> str:
    """The readable fallback for channels that cannot draw cards: title, price, link.

    Language-neutral on purpose: it is sent to buyers in any language.
    """
    first = payload["title"]
    if payload["price"] is not None:
        first = f"{first} · {payload['price']} {payload['currency']}"
    return "\n".join(line for line in (first, payload["url"]) if line)


def send_product_card(
    *,
    actor: User,
    conversation: Conversation,
    product: Product,
    confirm_warnings: bool = False,
) -> Message:
    """Send ``product`` to the conversation's buyer as a product card.

    The caller has resolved ``conversation`` through ``access_conversation`` and ``product``
    through ``access_product`` for ``actor``; a product of another shop is refused here too,
    and nothing is stored. The rule guard's ``RuleStop`` and ``send_reply``'s refusals pass
    through as for any reply.
    """
    if product.shop_id != actor.shop_id or product.shop_id != conversation.shop_id:
        raise PermissionDenied("product of another shop")
    if not product.title.strip():
        raise ValidationError("this product has no title to show the buyer", code="no_title")
    payload = card_payload(product)
    return send_reply(
        actor=actor,
        conversation=conversation,
        text=card_text(payload),
        kind=MessageKind.PRODUCT_CARD,
        payload=payload,
        confirm_warnings=confirm_warnings,
    )
