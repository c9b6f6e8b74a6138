"""The chat widget is rate limited per buyer and, for new conversations, per address (issue 10
item 7): a flood is answered 429 with `Retry-After` and a sentence the widget shows."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from kefu.conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db

HOME = "198.51.100.20"


def _buyer(shop, *, address: str = HOME, language: str = "en") -> Client:
    """A browser that opened the shop's widget (and so holds a fresh widget cookie)."""
    client = Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE=language)
    assert client.get(f"/chat/{shop.slug}/").status_code == 200
    return client


def _send(client: Client, shop, text: str = "Hello, is the lamp in stock?"):
    return client.post(f"/chat/{shop.slug}/send/", {"text": text, "client_id": uuid.uuid4().hex})


def test_one_buyer_flooding_is_refused_after_the_limit_and_others_still_chat(shop, rate_clock):
    flooder = _buyer(shop)
    answers = [_send(flooder, shop, f"message {n}").status_code for n in range(21)]

    assert answers == [204] * 20 + [429]
    refused = _send(flooder, shop)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert "Please wait" in refused.content.decode()
    assert Message.objects.filter(shop=shop, direction="buyer").count() == 20

    # Another buyer on the same network is not affected.
    assert _send(_buyer(shop), shop).status_code == 204

    rate_clock.advance(60)
    assert _send(flooder, shop).status_code == 204


def test_fresh_cookies_from_one_address_cannot_open_conversations_without_end(
    shop, other_shop, rate_clock
):
    for _ in range(10):
        assert _send(_buyer(shop), shop).status_code == 204

    refused = _send(_buyer(shop), shop)

    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 60
    assert "try again in" in refused.content.decode()
    assert Conversation.objects.filter(shop=shop).count() == 10
    # Elsewhere, and in another shop's widget, new chats still open.
    assert _send(_buyer(shop, address="192.0.2.9"), shop).status_code == 204
    assert _send(_buyer(other_shop), other_shop).status_code == 204


def test_a_buyer_with_an_open_chat_keeps_writing_when_the_address_is_at_its_limit(shop, rate_clock):
    regular = _buyer(shop)
    assert _send(regular, shop).status_code == 204
    for _ in range(9):
        _send(_buyer(shop), shop)
    assert _send(_buyer(shop), shop).status_code == 429

    assert _send(regular, shop, "one more question").status_code == 204


def test_the_refusal_is_in_the_buyers_language(shop, rate_clock):
    flooder = _buyer(shop, language="zh-CN,zh;q=0.9")
    for n in range(20):
        _send(flooder, shop, f"消息 {n}")

    refused = _send(flooder, shop)

    assert refused.status_code == 429
    assert "请等待" in refused.content.decode()


def test_the_owners_lower_widget_limit_applies(shop, owner, rate_clock):
    owner_client = Client()
    owner_client.force_login(owner)
    response = owner_client.patch(
        "/api/v1/shop",
        data={"widget_messages_per_minute": 3, "widget_chats_per_hour": 2},
        content_type="application/json",
    )
    assert response.status_code == 200

    buyer = _buyer(shop)
    assert [_send(buyer, shop).status_code for _ in range(4)] == [204, 204, 204, 429]
    assert _send(_buyer(shop), shop).status_code == 204
    assert _send(_buyer(shop), shop).status_code == 429
