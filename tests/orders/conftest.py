"""The browser suite's live server and Chromium, shared with the order sidebar's browser test."""

from tests.browser.conftest import browser, live_asgi  # noqa: F401
