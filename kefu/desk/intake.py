"""A buyer's message coming in, from any channel (R-03, R-07, R-08, R-41).

Stored, routed and answered automatically in one transaction: an automatic reply is never
sent for a message that was not stored, and a retried delivery stores nothing twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction

from kefu.accounts.models import Shop
from kefu.automation.auto_replies import automatic_replies_for
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.intake import (
    BuyerMessageIn,
    IntakeResult,
    checked_message,
    store_buyer_message,
    stored_message,
)
from kefu.conversations.models import Message
from kefu.conversations.outbound import queue_automatic_replies
from kefu.integrations.channels import Channel

log = logging.getLogger("kefu.conversations")


def receive_buyer_message(
    *,
    shop: Shop,
    buyer: BuyerIn,
    text: str,
    entry_point: str,
    channel: str = Channel.MARKETPLACE,
    external_id: str | None = None,
    product_external_id: str | None = None,
    order_external_id: str | None = None,
    sent_at: datetime | None = None,
) -> IntakeResult:
    """Store a buyer's message, route its conversation and send the automatic replies.

    Idempotent on ``external_id`` (unique per shop): the same id again returns the stored
    message with ``created=False`` and changes nothing. Bad input raises ``ValidationError``
    before anything is stored.
    """
    incoming = checked_message(
        BuyerMessageIn(
            buyer=buyer,
            text=text,
            entry_point=entry_point,
            channel=channel,
            external_id=external_id,
            product_external_id=product_external_id,
            order_external_id=order_external_id,
            sent_at=sent_at,
        )
    )
    if incoming.external_id is not None:
        existing = stored_message(shop, incoming.external_id)
        if existing is not None:
            return IntakeResult(existing.conversation, existing, created=False)
    for attempt in range(2):
        try:
            with transaction.atomic():
                conversation, message = store_buyer_message(shop=shop, incoming=incoming)
                replies = _automatic_replies(message)
                return IntakeResult(conversation, message, created=True, auto_replies=replies)
        except IntegrityError:
            # A concurrent delivery of the same message, or of the buyer's first message.
            if incoming.external_id is not None:
                existing = stored_message(shop, incoming.external_id)
                if existing is not None:
                    return IntakeResult(existing.conversation, existing, created=False)
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _automatic_replies(message: Message) -> list[Message]:
    """Welcome, out-of-hours and keyword replies, decided in the intake transaction."""
    try:
        replies = automatic_replies_for(message=message)
    except Exception:
        # The buyer's message matters more than an automatic reply: a failing automation
        # rolls back its own savepoint and intake goes on, instead of answering 500 to every
        # retry of that message.
        log.exception(
            "automation_failed shop=%s conversation=%s message=%s",
            message.shop_id,
            message.conversation_id,
            message.pk,
        )
        return []
    queue_automatic_replies(message.conversation, replies)
    return replies
