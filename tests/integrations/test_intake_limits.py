"""Signed intake is limited per shop and per marketplace buyer, by limits the owner sets on the
settings page or over the API (issue 10 item 7). Defaults leave Double 11 traffic alone."""

from __future__ import annotations

import pytest
from django.test import Client

from kefu.accounts.models import Shop
from kefu.conversations.models import Message
from tests.helpers import post_order_signed, post_signed

pytestmark = pytest.mark.django_db


def _message(n: int, buyer: str = "B-1") -> dict[str, object]:
    return {
        "external_id": f"M-{buyer}-{n}",
        "buyer": {"external_id": buyer, "name": "Ann"},
        "entry_point": "product_page",
        "text": f"question {n}",
    }


def _order(n: int) -> dict[str, object]:
    return {
        "external_id": f"O-{n}",
        "buyer": {"external_id": "B-1"},
        "status": "paid",
        "amount": "12.50",
        "currency": "USD",
        "placed_at": "2026-11-11T00:00:05+08:00",
    }


def _owner_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_shop_over_its_own_intake_limit_gets_429_and_other_shops_do_not(
    shop, owner, other_shop, rate_clock
):
    response = _owner_client(owner).patch(
        "/api/v1/shop", data={"intake_per_minute": 3}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.json()["intake_per_minute"] == 3

    answers = [post_signed(Client(), shop, _message(n, f"B-{n}")).status_code for n in range(3)]
    refused = post_signed(Client(), shop, _message(3, "B-3"))

    assert answers == [202, 202, 202]
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert refused.json()["retry_after"] == int(refused["Retry-After"])
    assert "webhook requests a minute" in refused.json()["detail"]
    assert Message.objects.filter(shop=shop).count() == 3
    # The order and tracking webhooks share the shop's allowance.
    assert post_order_signed("/inbound", _order(1), shop).status_code == 429
    # Another shop is untouched.
    assert post_signed(Client(), other_shop, _message(1)).status_code == 202
    # Next minute the marketplace's retry is taken in.
    rate_clock.advance(60)
    assert post_signed(Client(), shop, _message(3, "B-3")).status_code == 202


def test_one_buyer_is_limited_without_holding_up_other_buyers(shop, owner, rate_clock):
    page = _owner_client(owner).post(
        "/settings/",
        {
            "action": "rate_limits",
            "intake_per_minute": "1000",
            "intake_per_buyer_per_minute": "2",
            "widget_messages_per_minute": "20",
            "widget_chats_per_hour": "10",
        },
    )
    assert page.status_code == 302
    shop.refresh_from_db()
    assert shop.intake_per_buyer_per_minute == 2

    answers = [post_signed(Client(), shop, _message(n, "B-loud")).status_code for n in range(3)]

    assert answers == [202, 202, 429]
    assert post_signed(Client(), shop, _message(1, "B-quiet")).status_code == 202


def test_the_defaults_let_a_double_11_burst_through(shop, rate_clock):
    assert shop.intake_per_minute >= 60_000  # a thousand a second, every second of the minute
    for n in range(150):
        assert post_signed(Client(), shop, _message(n, f"B-{n}")).status_code == 202


@pytest.mark.parametrize("bad", [-5, 0, "ten", 2.5, True, None])
def test_bad_limits_over_the_api_are_refused_and_nothing_changes(shop, owner, bad):
    payload = {"intake_per_minute": bad} if bad is not None else {"widget_chats_per_hour": 10**9}

    response = _owner_client(owner).patch(
        "/api/v1/shop", data=payload, content_type="application/json"
    )

    assert response.status_code == 400
    assert "detail" in response.json()
    shop.refresh_from_db()
    assert (shop.intake_per_minute, shop.widget_chats_per_hour) == (600_000, 10)


@pytest.mark.parametrize("bad", ["-1", "0", "abc", "1.5"])
def test_bad_limits_on_the_settings_page_show_an_error_and_change_nothing(shop, owner, bad):
    response = _owner_client(owner).post(
        "/settings/",
        {
            "action": "rate_limits",
            "intake_per_minute": "1000",
            "intake_per_buyer_per_minute": "120",
            "widget_messages_per_minute": bad,
            "widget_chats_per_hour": "10",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 400
    assert b"errorlist" in response.content
    fresh = Shop.objects.get(pk=shop.pk)
    assert (fresh.intake_per_minute, fresh.widget_messages_per_minute) == (600_000, 20)


def test_a_sub_account_without_the_settings_right_cannot_change_limits(shop, pre_agent):
    response = _owner_client(pre_agent).patch(
        "/api/v1/shop", data={"intake_per_minute": 1}, content_type="application/json"
    )

    assert response.status_code == 403
    shop.refresh_from_db()
    assert shop.intake_per_minute == 600_000


def test_the_owner_chooses_on_the_settings_page_how_the_webhook_answers(shop, owner, pre_agent):
    client = _owner_client(owner)
    page = client.get("/settings/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "How the webhook answers" in page and 'name="intake_synchronous"' in page
    assert post_signed(Client(), shop, _message(1, "B-1")).status_code == 202

    saved = client.post("/settings/", {"action": "intake_mode", "intake_synchronous": "on"})

    assert saved.status_code == 302
    assert Shop.objects.get(pk=shop.pk).intake_synchronous is True
    assert post_signed(Client(), shop, _message(2, "B-2")).status_code == 201
    client.post("/settings/", {"action": "intake_mode"})
    assert Shop.objects.get(pk=shop.pk).intake_synchronous is False


def test_a_sub_account_without_the_settings_right_cannot_change_the_answer_mode(shop, pre_agent):
    response = _owner_client(pre_agent).post(
        "/settings/", {"action": "intake_mode", "intake_synchronous": "on"}
    )

    assert response.status_code == 403
    assert Shop.objects.get(pk=shop.pk).intake_synchronous is False
