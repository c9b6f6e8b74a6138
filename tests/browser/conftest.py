"""A live ASGI server (HTTP + WebSocket) on the test database, and Debian's Chromium."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

# What a test waits for (a page answered, a push relayed, an htmx swap) takes seconds when the
# two suites share two cores, as in CI: under that load Playwright's 5 s default for `expect`
# failed on a state that did come (the promise offer after a reply). A state that never comes
# still fails, only later.
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def live_asgi(transactional_db) -> Iterator[str]:
    import uvicorn

    from kefu.asgi import application

    # The server is handed the bound socket: a port found free, closed and bound again later
    # could meanwhile be taken (the PostgreSQL suite runs beside this one, and any outgoing
    # connection picks an ephemeral port).
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    config = uvicorn.Config(
        application,
        host="127.0.0.1",
        port=port,
        lifespan="on",
        ws="websockets",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    listener.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        watched = CspWatchedBrowser(b)
        yield watched
        b.close()
    # Every page a browser test opened ran under the Content-Security-Policy: an inline
    # handler or script left in a template shows up here as a refused resource.
    assert watched.violations == []


class CspWatchedBrowser:
    """The Playwright browser, recording Content-Security-Policy refusals on every page."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self.violations: list[str] = []

    def new_context(self, **kwargs: Any) -> Any:
        context = self._browser.new_context(**kwargs)
        context.on("console", self._console)
        return context

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)
