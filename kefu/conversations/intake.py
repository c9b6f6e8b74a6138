"""Storing a buyer's message: the buyer, the conversation it belongs to, routing (R-03).

Automatic replies are not decided here: ``kefu.desk.intake`` runs this and automation in one
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop
from kefu.catalog.models import Product
from kefu.conversations import events, load
from kefu.conversations.assignment import is_available, route_conversation
from kefu.conversations.buyers import BuyerIn, checked_buyer, upsert_buyers
from kefu.conversations.models import (
    CAMPAIGN_AUTOMATION,
    Buyer,
    Conversation,
    ConversationStatus,
    Direction,
    EntryPoint,
    Message,
)
from kefu.conversations.routing import group_for_entry_point
from kefu.conversations.text import clean_text, preview
from kefu.integrations.channels import Channel

# A buyer writing again soon after resolution continues the same thread (metrics measure
# the first response from the reopening).
REOPEN_WINDOW = timedelta(days=7)
# A buyer's message this soon after a campaign message, with nothing from the shop since but
# in that conversation, is a reply to the campaign (the outreach results' "replied" window).
CAMPAIGN_REPLY_WINDOW = timedelta(hours=48)


@dataclass(frozen=True)
class BuyerMessageIn:
    """A buyer's message as a channel hands it over, checked by ``checked_message``."""

    buyer: BuyerIn
    text: str
    entry_point: str
    channel: str = Channel.MARKETPLACE
    external_id: str | None = None
    product_external_id: str | None = None
    order_external_id: str | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True)
class IntakeResult:
    conversation: Conversation
    message: Message
    created: bool
    auto_replies: list[Message] = field(default_factory=list)


# `TextChoices.values` builds a new list on every access: a set, once, for a check per message.
_ENTRY_POINTS = frozenset(EntryPoint.values)
_CHANNELS = frozenset(Channel.values)


def checked_message(incoming: BuyerMessageIn) -> BuyerMessageIn:
    """The message with its text cleaned, or ``ValidationError`` naming what is wrong."""
    text = clean_text(incoming.text)
    if incoming.entry_point not in _ENTRY_POINTS:
        raise ValidationError(f"unknown entry point {incoming.entry_point!r}", code="entry_point")
    if incoming.channel not in _CHANNELS:
        raise ValidationError(f"unknown channel {incoming.channel!r}", code="channel")
    buyer = checked_buyer(incoming.buyer)
    if incoming.sent_at is not None and timezone.is_naive(incoming.sent_at):
        raise ValidationError(_("sent_at needs a time zone offset"), code="naive_time")
    return BuyerMessageIn(
        # Channels pad ids with spaces now and then: one buyer, whatever the padding.
        buyer=replace(buyer, external_id=buyer.external_id.strip()),
        text=text,
        entry_point=incoming.entry_point,
        channel=incoming.channel,
        external_id=incoming.external_id,
        product_external_id=incoming.product_external_id,
        order_external_id=incoming.order_external_id,
        sent_at=incoming.sent_at,
    )


def stored_message(shop: Shop, external_id: str) -> Message | None:
    """The message a channel already delivered under ``external_id`` (retries are normal)."""
    return (
        Message.objects.filter(shop=shop, external_id=external_id)
        .select_related("conversation__assignee")
        .first()
    )


def _live_conversation(shop: Shop, buyer_id: int, group: str, now: datetime) -> Conversation | None:
    """The buyer's open conversation of the group, or a recently resolved one reopened."""
    conv = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(shop=shop, buyer_id=buyer_id, group=group)
        .exclude(status=ConversationStatus.RESOLVED)
        .select_related("assignee__presence", "product")
        .first()
    )
    if conv is not None:
        return conv
    conv = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(
            shop=shop,
            buyer_id=buyer_id,
            group=group,
            status=ConversationStatus.RESOLVED,
            resolved_at__gte=now - REOPEN_WINDOW,
        )
        .select_related("assignee__presence", "product")
        .order_by("-resolved_at")
        .first()
    )
    return conv


