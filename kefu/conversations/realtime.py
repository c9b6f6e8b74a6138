"""Live pushes to agents' and buyers' sockets, always from committed event rows.

With Redis every process publishes directly. In embedded mode the channel layer lives in the
web process only, so other processes (the Celery worker) leave `needs_relay` rows that the
web process relays (see relay.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from kefu.conversations.models import ConversationEvent, Direction

log = logging.getLogger("kefu.realtime")

# True in the web process (set at ASGI startup) and whenever Redis is the channel layer.
CAN_PUSH_HERE: bool = bool(settings.REDIS_URL)


def owners_group(shop_id: int) -> str:
    return f"shop.{shop_id}.owners"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def widget_group(shop_id: int, buyer_external_id: str) -> str:
    digest = hashlib.sha256(f"{shop_id}:{buyer_external_id}".encode()).hexdigest()[:32]
    return f"widget.{digest}"


def _messages_for(events: list[ConversationEvent]) -> list[tuple[str, dict[str, Any]]]:
    """The channel-layer messages of these events. They may be rows just read back or the
    intake batch's own objects (``publish_events_on_commit``): values go out as the database
    gives them back — plain strings, times in UTC — so both read the same."""
    out: list[tuple[str, dict[str, Any]]] = []
    for event in events:
        conv = event.conversation
        payload = {
            "id": event.pk,
            "kind": str(event.kind),
            "conversation_id": conv.pk,
            "status": str(conv.status),
            "unread": conv.unread_count,
            "group": conv.group,
            "assignee": conv.assignee.username if conv.assignee else None,
            "buyer": conv.buyer.name or conv.buyer.external_id,
            "preview": conv.last_message_preview,
            "message_id": event.message_id,
            "direction": str(event.message.direction) if event.message else None,
        }
        agent_msg = {"type": "inbox.event", "event": payload}
        recipients = {owners_group(conv.shop_id)}
        if conv.assignee_id:
            recipients.add(user_group(conv.assignee_id))
        if conv.product is not None and conv.product.owner_id:
            recipients.add(user_group(conv.product.owner_id))
        moved_from = event.data.get("from_user_id")
        if moved_from:  # the agent who lost it sees it leave its list
            recipients.add(user_group(int(moved_from)))
        out.extend((group, agent_msg) for group in sorted(recipients))
        msg = event.message
        if (
            msg is not None
            and event.kind in ("reply_sent", "auto_message")
            and msg.direction in (Direction.AGENT, Direction.AUTO)
        ):
            out.append(
                (
                    widget_group(conv.shop_id, conv.buyer.external_id),
                    {
                        "type": "widget.message",
                        "message": {
                            "id": msg.pk,
                            "text": msg.text,
                            "direction": str(msg.direction),
                            "author": msg.author.name_for_buyers if msg.author else "",
                            "sent_at": msg.sent_at.astimezone(dt.UTC).isoformat(),
                        },
                    },
                )
            )
    return out


# A group's messages of one transaction go as one channel-layer message of these types.
_BATCHED = {
    "inbox.event": ("inbox.events", "event"),
    "widget.message": ("widget.messages", "message"),
}


def _coalesced(messages: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]]:
    """One channel-layer message per recipient group, holding that group's messages in
    order: an intake batch pushes hundreds of events per transaction, and each group_send
    is a Redis round trip per group (decisions §47). A group with one message gets it as is."""
    by_group: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for group, message in messages:
        by_group.setdefault((group, message["type"]), []).append(message)
    out: list[tuple[str, dict[str, Any]]] = []
    for (group, kind), batch in by_group.items():
        if len(batch) == 1 or kind not in _BATCHED:
            out.extend((group, m) for m in batch)
            continue
        batched, field = _BATCHED[kind]
        out.append((group, {"type": batched, field + "s": [m[field] for m in batch]}))
    return out


def _load(event_ids: list[int]) -> list[ConversationEvent]:
    return list(
        ConversationEvent.objects.filter(pk__in=event_ids)
        .select_related(
            "conversation__buyer",
            "conversation__assignee",
            "conversation__product",
            "message__author",
        )
        .order_by("id")
    )


def publish(event_ids: list[int]) -> None:
    _send(_load(event_ids))


def _send(events: list[ConversationEvent]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    messages = _coalesced(_messages_for(events))
    if messages:
        # One bridge into the event loop for all of them: outside a running loop each
        # async_to_sync call builds a thread and a loop (and, with Redis, a connection).
        async_to_sync(_send_all)(layer, messages)


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:  # a push is best effort; the row stays and pages re-read it
            log.exception("push_failed group=%s", group)


class _PendingPush(threading.local):
    ids: list[int] | None = None
    # Events whose objects already hold what the push says (the intake batch's).
    loaded: list[ConversationEvent] | None = None
    flush: Callable[[], None] | None = None


_pending = _PendingPush()


def publish_events_on_commit(events: list[ConversationEvent]) -> None:
    """``publish_on_commit`` for saved events whose conversation (with its buyer, assignee
    and product) and message objects are the ones the transaction wrote, as the intake
    batch's are: the push is built from them instead of reading the rows back (that read
    was ~15 % of the batch's time, decisions §55). The objects must not change after the
    transaction commits."""
    if events:
        _add_pending(events, loaded=True)


def publish_many_on_commit(event_ids: list[int]) -> None:
    """``publish_on_commit`` for the events of a multi-row INSERT."""
    if event_ids:
        _add_pending(event_ids, loaded=False)


def publish_on_commit(event_id: int) -> None:
    """Push the event once the surrounding transaction commits, together with every other
    event of that transaction: one load and one send per transaction, not per event."""
    _add_pending([event_id], loaded=False)


def _add_pending(entries: list[Any], *, loaded: bool) -> None:
    """Add events (objects or ids) to the current transaction's push, registering the
    commit callback that sends it once per transaction."""
    connection = transaction.get_connection()
    if (
        _pending.ids is not None
        and _pending.loaded is not None
        and connection.in_atomic_block
        and any(entry[1] is _pending.flush for entry in connection.run_on_commit)
    ):
        (_pending.loaded if loaded else _pending.ids).extend(entries)
        return
    # A new transaction, or the last one rolled back and took its callback with it.
    ids: list[int] = [] if loaded else list(entries)
    objects: list[ConversationEvent] = list(entries) if loaded else []

    def flush() -> None:
        if _pending.ids is ids:
            _pending.ids = _pending.loaded = _pending.flush = None
        if not objects:
            publish(ids)
            return
        # In the order of the rows, as a read back would give them.
        _send(sorted(objects + (_load(ids) if ids else []), key=lambda e: e.pk))

    _pending.ids, _pending.loaded, _pending.flush = ids, objects, flush
    transaction.on_commit(flush)  # runs at once outside a transaction


async def publish_async(event_ids: list[int]) -> None:
    from channels.db import database_sync_to_async

    layer = get_channel_layer()
    if layer is None:
        return
    messages = await database_sync_to_async(lambda: _coalesced(_messages_for(_load(event_ids))))()
    for group, message in messages:
        await layer.group_send(group, message)
