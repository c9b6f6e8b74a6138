"""What followed an automatic reply or a script use (R-09, R-14): buyer reply, order, complaint."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.automation.models import AutomationHit, HitKind, Script
from kefu.conversations.models import Buyer, Conversation, Message

OUTCOME_WINDOW = dt.timedelta(hours=48)


def note_buyer_reply(message: Message) -> int:
    """The buyer wrote `message`: auto-replies and script uses of the conversation in the 48 h
    before count as answered. Returns how many were marked."""
    return AutomationHit.objects.filter(
        shop_id=message.shop_id,
        conversation_id=message.conversation_id,
        buyer_replied_at__isnull=True,
        created_at__gte=message.sent_at - OUTCOME_WINDOW,
        created_at__lt=message.sent_at,
    ).update(buyer_replied_at=message.sent_at)


def note_order_placed(*, shop: Shop, buyer: Buyer, placed_at: dt.datetime) -> int:
    """The orders domain calls this when a buyer places an order: auto-replies and script
    uses for that buyer in the 48 h before count as followed by an order."""
    return AutomationHit.objects.filter(
        shop=shop,
        buyer=buyer,
        ordered_at__isnull=True,
        created_at__gte=placed_at - OUTCOME_WINDOW,
        created_at__lte=placed_at,
    ).update(ordered_at=placed_at)


def note_complaint(*, shop: Shop, conversation: Conversation, at: dt.datetime) -> int:
    """The care domain calls this when a complaint is recorded for a conversation."""
    return AutomationHit.objects.filter(
        shop=shop,
        conversation=conversation,
        complained_at__isnull=True,
        created_at__gte=at - OUTCOME_WINDOW,
        created_at__lte=at,
    ).update(complained_at=at)


def record_script_use(
    *,
    agent: User,
    conversation: Conversation,
    script: Script,
    language: str,
    message: Message | None = None,
    suggested: bool = False,
) -> AutomationHit:
    """Call when an agent sends a reply built from a script (R-14); `message` is the sent
    agent message, `suggested` whether the script came from the suggestions."""
    shop = shop_of(agent)
    if conversation.shop_id != shop.pk or script.shop_id != shop.pk:
        raise ValidationError("script and conversation must belong to your shop", code="shop")
    if message is not None and message.conversation_id != conversation.pk:
        raise ValidationError("the message is not in this conversation", code="message")
    return AutomationHit.objects.create(
        shop=shop,
        kind=HitKind.SCRIPT,
        conversation=conversation,
        buyer_id=conversation.buyer_id,
        reply_message=message,
        script=script,
        language=language,
        agent=agent,
        suggested=suggested,
        created_at=message.sent_at if message is not None else timezone.now(),
    )