def campaign_reply_group(shop: Shop, buyer_id: int, at: datetime) -> str | None:
    """The group of the campaign conversation this message answers, or None.

    A marketplace chat does not say which message a buyer answers, so: the shop's latest
    message to the buyer (a person's or an automatic one) is in a conversation that got a
    campaign message in the 48 h before this one. The reply then goes to that conversation's
    group (outreach when the shop has outreach agents) whatever page the buyer wrote from;
    once a person wrote to the buyer elsewhere, or after 48 h, the page decides again.
    """
    last = (
        Message.objects.filter(
            shop=shop,
            buyer_id=buyer_id,
            direction__in=(Direction.AGENT, Direction.AUTO),
            sent_at__lte=at,
        )
        .order_by("-sent_at", "-id")
        .values_list("conversation_id", "conversation__group")
        .first()
    )
    if last is None:
        return None
    answered = Message.objects.filter(
        conversation_id=last[0],
        direction=Direction.AUTO,
        payload__automation=CAMPAIGN_AUTOMATION,
        sent_at__gte=at - CAMPAIGN_REPLY_WINDOW,
        sent_at__lte=at,
    ).exists()
    return str(last[1]) if answered else None


def store_buyer_message(*, shop: Shop, incoming: BuyerMessageIn) -> tuple[Conversation, Message]:
    """Store a checked message and route its conversation. Call inside a transaction.

    Raises ``IntegrityError`` when a concurrent delivery stored the same message or created
    the same conversation first; the caller retries in a new transaction.
    """
    now = timezone.now()
    at = incoming.sent_at or now
    buyer_id = upsert_buyers(shop=shop, seen=[(incoming.buyer, at)], live=True)[
        incoming.buyer.external_id
    ]
    product = (
        Product.objects.filter(shop=shop, external_id=incoming.product_external_id).first()
        if incoming.product_external_id
        else None
    )
    group = campaign_reply_group(shop, buyer_id, at) or group_for_entry_point(incoming.entry_point)
    conv = _live_conversation(shop, buyer_id, group, now)
    if conv is None:
        conv = Conversation.objects.create(
            shop=shop,
            buyer_id=buyer_id,
            channel=incoming.channel,
            entry_point=incoming.entry_point,
            group=group,
            status=ConversationStatus.OPEN,
            product=product,
            order_external_id=(incoming.order_external_id or "")[:80],
            last_message_at=at,
            opened_at=at,
        )
        events.conversation_created(conv)
    elif conv.status == ConversationStatus.RESOLVED:
        conv.status = ConversationStatus.OPEN
        conv.opened_at = at
        conv.resolved_at = None
        load.shift(conv.assignee_id, +1)
        events.conversation_reopened(conv, reason="buyer_message")
    if product is not None and conv.product_id != product.pk:
        conv.product = product
    if incoming.order_external_id:
        conv.order_external_id = incoming.order_external_id[:80]
    message = Message.objects.create(
        shop=shop,
        conversation=conv,
        buyer_id=buyer_id,
        direction=Direction.BUYER,
        text=incoming.text,
        external_id=incoming.external_id,
        sent_at=at,
    )
    conv.status = ConversationStatus.OPEN
    conv.unread_count += 1
    if conv.waiting_since is None:
        conv.waiting_since = at
    if at >= conv.last_message_at:
        conv.last_message_at = at
        conv.last_message_preview = preview(incoming.text)
    conv.save()
    Buyer.objects.filter(pk=buyer_id).filter(
        Q(last_message_at__isnull=True) | Q(last_message_at__lt=at)
    ).update(last_message_at=at)
    if conv.assignee is None or not is_available(conv.assignee):
        route_conversation(conv, reason_prefix="" if conv.assignee is None else "offline_")
    events.message_received(conv, message)
    return conv, message
