"""A small WebSocket test client over asgiref's ApplicationCommunicator.

(channels.testing pulls in daphne, which Kefu does not ship.)
"""

from __future__ import annotations

import json
from typing import Any

from asgiref.testing import ApplicationCommunicator


class Socket(ApplicationCommunicator):  # type: ignore[misc]
    def __init__(self, app: Any, path: str, headers: list[tuple[bytes, bytes]]) -> None:
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

    async def connect(self, timeout: float = 3) -> bool:
        await self.send_input({"type": "websocket.connect"})
        reply = await self.receive_output(timeout)
        return bool(reply["type"] == "websocket.accept")

    async def receive_json(self, timeout: float = 2) -> Any:
        message = await self.receive_output(timeout)
        return json.loads(message["text"])

    async def disconnect(self) -> None:
        await self.send_input({"type": "websocket.disconnect", "code": 1000})
        await self.wait(1)
