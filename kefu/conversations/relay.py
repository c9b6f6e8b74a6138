"""Web-process startup: push directly and, in embedded mode, relay other processes' events."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from kefu.conversations import realtime
from kefu.conversations.models import ConversationEvent
from kefu.core import collector
from kefu.core.warmup import warm_up

log = logging.getLogger("kefu.relay")

Scope = dict[str, Any]


def _relay_batch() -> list[int]:
    return list(
        ConversationEvent.objects.filter(needs_relay=True)
        .order_by("id")
        .values_list("id", flat=True)[:500]
    )


def _mark_relayed(ids: list[int]) -> None:
    ConversationEvent.objects.filter(pk__in=ids).update(needs_relay=False)


async def relay_forever(interval: float) -> None:
    while True:
        try:
            ids = await database_sync_to_async(_relay_batch)()
            if ids:
                await realtime.publish_async(ids)
                await database_sync_to_async(_mark_relayed)(ids)
                continue
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("relay_failed")
        await asyncio.sleep(interval)


class RelayLifespan:
    """ASGI wrapper handling the lifespan protocol around the Channels router."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        task: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await asyncio.to_thread(warm_up)
                # What start-up built lives as long as the process; left to the collector,
                # each full collection walks all of it while every socket's push waits (the
                # intake server does the same, decisions §72 and §104).
                gc.collect()
                gc.freeze()
                # And the sockets' objects, a generation of sockets at a time (§109).
                collector.sockets.enabled = True
                realtime.CAN_PUSH_HERE = True
                if not settings.REDIS_URL:
                    task = asyncio.create_task(relay_forever(settings.KEFU_RELAY_POLL_SECONDS))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
                await send({"type": "lifespan.shutdown.complete"})
                return
