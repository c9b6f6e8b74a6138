"""Order tests: the browser suite's live server and Chromium (for the sidebar's browser test),
and the terminal's language for services called directly."""

import pytest
from django.utils import translation

from tests.browser.conftest import browser, live_asgi  # noqa: F401


@pytest.fixture(autouse=True)
def _english_like_the_terminal():
    # Services called directly speak as `kefu` on the terminal does (English); pages and
    # uploads speak the user's language (their requests activate it).
    with translation.override("en"):
        yield
