"""Conversation events: one row per state change, feeding the timeline, live pushes and metrics.

Each ``EventKind`` has exactly one writer below, so what a kind's ``data`` holds is written
down once. A row reaches agents' sockets only after the surrounding transaction commits.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.utils import timezone

from kefu.accounts.models import User
from kefu.conversations import realtime
from kefu.conversations.models import (
    Conversation,
    ConversationEvent,
    ConversationMark,
    EventKind,
    Message,
)
from kefu.core.db.bulk import insert_instances


class _Deferred(threading.local):
    rows: list[ConversationEvent] | None = None


_deferred = _Deferred()


@contextmanager
def deferred(*, push_from_memory: bool = False) -> Iterator[None]:
    """Inside the block events are recorded in memory and written when it ends, with one
    multi-row INSERT in the order they were recorded, then pushed after commit together. The
    intake worker's batch uses it (issue 15); the conversations and messages the events name
    must be saved before the block ends. Nothing is written when the block raises.

    ``push_from_memory``: the caller's conversation objects carry their buyer, assignee and
    product as written, so the push is built from the events' objects, not read back."""
    outer = _deferred.rows
    rows: list[ConversationEvent] = []
    _deferred.rows = rows
    try:
        yield
    finally:
        _deferred.rows = outer
    if rows:
        insert_instances(rows, now=timezone.now())
        if realtime.CAN_PUSH_HERE and push_from_memory:
            realtime.publish_events_on_commit(rows)
        elif realtime.CAN_PUSH_HERE:
            realtime.publish_many_on_commit([row.pk for row in rows])


def _record(
    conversation: Conversation,
    kind: EventKind,
    *,
    actor: User | None = None,
    message: Message | None = None,
    **data: Any,
) -> ConversationEvent:
    can_push = realtime.CAN_PUSH_HERE
    if _deferred.rows is not None:
        event = ConversationEvent(
            shop_id=conversation.shop_id,
            conversation=conversation,
            kind=kind,
            actor=actor,
            message=message,
            data=data,
            needs_relay=not can_push,
        )
        _deferred.rows.append(event)
        return event
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
        realtime.publish_on_commit(event.pk)
    return event


def conversation_created(conversation: Conversation, *, reason: str = "") -> ConversationEvent:
    data: dict[str, Any] = {
        "entry_point": conversation.entry_point,
        "group": conversation.group,
        "channel": conversation.channel,
    }
    if reason:
        data["reason"] = reason
    return _record(conversation, EventKind.CREATED, **data)


def conversation_reopened(
    conversation: Conversation, *, reason: str, actor: User | None = None
) -> ConversationEvent:
    return _record(conversation, EventKind.REOPENED, actor=actor, reason=reason)


def message_received(conversation: Conversation, message: Message) -> ConversationEvent:
    return _record(conversation, EventKind.MESSAGE_RECEIVED, message=message)


def automatic_message_sent(
    conversation: Conversation, message: Message, *, automation: str
) -> ConversationEvent:
    return _record(conversation, EventKind.AUTO_MESSAGE, message=message, automation=automation)


def reply_sent(conversation: Conversation, message: Message, *, actor: User) -> ConversationEvent:
    return _record(conversation, EventKind.REPLY_SENT, actor=actor, message=message)


def agent_assigned(
    conversation: Conversation,
    agent: User,
    *,
    reason: str,
    previous: User | None,
    actor: User | None = None,
) -> ConversationEvent:
    """``assigned`` for a first assignee, ``reassigned`` when it moves from ``previous``."""
    data: dict[str, Any] = {"agent": agent.username, "reason": reason}
    if previous is None:
        return _record(conversation, EventKind.ASSIGNED, actor=actor, **data)
    data |= {"from_agent": previous.username, "from_user_id": previous.pk}
    return _record(conversation, EventKind.REASSIGNED, actor=actor, **data)


def conversation_unassigned(
    conversation: Conversation, *, previous: User, reason: str
) -> ConversationEvent:
    return _record(
        conversation,
        EventKind.UNASSIGNED,
        reason=reason,
        from_agent=previous.username,
        from_user_id=previous.pk,
    )


def conversation_resolved(conversation: Conversation, *, actor: User) -> ConversationEvent:
    return _record(conversation, EventKind.RESOLVED, actor=actor)


def order_chosen(
    conversation: Conversation, *, actor: User, order: str, previous: str
) -> ConversationEvent:
    return _record(
        conversation, EventKind.ORDER_CHOSEN, actor=actor, order=order, previous=previous
    )


def note_added(
    conversation: Conversation, *, text: str, actor: User | None, data: dict[str, Any]
) -> ConversationEvent:
    return _record(conversation, EventKind.NOTE, actor=actor, text=text, **data)


def mark_added(
    conversation: Conversation, mark: ConversationMark, *, actor: User
) -> ConversationEvent:
    return _record(
        conversation,
        EventKind.MARKED,
        actor=actor,
        color=mark.color,
        label=mark.label,
        mark_id=mark.pk,
    )


def mark_duty_done(
    conversation: Conversation, mark: ConversationMark, *, actor: User, tracking_number: str
) -> ConversationEvent:
    return _record(
        conversation,
        EventKind.MARK_DUTY_DONE,
        actor=actor,
        color=mark.color,
        mark_id=mark.pk,
        tracking_number=tracking_number,
    )


def mark_cleared(
    conversation: Conversation, mark: ConversationMark, *, actor: User
) -> ConversationEvent:
    return _record(conversation, EventKind.UNMARKED, actor=actor, color=mark.color, mark_id=mark.pk)


def delivery_failed(
    conversation: Conversation, message: Message, *, reason: str, error: str
) -> ConversationEvent:
    return _record(
        conversation, EventKind.DELIVERY_FAILED, message=message, reason=reason, error=error
    )


def delivery_retried(
    conversation: Conversation, message: Message, *, actor: User, previous: str
) -> ConversationEvent:
    return _record(
        conversation, EventKind.DELIVERY_RETRIED, actor=actor, message=message, previous=previous
    )
