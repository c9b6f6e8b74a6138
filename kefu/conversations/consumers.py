"""WebSockets: agents' live inbox and buyers' chat widget."""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core import signing

from kefu.accounts.models import Shop
from kefu.conversations import presence, realtime
from kefu.core import collector, stagetrace

log = logging.getLogger("kefu.realtime")

WIDGET_COOKIE_SALT = "kefu.widget.buyer"

# Channel-layer pushes: their handlers only write to the socket.
PUSH_TYPES = frozenset({"inbox.event", "inbox.events", "widget.message", "widget.messages"})


class _PushesWithoutDatabase(AsyncJsonWebsocketConsumer):
    counted = False

    async def accept(self, subprotocol: str | None = None, headers: Any = None) -> None:
        await super().accept(subprotocol, headers)
        # Its objects live as long as it does: out of the collector's walks once a
        # generation of sockets is up (kefu.core.collector, decisions §109).
        self.counted = True
        collector.sockets.opened()

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        if self.counted:
            self.counted = False
            collector.sockets.closed()
        await super().websocket_disconnect(message)

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels runs close_old_connections before every handler, through the process's
        # one thread-sensitive sync thread: with 1,000 sockets each push queued there behind
        # the others (decisions §67). A push touches no database; the handlers that do use
        # database_sync_to_async, which closes old connections itself.
        kind = message["type"]
        if kind == realtime.BUNDLE:
            # The worker's pusher sends a transaction's pushes to one web process's sockets
            # as one bundle, handed to each of them: this socket's own part, in order.
            if stagetrace.ENABLED and getattr(self, "traced", False):
                stagetrace.record(
                    "web",
                    ids=realtime.message_ids_of(message, self.channel_name),
                    channels=len(message.get("pushes", {})),
                )
            for item in realtime.bundled_for(message, self.channel_name):
                await self.dispatch(item)
            return
        if kind in PUSH_TYPES:
            await getattr(self, kind.replace(".", "_"))(message)
            return
        await super().dispatch(message)


class AgentConsumer(_PushesWithoutDatabase):
    """Pushes inbox events to a signed-in agent; its heartbeats keep the agent online."""

    joined: list[str]

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or getattr(user, "shop_id", None) is None:
            await self.close(code=4401)
            return
        # The owners' group already carries every event of the shop; joining the user group
        # too would deliver events of the owner's own conversations twice.
        self.joined = [
            realtime.owners_group(user.shop_id) if user.is_owner else realtime.user_group(user.pk)
        ]
        # The push bench's stage times: when an owner's socket (every event of the shop) is
        # handed its part of a bundle in this process.
        self.traced = user.is_owner
        stagetrace.watch_process()
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await database_sync_to_async(presence.agent_socket_opened)(user=user)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            try:
                await self.channel_layer.group_discard(group, self.channel_name)
            except Exception:
                # 1,000 sockets closing at once ran the process out of Redis connections
                # (bench_push): the membership then expires with the channel layer's group
                # expiry, but the agent's socket must still be counted closed below.
                log.exception("group_discard_failed group=%s", group)
        user = self.scope.get("user")
        if getattr(self, "joined", None) and user is not None:
            await database_sync_to_async(presence.agent_socket_closed)(user=user)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await database_sync_to_async(presence.agent_seen)(user=self.scope["user"])
            await self.send_json({"type": "pong"})

    async def inbox_event(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "event", **message["event"]})

    async def inbox_events(self, message: dict[str, Any]) -> None:
        # A transaction's events for this agent, coalesced into one channel-layer message
        # (realtime._coalesced), go out as one frame holding them in order: an intake batch
        # gives the owner hundreds of events a second, and a frame each cost the server and
        # the browser more than the events themselves (decisions §67). Each item reads as
        # the single "event" frame does.
        await self.send_json(
            {"type": "events", "events": [{"type": "event", **e} for e in message["events"]]}
        )


# Every id the widget issues starts with this; marketplace buyers' ids never reach a cookie.
WIDGET_ID_PREFIX = "w-"


def widget_buyer_id(cookies: dict[str, str], shop: Shop) -> str | None:
    """The widget buyer this browser is, from the cookie the widget signed and issued.

    Only widget-issued ids count: even a validly signed cookie naming a marketplace buyer's
    id opens nothing of that buyer's chats.
    """
    raw = cookies.get(f"kefu_chat_{shop.slug}")
    if not raw:
        return None
    try:
        value = str(signing.get_cookie_signer(salt=WIDGET_COOKIE_SALT + shop.slug).unsign(raw))
    except signing.BadSignature:
        return None
    return value if value.startswith(WIDGET_ID_PREFIX) else None


class WidgetConsumer(_PushesWithoutDatabase):
    """Pushes the shop's replies to the buyer holding the widget's signed cookie."""

    group: str | None = None

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        shop = await database_sync_to_async(Shop.objects.filter(slug=slug).first)()
        buyer_id = widget_buyer_id(self.scope.get("cookies", {}), shop) if shop else None
        if shop is None or buyer_id is None:
            await self.close(code=4403)
            return
        self.group = realtime.widget_group(shop.pk, buyer_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def widget_message(self, message: dict[str, Any]) -> None:
        await self.send_json({"type": "message", **message["message"]})

    async def widget_messages(self, message: dict[str, Any]) -> None:
        for item in message["messages"]:
            await self.send_json({"type": "message", **item})
