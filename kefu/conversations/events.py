"""Event rows: one per state change of a conversation. They feed the timeline and live pushes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from kefu.accounts.models import User
from kefu.conversations import realtime
from kefu.conversations.models import Conversation, ConversationEvent, Message


def record_event(
    conversation: Conversation,
    kind: str,
    *,
    actor: User | None = None,
    message: Message | None = None,
    **data: Any,
) -> ConversationEvent:
    """Store the event; it reaches sockets only after the surrounding transaction commits."""
    can_push = realtime.CAN_PUSH_HERE
    event = ConversationEvent.objects.create(
        shop_id=conversation.shop_id,
        conversation=conversation,
        kind=kind,
        actor=actor,
        message=message,
        data=data,
        needs_relay=not can_push,
    )
    if can_push:
        transaction.on_commit(lambda: realtime.publish([event.pk]))
    return event
