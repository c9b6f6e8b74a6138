"""Shared fixtures: a cross-border shop with its owner and sub-accounts, and a second shop."""

from __future__ import annotations

import json

import httpx
import pytest
from django.test import Client

from kefu.accounts.models import Shop, User
from kefu.accounts.services import create_agent, create_shop
from kefu.catalog.models import Product
from kefu.catalog.services import ProductData, create_product
from kefu.integrations import adapters
from tests import migrated

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, django_db_keepdb):
    """pytest-django's test database, migrated once per run; a new one (not one kept with
    --reuse-db, which tests have written to) is also the template tests/migrated.py copies."""
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            migrated.adopt_test_database()
    return


@pytest.fixture(autouse=True)
def _embedded_push(settings):
    # Tests run in one process: let services push to the in-memory channel layer directly.
    from kefu.conversations import realtime

    realtime.CAN_PUSH_HERE = True
    return


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    # Rate-limit counters and lockouts live in the cache, which outlives a test's transaction.
    from django.core.cache import cache

    client = getattr(cache, "_cache", None)
    if hasattr(client, "get_client"):
        # Redis is shared with the broker and channel layer: remove only the cache's keys.
        redis = client.get_client(write=True)
        for key in redis.scan_iter(match=f"{cache.key_prefix}:*"):
            redis.delete(key)
    else:
        cache.clear()
    return


@pytest.fixture
def shop(db) -> Shop:
    return create_shop(
        name="Aurora Lights",
        platform="aliexpress",
        slug="aurora",
        owner_login="owner",
        owner_password=PASSWORD,
        currency="USD",
        timezone_name="Asia/Shanghai",
    ).shop


@pytest.fixture
def owner(shop) -> User:
    return User.objects.get(username="owner")


@pytest.fixture
def pre_agent(shop) -> User:
    return create_agent(
        actor=None,
        shop=shop,
        login="lily",
        groups=["pre_sale"],
        password=PASSWORD,
        display_name="Lily",
    )[0]


@pytest.fixture
def after_agent(shop) -> User:
    return create_agent(
        actor=None,
        shop=shop,
        login="max",
        groups=["after_sale"],
        password=PASSWORD,
        display_name="Max",
    )[0]


@pytest.fixture
def other_shop(db) -> Shop:
    return create_shop(
        name="Other Shop",
        platform="tmall",
        slug="other",
        owner_login="rival",
        owner_password=PASSWORD,
        currency="CNY",
    ).shop


@pytest.fixture
def rival(other_shop) -> User:
    return User.objects.get(username="rival")


@pytest.fixture
def product(owner, pre_agent) -> Product:
    # As a seller adds it: the main account on the products page or the API.
    return create_product(
        actor=owner,
        data=ProductData(external_id="P-100", title="Desk lamp", owner=pre_agent, stock=50),
    )


def login_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


class RateClock:
    """The rate limiter's clock, held still at the start of an hour so no window rolls over
    while a test counts; `advance` moves it."""

    def __init__(self) -> None:
        import time as real

        self.now = float(int(real.time() // 3600) * 3600 + 1)

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def rate_clock(monkeypatch) -> RateClock:
    from kefu.core import ratelimit

    clock = RateClock()
    monkeypatch.setattr(ratelimit, "time", clock)
    return clock


@pytest.fixture
def marketplace(shop, monkeypatch) -> list[dict[str, object]]:
    """The shop's marketplace callback, answering 200: the bodies Kefu sent it, in order."""
    shop.callback_url = "https://marketplace.example/kefu"
    shop.save()
    bodies: list[dict[str, object]] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200)

    monkeypatch.setattr(adapters.CallbackAdapter, "transport", httpx.MockTransport(endpoint))
    return bodies
