"""The signed marketplace webhook (issue 2 §3): idempotent, authenticated, validated."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.conversations.models import Buyer, Conversation, ConversationEvent, Message
from tests.helpers import online, post_signed, synchronous_intake

pytestmark = pytest.mark.django_db(transaction=False)


@pytest.fixture(autouse=True)
def _synchronous(shop):
    # What these tests assert is the synchronous answer (201 with the routing); the queued
    # answer of the same webhook is tests/integrations/test_intake_queue.py's.
    synchronous_intake(shop)


def payload(**over):
    data = {
        "external_id": "ae-msg-1",
        "buyer": {"external_id": "ae-buyer-7", "name": "Olga", "language": "ru", "country": "RU"},
        "entry_point": "product_page",
        "product_external_id": "P-100",
        "text": "Здравствуйте! Есть ли лампа в наличии?",
        "sent_at": "2026-11-11T00:05:00+08:00",
    }
    data.update(over)
    return data


def test_signed_message_is_stored_routed_and_assigned(shop, product, pre_agent, after_agent):
    online(pre_agent, after_agent)
    response = post_signed(Client(), shop, payload())
    assert response.status_code == 201
    body = response.json()
    assert body["group"] == "pre_sale"
    assert body["assigned_agent"] == "lily"
    assert body["duplicate"] is False
    message = Message.objects.get(pk=body["message_id"])
    assert message.text.startswith("Здравствуйте")
    assert message.conversation_id == body["conversation_id"]
    assert message.sent_at.isoformat() == "2026-11-10T16:05:00+00:00"
    buyer = Buyer.objects.get(shop=shop, external_id="ae-buyer-7")
    assert (buyer.name, buyer.language, buyer.country) == ("Olga", "ru", "RU")


def test_the_same_message_twice_is_stored_once(shop, pre_agent):
    online(pre_agent)
    client = Client()
    first = post_signed(client, shop, payload())
    second = post_signed(client, shop, payload())
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["message_id"] == first.json()["message_id"]
    assert second.json()["duplicate"] is True
    assert Message.objects.filter(shop=shop).count() == 1
    assert Conversation.objects.get().unread_count == 1


@pytest.mark.parametrize(
    ("entry_point", "group"),
    [
        ("order_list", "after_sale"),
        ("order_detail", "after_sale"),
        ("dispute", "after_sale"),
        ("product_page", "pre_sale"),
        ("shop_page", "pre_sale"),
        ("search", "pre_sale"),
        ("widget", "pre_sale"),
    ],
)
def test_entry_point_decides_the_group(shop, entry_point, group):
    response = post_signed(Client(), shop, payload(entry_point=entry_point))
    assert response.status_code == 201
    assert response.json()["group"] == group
    assert response.json()["assigned_agent"] is None  # nobody online


def test_wrong_signature_stores_nothing(shop):
    response = post_signed(Client(), shop, payload(), secret="not-the-secret")
    assert response.status_code == 401
    assert not Message.objects.exists()
    assert not Buyer.objects.exists()


def test_unknown_shop_looks_like_a_bad_signature(shop):
    response = post_signed(Client(), shop, payload(), slug="no-such-shop")
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown shop or bad signature"


def test_missing_headers_are_401(shop):
    response = Client().post(
        "/api/v1/inbound/messages", data=json.dumps(payload()), content_type="application/json"
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"entry_point": "billboard"}, "entry_point"),
        ({"text": ""}, "text"),
        ({"buyer": {"name": "no id"}}, "buyer.external_id"),
        ({"sent_at": "yesterday"}, "sent_at"),
    ],
)
def test_malformed_input_is_400_with_the_field(shop, bad, field):
    response = post_signed(Client(), shop, payload(**bad))
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Message.objects.exists()


def test_naive_time_is_rejected(shop):
    response = post_signed(Client(), shop, payload(sent_at="2026-11-11T00:05:00"))
    assert response.status_code == 400
    assert not Message.objects.exists()


def test_not_json_is_400(shop):
    response = post_signed(Client(), shop, b"{not json")
    assert response.status_code == 400


def test_text_over_the_limit_is_413(shop):
    response = post_signed(Client(), shop, payload(text="x" * 10_001))
    assert response.status_code == 413
    assert not Message.objects.exists()


def test_body_over_the_limit_is_413(shop):
    response = post_signed(Client(), shop, b" " * (64 * 1024 + 1))
    assert response.status_code == 413


def test_buyer_second_message_joins_the_same_conversation(shop, pre_agent):
    online(pre_agent)
    client = Client()
    post_signed(client, shop, payload())
    post_signed(client, shop, payload(external_id="ae-msg-2", text="И ещё вопрос"))
    conv = Conversation.objects.get()
    assert conv.messages.count() == 2
    assert conv.unread_count == 2
    assert list(
        ConversationEvent.objects.filter(conversation=conv).values_list("kind", flat=True)
    ) == ["created", "assigned", "message_received", "message_received"]


def test_intake_query_count_is_bounded(shop, pre_agent, product, django_assert_max_num_queries):
    online(pre_agent)
    client = Client()
    post_signed(client, shop, payload())
    # Intake plus the automation checks (welcome, keyword, language) in one transaction.
    with django_assert_max_num_queries(24):
        response = post_signed(client, shop, payload(external_id="ae-msg-2", text="again"))
    assert response.status_code == 201


def test_a_failing_automation_never_costs_the_buyers_message(shop, pre_agent, monkeypatch, caplog):
    from kefu.automation import auto_replies as automation
    from kefu.automation.models import AutomationSettings

    AutomationSettings.objects.create(shop=shop, welcome_enabled=True, welcome_text="Welcome!")
    online(pre_agent)

    def broken(**kwargs):
        raise RuntimeError("bookkeeping bug")

    # Fails after the welcome reply row was written: that write must roll back with it.
    monkeypatch.setattr(automation, "_hit", broken)

    response = post_signed(Client(), shop, payload())

    assert response.status_code == 201
    [message] = Message.objects.filter(shop=shop)
    assert message.pk == response.json()["message_id"]
    assert message.direction == "buyer"
    assert ConversationEvent.objects.filter(kind="message_received").count() == 1
    assert not ConversationEvent.objects.filter(kind="auto_message").exists()
    assert "automation_failed" in caplog.text


def test_any_offset_iso_8601_allows_is_stored_as_its_instant(shop):
    """Issue 10 (fuzzing): PostgreSQL refuses offsets beyond ±15:59 — a 500 there, while
    SQLite stored it."""
    response = post_signed(Client(), shop, payload(sent_at="2026-11-11T00:05:00-23:09"))

    assert response.status_code == 201, response.content
    assert Message.objects.get().sent_at.isoformat() == "2026-11-11T23:14:00+00:00"


def test_a_time_beyond_the_calendar_in_utc_is_400(shop):
    response = post_signed(Client(), shop, payload(sent_at="0001-01-01T00:05:00+08:00"))

    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["sent_at"]
    assert not Message.objects.exists()
