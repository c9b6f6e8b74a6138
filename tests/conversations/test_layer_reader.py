"""One reader per web process for its sockets' channel-layer key (decisions §111). Needs Redis
as the channel layer (the PostgreSQL suite); the embedded in-memory layer has no key to read."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from kefu.conversations import layer as layer_module
from kefu.conversations.layer import ProcessReaderChannelLayer


@pytest.fixture
def redis_layer() -> ProcessReaderChannelLayer:
    found = get_channel_layer()
    if not isinstance(found, ProcessReaderChannelLayer):
        pytest.skip("the process reader serves the Redis channel layer")
    return found


def test_one_entry_for_many_waiting_channels_reaches_each_of_them_decoded_once(redis_layer):
    async def scenario() -> tuple[list[dict], list[int]]:
        channels = [await redis_layer.new_channel() for _ in range(300)]
        for channel in channels:
            await redis_layer.group_add("lr.many", channel)
        waiting = [asyncio.ensure_future(redis_layer.receive(c)) for c in channels]
        await asyncio.sleep(0.05)  # every socket waiting, as a busy web process's are
        await redis_layer.group_send("lr.many", {"type": "inbox.event", "n": 1})
        got = await asyncio.wait_for(asyncio.gather(*waiting), 5)
        for channel in channels:
            await redis_layer.group_discard("lr.many", channel)
        return got, [len(redis_layer._waiters), len(redis_layer._buffers)]

    got, left = async_to_sync(scenario)()

    assert all(m == {"type": "inbox.event", "n": 1} for m in got)
    # One decode handed to all 300 (channels_redis's own multi-channel entry).
    assert len({id(m) for m in got}) == 1
    assert left == [0, 0]


def test_messages_keep_their_order_whether_the_channel_waits_or_not(redis_layer, monkeypatch):
    # Fewer entries per pop than are waiting: the reader takes them in several round trips.
    monkeypatch.setattr(layer_module, "POP_AT_ONCE", 7)

    async def scenario() -> tuple[list[int], list[int]]:
        busy, idle = await redis_layer.new_channel(), await redis_layer.new_channel()
        first = asyncio.ensure_future(redis_layer.receive(busy))
        await asyncio.sleep(0.05)
        for n in range(40):
            # `idle` has no receive waiting: its messages wait in its buffer, in order.
            await redis_layer.send(busy, {"type": "t", "n": n})
            await redis_layer.send(idle, {"type": "t", "n": n})
        got_busy = [(await asyncio.wait_for(first, 5))["n"]]
        for _ in range(39):
            got_busy.append((await asyncio.wait_for(redis_layer.receive(busy), 5))["n"])
        got_idle = [(await asyncio.wait_for(redis_layer.receive(idle), 5))["n"] for _ in range(40)]
        return got_busy, got_idle

    got_busy, got_idle = async_to_sync(scenario)()

    assert got_busy == list(range(40))
    assert got_idle == list(range(40))


def test_what_a_stopped_reader_left_in_the_backup_comes_first_and_once(redis_layer):
    async def scenario() -> list[int]:
        channel = await redis_layer.new_channel()
        key = redis_layer.prefix + redis_layer.non_local_name(channel)
        connection = redis_layer.connection(redis_layer.consistent_hash(channel))
        # A reader stopped between its pop and the delivery (the process's loop cancelled
        # it) leaves the popped entries in the backup key, the newer ones still queued.
        await redis_layer.send(channel, {"type": "t", "n": 2})
        now = time.time()
        for n in (0, 1):
            payload = redis_layer.serialize({"type": "t", "n": n, "__asgi_channel__": channel})
            await connection.zadd(redis_layer._backup_channel_name(key), {payload: now - 10 + n})
        got = [(await asyncio.wait_for(redis_layer.receive(channel), 5))["n"] for _ in range(3)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(redis_layer.receive(channel), 0.3)
        return got

    assert async_to_sync(scenario)() == [0, 1, 2]


def test_a_cancelled_receive_stops_waiting_and_the_next_one_is_served(redis_layer):
    async def scenario() -> dict:
        channel = await redis_layer.new_channel()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(redis_layer.receive(channel), 0.2)
        assert channel not in redis_layer._waiters
        await redis_layer.send(channel, {"type": "t", "n": 5})
        return await asyncio.wait_for(redis_layer.receive(channel), 5)  # type: ignore[no-any-return]

    assert async_to_sync(scenario)() == {"type": "t", "n": 5}


def test_a_failing_redis_fails_the_waiting_receives_instead_of_leaving_them_waiting(
    redis_layer, monkeypatch
):
    class Broken:
        async def eval(self, *args: object) -> None:
            raise ConnectionError("redis gone")

    async def scenario() -> None:
        channel = await redis_layer.new_channel()
        # A reader from an earlier loop is gone with it; this loop's reader gets the failure.
        monkeypatch.setattr(redis_layer, "connection", lambda index: Broken())
        with pytest.raises(ConnectionError):
            await asyncio.wait_for(redis_layer.receive(channel), 5)

    async_to_sync(scenario)()
