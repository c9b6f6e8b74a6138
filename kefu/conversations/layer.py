"""The Redis channel layer with one reader per web process for its sockets (decisions §111).

channels_redis 4.x has every socket's consumer take turns at reading the process's key: each
waiting ``receive`` makes two tasks (the process's receive lock, its channel's buffer) and
waits on both; the one holding the lock pops one entry in four Redis round trips (a cleanup
script, ``BZPOPMIN``, a backup ``ZADD``, then that backup's ``ZPOPMIN`` before the next pop)
and puts it in the buffers of the channels it names; every consumer it woke cancels its lock
task, whose removal from the lock's queue walks the other waiters. With 1,000 agents'
sockets in one process and a bundle a transaction reaching 30–300 of them (decisions §77),
that was thousands of tasks made and cancelled a second on the loop every socket's push waits
for, and cycles of cancelled tasks for the collector.

Here a process-local channel's ``receive`` waits on one future, and one reader task per
process and event loop pops every waiting entry of the process's key at once (a script that
moves them to the same backup key channels_redis uses, so a reader stopped between pop and
delivery leaves them for the next), hands each to the futures or buffers of the channels it
names, then clears the backup. Messages keep the order they had in Redis; a channel with no
receive waiting keeps them in its buffer (at most the channel capacity, the oldest dropped
first, as channels_redis does). Everything else — sending, groups, other channels, the
serialisation — is channels_redis's own.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

from channels_redis.core import RedisChannelLayer

log = logging.getLogger("kefu.realtime")

# Entries popped per round trip: one web process's key gets one bundle per transaction.
POP_AT_ONCE = 256

# Move up to ARGV[1] of the oldest entries of KEYS[1] to the backup key KEYS[2] and return
# them (member, score, ...): atomic, so an entry is always in one of the two keys until the
# reader has delivered it and deleted the backup.
_POP_MANY = """
local got = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
for i = 1, #got, 2 do
    redis.call('ZADD', KEYS[2], got[i + 1], got[i])
end
return got
"""

# What channels_redis's receive does before each pop: put back what a stopped reader left in
# the backup, in its order, ahead of the rest.
_RESTORE = """
local backed_up = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = #backed_up, 1, -2 do
    redis.call('ZADD', KEYS[1], backed_up[i], backed_up[i - 1])
end
redis.call('DEL', KEYS[2])
"""


class ProcessReaderChannelLayer(RedisChannelLayer):
    """``RedisChannelLayer`` whose process-local channels are read by one task per process."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._waiters: dict[str, collections.deque[asyncio.Future[dict[str, Any]]]] = {}
        self._buffers: dict[str, collections.deque[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def receive(self, channel: str) -> dict[str, Any]:
        if "!" not in channel:
            return await super().receive(channel)  # type: ignore[no-any-return]
        self.require_valid_channel_name(channel)  # raises TypeError on a bad name
        real_channel = self.non_local_name(channel)
        if not real_channel.endswith(self.client_prefix + "!"):
            raise ValueError(f"{channel} is not a channel of this process")
        buffered = self._buffers.get(channel)
        if buffered:
            message = buffered.popleft()
            if not buffered:
                del self._buffers[channel]
            return message
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[dict[str, Any]] = loop.create_future()
        self._waiters.setdefault(channel, collections.deque()).append(waiter)
        self._ensure_reader(loop, real_channel)
        try:
            return await waiter
        except asyncio.CancelledError:
            # The consumer is going away (channels cancels its receive when it stops): as
            # with channels_redis, its buffered messages go with it.
            self._buffers.pop(channel, None)
            raise
        finally:
            waiting = self._waiters.get(channel)
            if waiting is not None:
                if waiter in waiting:
                    waiting.remove(waiter)
                if not waiting:
                    del self._waiters[channel]

    def _ensure_reader(self, loop: asyncio.AbstractEventLoop, real_channel: str) -> None:
        reader = self._reader
        if reader is not None and not reader.done():
            if reader.get_loop() is loop:
                return
            if not reader.get_loop().is_closed():
                raise RuntimeError(
                    "Two event loops are trying to receive() on one channel layer at once!"
                )
        self._reader = loop.create_task(self._read(real_channel), name="kefu-layer-reader")

    async def _read(self, real_channel: str) -> None:
        """Pop the process's key while any receive waits; deliver in the order popped."""
        try:
            await self._pop_while_waited_on(real_channel)
        except Exception as error:
            # Redis gone or failing: every waiting receive fails as channels_redis's own would
            # (its consumer stops, the browser reconnects) rather than waiting for ever.
            log.warning("channel_layer_reader_failed error=%r", error)
            for waiting in self._waiters.values():
                for waiter in waiting:
                    if not waiter.done():
                        waiter.set_exception(error)

    async def _pop_while_waited_on(self, real_channel: str) -> None:
        key = self.prefix + real_channel
        backup = self._backup_channel_name(key)
        connection = self.connection(self.consistent_hash(real_channel))
        await connection.eval(_RESTORE, 2, key, backup)
        while True:
            got = await connection.eval(_POP_MANY, 2, key, backup, POP_AT_ONCE)
            if not got:
                if not self._waiters:
                    return  # the next receive starts a reader again
                # Block for the next entry (channels_redis's timeout, after which a reader
                # nobody waits on ends), backed up as channels_redis does.
                popped = await connection.bzpopmin(key, timeout=self.brpop_timeout)
                if popped is None:
                    continue
                _, member, score = popped
                await connection.zadd(backup, {member: float(score)})
                got = [member, score]
            for content in got[::2]:
                self._deliver(content)
            await connection.delete(backup)

    def _deliver(self, content: bytes) -> None:
        try:
            message = self.deserialize(content)
        except Exception:  # one bad entry must not stop every socket's pushes
            log.exception("channel_layer_undecodable")
            return
        channels = message.pop("__asgi_channel__", None)
        if channels is None:
            return
        # A message for several channels (a group_send to sockets of one process, a bundle)
        # is decoded once and the same dict handed to each, as channels_redis does.
        for channel in channels if isinstance(channels, list) else [channels]:
            waiting = self._waiters.get(channel)
            while waiting:
                waiter = waiting.popleft()
                if not waiter.done():
                    waiter.set_result(message)
                    break
            else:
                buffer = self._buffers.setdefault(channel, collections.deque())
                if len(buffer) >= self.get_capacity(channel):
                    buffer.popleft()  # channels_redis's BoundedQueue drops the oldest too
                buffer.append(message)
