"""Live pushes to agents' and buyers' sockets, always from committed event rows.

With Redis every process publishes directly. In embedded mode the channel layer lives in the
web process only, so other processes (the Celery worker) leave `needs_relay` rows that the
web process relays (see relay.py).
"""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import hashlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
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
    if not messages:
        return
    if isinstance(layer, RedisChannelLayer) and _no_outer_loop():
        # A worker (the intake batch, Celery, the WSGI intake server): the process's pusher
        # sends it, in commit order, while this thread goes on (decisions §67).
        _pusher.submit(layer, messages)
        return
    # One bridge into the event loop for all of them: inside the ASGI server that is the
    # server's own loop and its connections.
    async_to_sync(_send_all)(layer, messages)


def _no_outer_loop() -> bool:
    """True when async_to_sync would build a thread, a loop and (with Redis) a connection for
    this call: a thread that is not running under the ASGI server's sync_to_async."""
    local = SyncToAsync.threadlocal
    return getattr(local, "main_event_loop_pid", None) != os.getpid() or (
        getattr(local, "main_event_loop", None) is None
    )


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:  # a push is best effort; the row stays and pages re-read it
            log.exception("push_failed group=%s", group)


# --- the worker's pusher (decisions §67) ------------------------------------------------------
# Outside the ASGI server a push used to be async_to_sync(group_send) per group: a new thread,
# event loop and Redis connection per transaction, then four round trips per recipient group,
# all while the intake worker's next batch waited. The pusher is one thread per process with
# one loop and one connection pool; it takes a transaction's messages from a queue, in commit
# order, and sends them with a constant number of round trips however many groups they reach.

# Transactions whose push is still waiting; beyond this (Redis gone) new ones are dropped and
# logged, as a failed push was: the event rows stay and the pages read them.
PUSH_BACKLOG = 10_000
# How long a committing thread waits for its push to be out before it goes on without it.
PUSH_WAIT_SECONDS = 2.0


