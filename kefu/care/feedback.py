"""Buyers' feedback (R-40): a suggestion or an opinion saved from a conversation, with the
product it is about, listed for the owner and exportable."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kefu.accounts.models import User
from kefu.care.models import Feedback, FeedbackKind
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation


def save_feedback(
    *,
    actor: User,
    conversation: Conversation,
    kind: str,
    text: str,
    product_id: int | None = None,
) -> Feedback:
    """``conversation`` comes from `access_conversation`: the buyer's words in a chat the
    actor serves. The product defaults to the chat's product."""
    if actor.shop_id is None or conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    if kind not in FeedbackKind.values:
        raise ValidationError("a suggestion, an opinion, praise or a product problem", code="kind")
    text = text.strip()
    if not text or len(text) > 5000:
        raise ValidationError("write the buyer's feedback, up to 5,000 characters", code="text")
    product = None
    if product_id is not None:
        product = Product.objects.filter(shop_id=actor.shop_id, pk=product_id).first()
        if product is None:
            raise ValidationError("unknown product", code="product")
    return Feedback.objects.create(
        shop_id=actor.shop_id,
        kind=kind,
        text=text,
        conversation=conversation,
        buyer_id=conversation.buyer_id,
        product=product or conversation.product,
        created_by=actor,
        created_at=timezone.now(),
    )


FEEDBACK_HEADER = ["saved at", "kind", "buyer", "product", "conversation", "saved by", "text"]


def feedback_rows(items: Iterable[Feedback]) -> list[list[Any]]:
    return [
        [
            f.created_at,
            f.kind,
            str(f.buyer) if f.buyer else "",
            f.product.title if f.product else "",
            f.conversation_id or "",
            f.created_by.name_for_buyers if f.created_by else "",
            f.text,
        ]
        for f in items
    ]
