"""The worker's pusher (decisions §67): outside the ASGI server, a transaction's pushes go
through one thread per process and reach the groups' sockets as group_send would, in order,
with two Redis round trips however many groups. Needs Redis as the channel layer (the
PostgreSQL suite); the embedded in-memory layer keeps group_send."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels_redis.core import RedisChannelLayer
from django.db import connection

from kefu.conversations import realtime
from kefu.conversations.consumers import AgentConsumer
from kefu.conversations.models import ConversationEvent
from tests.helpers import buyer_says, inbox_events, online


@pytest.fixture
def redis_layer() -> RedisChannelLayer:
    layer = get_channel_layer()
    if not isinstance(layer, RedisChannelLayer):
        pytest.skip("the pusher serves the Redis channel layer")
    return layer


def test_many_groups_in_one_send_each_get_their_own_messages_in_order_in_one_bundle(
    redis_layer,
):
    async def scenario() -> dict[str, list[dict]]:
        # Process-local channels share one Redis key, as one web process's sockets do.
        channels = [await redis_layer.new_channel() for _ in range(40)]
        for i, channel in enumerate(channels):
            await redis_layer.group_add(f"pt.user.{i}", channel)
            if i < 2:
                await redis_layer.group_add("pt.owners", channel)
        messages = []
        for n in range(3):
            messages.append(("pt.owners", {"type": "inbox.event", "n": n}))
            messages += [(f"pt.user.{i}", {"type": "inbox.event", "n": n}) for i in range(40)]
        messages.append(("pt.nobody", {"type": "inbox.event", "n": 99}))
        await realtime._send_many(redis_layer, messages)
        got: dict[str, list[dict]] = {}
        for channel in channels:
            # The first message waited for up to 5 s (a missing one fails below), then the
            # rest: everything was in Redis when `_send_many` returned, so each further one
            # is one read away. (Waiting a quiet second on each of the 40 channels took 40 s.)
            got[channel] = []
            wait = 5.0
            while True:
                try:
                    got[channel].append(await asyncio.wait_for(redis_layer.receive(channel), wait))
                except TimeoutError:
                    break
                wait = 0.2
        for i, channel in enumerate(channels):
            await redis_layer.group_discard(f"pt.user.{i}", channel)
            await redis_layer.group_discard("pt.owners", channel)
        return got

    got = async_to_sync(scenario)()

    for i, (channel, received) in enumerate(got.items()):
        # One channel-layer message for the whole send: the 40 channels share one key, so
        # the receive loop pops and decodes one bundle and hands it to each (decisions §77).
        assert [m["type"] for m in received] == [realtime.BUNDLE]
        mine = realtime.bundled_for(received[0], channel)
        # The owners' copies and the user group's, each in the order sent.
        expected = [0, 0, 1, 1, 2, 2] if i < 2 else [0, 1, 2]
        assert [m["n"] for m in mine] == expected
        assert all(m["type"] == "inbox.event" for m in mine)


@pytest.mark.django_db(transaction=True)
def test_a_push_from_a_worker_thread_reaches_the_socket_in_commit_order(
    shop, pre_agent, redis_layer
):
    online(pre_agent)
    failures: list[BaseException] = []

    def worker() -> None:
        # A plain thread, as the intake worker's: no ASGI loop above it.
        try:
            assert realtime._no_outer_loop()
            buyer_says(shop, buyer="b-1", text="first")
            buyer_says(shop, buyer="b-1", text="second")
        except BaseException as exc:  # reported in the test's thread
            failures.append(exc)
        finally:
            connection.close()

    async def scenario() -> list[dict]:
        scope = {"type": "websocket", "path": "/ws/inbox/", "headers": [], "user": pre_agent}
        socket = ApplicationCommunicator(AgentConsumer.as_asgi(), scope)
        await socket.send_input({"type": "websocket.connect"})
        assert (await socket.receive_output(5))["type"] == "websocket.accept"
        thread = threading.Thread(target=worker)
        thread.start()
        await asyncio.to_thread(thread.join, 30)
        assert await asyncio.to_thread(realtime._pusher.wait, 10)
        written = await database_sync_to_async(ConversationEvent.objects.count)()
        frames: list[dict] = []
        while len(frames) < written:
            frames += inbox_events(json.loads((await socket.receive_output(10))["text"]))
        assert await socket.receive_nothing(timeout=0.5)
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})
        await socket.wait(5)
        return frames

    frames = async_to_sync(scenario)()

    assert not failures
    events = list(ConversationEvent.objects.order_by("pk").values_list("pk", "kind"))
    assert len(events) >= 4
    assert [(f["id"], f["kind"]) for f in frames] == events


@pytest.mark.django_db(transaction=True)
def test_a_push_reaches_the_socket_without_a_trip_through_the_sync_thread(pre_agent, monkeypatch):
    """Channels closes old database connections before each handler through the process's
    one sync thread; a push needs no database and skips it (decisions §67)."""
    import channels.consumer

    hops: list[str] = []
    original = channels.consumer.aclose_old_connections

    async def counting() -> None:
        hops.append("hop")
        await original()

    monkeypatch.setattr(channels.consumer, "aclose_old_connections", counting)

    async def scenario() -> dict:
        scope = {"type": "websocket", "path": "/ws/inbox/", "headers": [], "user": pre_agent}
        socket = ApplicationCommunicator(AgentConsumer.as_asgi(), scope)
        await socket.send_input({"type": "websocket.connect"})
        assert (await socket.receive_output(5))["type"] == "websocket.accept"
        connected = len(hops)
        layer = get_channel_layer()
        await layer.group_send(
            realtime.user_group(pre_agent.pk),
            {"type": "inbox.events", "events": [{"id": 1, "kind": "created"}]},
        )
        frame = json.loads((await socket.receive_output(5))["text"])
        assert len(hops) == connected
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})
        await socket.wait(5)
        return frame

    frame = async_to_sync(scenario)()

    assert frame == {"type": "events", "events": [{"type": "event", "id": 1, "kind": "created"}]}
    assert hops  # the connect still went through it


def test_the_pusher_files_a_channel_where_channels_redis_does():
    """``realtime.channel_key`` copies channels_redis's mapping of a channel to its Redis key,
    host and capacity (no public call gives it): for process-specific and plain channels,
    over two hosts and a capacity per pattern, it agrees with the library's own method."""
    layer = RedisChannelLayer(
        hosts=["redis://127.0.0.1:1/0", "redis://127.0.0.1:2/0"],
        prefix="kefu-test",
        capacity=50,
        channel_capacity={"inbox*": 7},
    )
    channels = [f"specific.p{p}!c{n}" for p in range(6) for n in range(3)]
    channels += [f"inbox.agent{n}" for n in range(5)] + ["widget.x", "specific.p1!other"]
    by_host, _, capacities = layer._map_channel_keys_to_connection(channels, {"type": "x"})
    theirs = {key: (host, capacities[key]) for host, keys in by_host.items() for key in keys}
    ours: dict[str, tuple[int, int]] = {}
    for channel in channels:
        key, host, capacity = realtime.channel_key(layer, channel)
        assert ours.setdefault(key, (host, capacity)) == (host, capacity)
    assert ours == theirs
    assert len({host for host, _ in ours.values()}) == 2  # both hosts used
    assert {capacity for _, capacity in ours.values()} == {7, 50}
