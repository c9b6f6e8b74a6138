"""A small WebSocket test client over asgiref's ApplicationCommunicator.

(channels.testing pulls in daphne, which Kefu does not ship.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any, ClassVar

from asgiref.testing import ApplicationCommunicator


class Socket(ApplicationCommunicator):  # type: ignore[misc]
    # Every socket a test opened, so `close_all` can end what a test left running.
    opened: ClassVar[list[Socket]] = []

    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
        Socket.opened.append(self)
        scope = {
            "type": "websocket",
            "path": path,
            "headers": headers,
            "subprotocols": [],
            "query_string": b"",
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        super().__init__(app, scope)

    async def connect(self, timeout: float = 10) -> bool:
        # Generous: the answer (accept or close) comes as soon as the consumer has read the
        # session and presence, which takes seconds only on a loaded machine.
        await self.send_input({"type": "websocket.connect"})
        reply = await self.receive_output(timeout)
        accepted = bool(reply["type"] == "websocket.accept")
        if not accepted:
            # A refused socket's consumer still runs its dispatch loop (a channel-layer read
            # on Redis) until it hears the disconnect; left running, the test's event loop
            # could not finish it at teardown and the suite hung.
            await self.disconnect()
        return accepted

    async def receive_json(self, timeout: float = 2) -> Any:
        message = await self.receive_output(timeout)
        return json.loads(message["text"])

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(2)

    @classmethod
    async def close_all(cls) -> None:
        """End every consumer still running, before the test's event loop closes: a
        consumer blocked in a channel-layer read on Redis would keep it from closing."""
        for socket in cls.opened:
            if not socket.future.done():
                with contextlib.suppress(Exception):
                    await socket.disconnect()
            if not socket.future.done():
                socket.future.cancel()
                await asyncio.wait([socket.future], timeout=2)
        cls.opened.clear()