class _Pusher:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._queue: queue.SimpleQueue[
            tuple[Any, list[tuple[str, dict[str, Any]]], threading.Event]
        ]
        self._queue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition()
        self._waiting = 0

    def submit(self, layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
        """Send on the pusher's loop and wait (at most PUSH_WAIT_SECONDS) until it is out: a
        thread that went straight on to its next batch kept the GIL from the pusher, which
        then waited up to the interpreter's switch interval at each of its round trips."""
        self._ensure_started()
        with self._idle:
            if self._waiting >= PUSH_BACKLOG:
                log.warning("push_dropped groups=%s backlog=%s", len(messages), self._waiting)
                return
            self._waiting += 1
        sent = threading.Event()
        self._queue.put((layer, messages, sent))
        if not sent.wait(PUSH_WAIT_SECONDS):
            log.warning("push_slow groups=%s", len(messages))

    def wait(self, timeout: float = 5.0) -> bool:
        """Until every push submitted so far has been sent (tests, shutdown); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._waiting == 0, timeout=timeout)

    def _ensure_started(self) -> None:
        pid = os.getpid()
        if self._pid == pid and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == pid and self._thread is not None and self._thread.is_alive():
                return
            # A forked child (Celery's prefork pool) has the parent's objects, not its thread.
            self._queue = queue.SimpleQueue()
            with self._idle:
                self._waiting = 0
            self._thread = threading.Thread(target=self._run, name="kefu-pusher", daemon=True)
            self._pid = pid
            self._thread.start()
            if not self._registered:
                atexit.register(self.wait)
                self._registered = True

    _registered = False

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        pending = self._queue
        while True:
            layer, messages, sent = pending.get()
            try:
                loop.run_until_complete(_send_many(layer, messages))
            except Exception:  # best effort, as every push: the rows stay
                log.exception("push_failed groups=%s", len(messages))
            finally:
                sent.set()
                with self._idle:
                    self._waiting -= 1
                    if self._waiting == 0:
                        self._idle.notify_all()


_pusher = _Pusher()


_SEND_MANY = """
local n = tonumber(ARGV[1])
local expiry = ARGV[2]
local over = 0
for i = 1, n do
    local key = KEYS[i]
    if redis.call('ZCOUNT', key, '-inf', '+inf') < tonumber(ARGV[3 * i]) then
        redis.call('ZADD', key, ARGV[3 * i + 1], ARGV[3 * i + 2])
        redis.call('EXPIRE', key, expiry)
    else
        over = over + 1
    end
end
return over
"""

# One channel-layer message carrying a transaction's pushes for every channel of one Redis
# channel key (one web process's sockets share one key): {"type": BUNDLE, "pushes": {channel:
# [message, ...]}}, addressed to all those channels (``__asgi_channel__``). The process's
# receive loop pops and decodes it once and hands the same dict to each of its consumers,
# which take their own list (``bundled_for``). Decisions §77.
BUNDLE = "push.bundle"


def bundled_for(bundle: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    """The messages of a bundle for one channel, in the order they were sent."""
    pushes: dict[str, list[dict[str, Any]]] = bundle.get("pushes", {})
    return pushes.get(channel, [])


def message_ids_of(bundle: dict[str, Any], channel: str) -> list[int]:
    """The buyer messages' ids in a channel's part of a bundle (the push bench's trace)."""
    ids: list[int] = []
    for item in bundled_for(bundle, channel):
        for event in item.get("events", [item.get("event", {})]):
            if event.get("message_id") and event.get("kind") == "message_received":
                ids.append(int(event["message_id"]))
    return ids


def channel_key(layer: Any, channel: str) -> tuple[str, int, int]:
    """The Redis key a channel's messages wait in, its host's index and its capacity, as
    channels_redis 4.x files a channel (``RedisChannelLayer._map_channel_keys_to_connection``;
    a process's specific channels ``prefix…!<id>`` share the key of their part before ``!``).

    A copy of that mapping, not a call: channels_redis has no public way to put one message
    on a key for several channels other than ``group_send`` of one group, which is the
    per-group entry §77 replaced, and its own mapping method also builds and serialises a
    message per key. The copy uses the layer's public attributes (``prefix``,
    ``non_local_name``, ``consistent_hash``, ``get_capacity``); requirements keep
    channels_redis below 5, and ``test_the_pusher_files_a_channel_where_channels_redis_does``
    compares it with channels_redis's own method, so an upgrade that files channels
    elsewhere fails that test rather than losing pushes."""
    local = layer.non_local_name(channel) if "!" in channel else channel
    return layer.prefix + local, layer.consistent_hash(local), layer.get_capacity(channel)


async def _send_many(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    """What ``group_send`` of each (group, message) does, in order, in three round trips per
    Redis host, and one channel-layer message per channel key. One pipeline reads every
    group's members; each channel key (a web process's sockets share one) then gets one
    bundle holding, per channel, the messages of the groups it is in, in the order given.

    ``group_send`` per group put one entry per group on the web process's key: a batch
    reaching 300 agents was 300 entries, and the web process's receive loop pops entries one
    at a time, four Redis round trips each (a quarter of its time at 1,000 sockets,
    decisions §77); a bundle is one entry per key per transaction however many groups."""
    by_host: dict[int, list[str]] = {}
    for group in dict.fromkeys(group for group, _ in messages):
        by_host.setdefault(layer.consistent_hash(group), []).append(group)
    members: dict[str, list[str]] = {}
    for host, groups in by_host.items():
        now = time.time()
        pipe = layer.connection(host).pipeline(transaction=False)
        for group in groups:
            key = layer._group_key(group)
            pipe.zremrangebyscore(key, min=0, max=int(now) - layer.group_expiry)
            pipe.zrange(key, 0, -1)
        read = await pipe.execute()
        members.update({g: [m.decode() for m in read[2 * i + 1]] for i, g in enumerate(groups)})
    # Channel key -> channel -> its messages in the order given; each key's host and capacity.
    bundles: dict[str, dict[str, list[dict[str, Any]]]] = {}
    key_host: dict[str, int] = {}
    key_capacity: dict[str, int] = {}
    key_of: dict[str, str] = {}
    for group, message in messages:
        for channel in members[group]:
            key = key_of.get(channel)
            if key is None:
                key, host, capacity = channel_key(layer, channel)
                key_of[channel] = key
                key_host.setdefault(key, host)
                key_capacity.setdefault(key, capacity)
            bundles.setdefault(key, {}).setdefault(channel, []).append(message)
    entries: dict[int, list[tuple[str, int, bytes]]] = {}
    for key, pushes in bundles.items():
        payload = layer.serialize(
            {"type": BUNDLE, "__asgi_channel__": list(pushes), "pushes": pushes}
        )
        entries.setdefault(key_host[key], []).append((key, key_capacity[key], payload))
    for index, triples in entries.items():
        target = layer.connection(index)
        # What group_send does before adding: drop the keys' expired messages.
        expire = target.pipeline(transaction=False)
        cutoff = int(time.time()) - int(layer.expiry)
        for key, _, _ in triples:
            expire.zremrangebyscore(key, min=0, max=cutoff)
        await expire.execute()
        start = time.time()
        args: list[Any] = [len(triples), int(layer.expiry)]
        for i, (_key, capacity, payload) in enumerate(triples):
            args += [capacity, start + i * 1e-6, payload]
        over = await target.eval(_SEND_MANY, len(triples), *[k for k, _, _ in triples], *args)
        if over:
            log.info("push_over_capacity keys=%s of %s", over, len(triples))


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
