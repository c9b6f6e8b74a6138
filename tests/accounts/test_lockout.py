"""Password guessing is locked out per login and, with a higher threshold, per address (issue 10
item 6); forwarded headers count only from configured proxies."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from kefu.accounts.tokens import create_api_token
from kefu.core.clientip import client_ip
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

OFFICE = "198.51.100.7"


@pytest.fixture(autouse=True)
def _lockout_on(settings, rate_clock):
    settings.KEFU_LOGIN_LOCKOUT = True
    settings.KEFU_LOGIN_ACCOUNT_FAILURES = 10
    settings.KEFU_LOGIN_IP_FAILURES = 50
    settings.KEFU_LOGIN_COOLOFF_SECONDS = 900
    settings.KEFU_TRUSTED_PROXIES = []


def _login(username: str, password: str, *, peer: str = OFFICE, forwarded: str | None = None):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=peer,
        headers=headers,
    )
    signed_in = "_auth_user_id" in client.session
    return response, signed_in


def _locked(response) -> bool:
    return response.status_code == 429 and "temporarily locked" in response.content.decode()


def test_rotating_forwarded_for_from_an_untrusted_peer_does_not_escape_the_account_lock(owner):
    for n in range(10):
        response, signed_in = _login("owner", "wrong", forwarded=f"203.0.113.{n}")
        assert not signed_in

    response, signed_in = _login("owner", PASSWORD, forwarded="203.0.113.99")

    assert not signed_in
    assert _locked(response)
    assert int(response["Retry-After"]) > 800


def test_rotating_forwarded_for_through_a_trusted_proxy_still_locks_the_account(
    settings, owner, pre_agent
):
    settings.KEFU_TRUSTED_PROXIES = ["10.0.0.0/8"]
    for n in range(10):
        _login("owner", "wrong", peer="10.0.0.2", forwarded=f"203.0.113.{n}")

    # Another address, through the same proxy: the account itself is locked.
    response, signed_in = _login("owner", PASSWORD, peer="10.0.0.2", forwarded="192.0.2.50")
    assert not signed_in and _locked(response)
    # The proxy's other clients (each a different address to Kefu) are not.
    response, signed_in = _login("lily", PASSWORD, peer="10.0.0.2", forwarded="203.0.113.3")
    assert signed_in


def test_ten_typos_by_one_person_do_not_lock_a_colleague_behind_the_same_nat(owner, pre_agent):
    for _ in range(10):
        _login("owner", "typo")

    response, signed_in = _login("lily", PASSWORD)

    assert signed_in
    response, signed_in = _login("owner", PASSWORD)
    assert not signed_in and _locked(response)


def test_a_spray_across_many_logins_from_one_address_locks_that_address(pre_agent):
    # Forwarded headers from this untrusted peer are ignored: rotating them changes nothing.
    for n in range(50):
        response, signed_in = _login(f"guess{n}", "wrong", forwarded=f"203.0.113.{n}")
        assert not signed_in
        assert not _locked(response) or n == 49

    response, signed_in = _login("lily", PASSWORD, forwarded="192.0.2.1")
    assert not signed_in and _locked(response)
    # Lily herself is not locked: from her own address she gets in.
    response, signed_in = _login("lily", PASSWORD, peer="192.0.2.200")
    assert signed_in


def test_the_right_password_is_refused_until_the_cool_off_ends(owner, rate_clock):
    for _ in range(10):
        _login("owner", "wrong")

    rate_clock.advance(899)
    response, signed_in = _login("owner", PASSWORD)
    assert not signed_in and _locked(response)

    rate_clock.advance(2)
    response, signed_in = _login("owner", PASSWORD)
    assert signed_in


def test_fewer_failures_than_the_limit_and_then_success_start_counting_again(owner):
    for _ in range(9):
        _login("owner", "wrong")
    assert _login("owner", PASSWORD)[1]
    for _ in range(9):
        _login("owner", "wrong")

    assert _login("owner", PASSWORD)[1]


def test_the_login_page_says_the_account_is_locked_in_chinese(owner):
    for _ in range(10):
        _login("owner", "wrong")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")

    response = client.post(
        reverse("login"), {"username": "owner", "password": PASSWORD}, REMOTE_ADDR=OFFICE
    )

    assert response.status_code == 429
    assert "暂时锁定" in response.content.decode()


def test_api_tokens_are_not_affected_by_a_locked_login(owner):
    _, raw = create_api_token(user=owner, name="erp")
    for _ in range(10):
        _login("owner", "wrong")

    response = Client().get("/api/v1/shop", headers={"Authorization": f"Bearer {raw}"})

    assert response.status_code == 200


def test_forwarded_headers_count_only_from_configured_proxies(settings):
    factory = RequestFactory()

    def ip(peer: str, **headers: str) -> str:
        return client_ip(factory.get("/", REMOTE_ADDR=peer, headers=headers))

    assert ip(OFFICE, **{"X-Forwarded-For": "1.2.3.4", "X-Real-IP": "5.6.7.8"}) == OFFICE

    settings.KEFU_TRUSTED_PROXIES = ["10.0.0.0/8", "2001:db8::/32"]
    assert ip(OFFICE, **{"X-Forwarded-For": "1.2.3.4"}) == OFFICE  # not a proxy of ours
    assert ip("10.0.0.2", **{"X-Forwarded-For": "1.2.3.4"}) == "1.2.3.4"
    # A client's own X-Forwarded-For is kept in front by the proxy: read from the right.
    assert ip("10.0.0.2", **{"X-Forwarded-For": "9.9.9.9, 1.2.3.4, 10.0.0.9"}) == "1.2.3.4"
    assert ip("10.0.0.2", **{"X-Real-IP": "5.6.7.8"}) == "5.6.7.8"
    assert ip("2001:db8::1", **{"X-Forwarded-For": "[2001:db9::7]:443"}) == "2001:db9::7"
    assert ip("10.0.0.2", **{"X-Forwarded-For": "not-an-ip"}) == "10.0.0.2"
