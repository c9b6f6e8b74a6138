"""Honest delivery (issue 12 §3): a message that cannot leave Kefu is *not delivered*, says
why, can be retried, and is counted on the owner's inbox. Seller's path throughout: the shop
from the service, the buyer through the signed webhook, the reply through the page or API."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
import time_machine
from django.utils import timezone

from kefu.conversations.models import Conversation, ConversationEvent, Message, Outbox
from kefu.conversations.tasks import deliver_due_outbox
from kefu.integrations import adapters
from tests.conftest import login_client
from tests.helpers import online, post_signed

pytestmark = pytest.mark.django_db


def buyer_writes(client, shop, text="Is the lamp in stock?", n=1) -> Conversation:
    response = post_signed(
        client,
        shop,
        {
            "external_id": f"ae-msg-{n}",
            "buyer": {"external_id": "ae-buyer-7", "name": "Olga", "language": "en"},
            "entry_point": "shop_page",
            "text": text,
        },
    )
    assert response.status_code in (200, 202), response.content
    return Conversation.objects.get(buyer__external_id="ae-buyer-7")


class Marketplace:
    """The marketplace's callback endpoint, answering `status` to every POST."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.bodies: list[dict[str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(json.loads(request.content))
        return httpx.Response(self.status, text="ok" if self.status < 400 else "rejected")


@pytest.fixture
def marketplace(monkeypatch):
    def install(status: int) -> Marketplace:
        endpoint = Marketplace(status)
        monkeypatch.setattr(adapters.CallbackAdapter, "transport", httpx.MockTransport(endpoint))
        return endpoint

    return install


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a request's after-commit work (the delivery task) as a real commit would."""

    def run(call):
        with django_capture_on_commit_callbacks(execute=True):
            return call()

    return run


def speaking(user, language="en"):
    client = login_client(user)
    client.post("/language/", {"language": language, "next": "/inbox/"})
    return client


def api_reply(client, conv, text="Yes, it is in stock."):
    return client.post(
        f"/api/v1/conversations/{conv.pk}/replies",
        data=json.dumps({"text": text}),
        content_type="application/json",
    )


def test_reply_without_a_callback_url_is_not_delivered_then_retried_once_connected(
    shop, owner, pre_agent, marketplace, committed
):
    online(pre_agent)
    client = speaking(owner)
    conv = buyer_writes(client, shop)
    endpoint = marketplace(200)

    sent = committed(lambda: client.post(f"/inbox/{conv.pk}/reply/", {"text": "In stock!"}))
    assert sent.status_code == 302
    message = Message.objects.get(conversation=conv, direction="agent")
    outbox = Outbox.objects.get(message=message)
    assert (outbox.status, outbox.reason) == ("not_delivered", "no_callback_url")
    assert endpoint.bodies == []  # nothing pretended to go anywhere

    listed = client.get(f"/api/v1/conversations/{conv.pk}/messages").json()[-1]
    assert listed["delivery"] == "not_delivered"
    assert listed["delivery_reason"] == "no_callback_url"
    assert "callback URL" in listed["delivery_detail"]
    page = client.get(f"/inbox/{conv.pk}/").content.decode()
    assert "The marketplace is not connected" in page
    assert f"/inbox/{conv.pk}/messages/{message.pk}/retry/" in page
    inbox = client.get("/inbox/").content.decode()
    assert "1 message did not reach the buyer." in inbox
    assert "delivery=not_delivered" in inbox
    only = client.get("/inbox/list/?view=all&status=any&delivery=not_delivered").content.decode()
    assert f'data-id="{conv.pk}"' in only
    api_only = client.get("/api/v1/conversations?view=all&status=any&delivery=not_delivered")
    assert [c["id"] for c in api_only.json()] == [conv.pk]
    bad_filter = client.get("/api/v1/conversations?delivery=lost")
    assert bad_filter.status_code == 400

    # Retrying before the shop is connected would fail the same way: refused with the reason.
    early = client.post(f"/api/v1/conversations/{conv.pk}/messages/{message.pk}/retry")
    assert early.status_code == 400
    assert "save a callback URL" in early.json()["detail"]
    outbox.refresh_from_db()
    assert outbox.status == "not_delivered"

    saved = client.patch(
        "/api/v1/shop",
        data=json.dumps({"callback_url": "https://marketplace.example/kefu"}),
        content_type="application/json",
    )
    assert saved.status_code == 200
    retried = committed(lambda: client.post(f"/inbox/{conv.pk}/messages/{message.pk}/retry/"))
    assert retried.status_code == 302
    outbox.refresh_from_db()
    assert (outbox.status, outbox.reason, outbox.attempts) == ("delivered", "", 1)
    assert [b["message_id"] for b in endpoint.bodies] == [message.pk]
    assert conv.events.filter(kind="delivery_retried", actor=owner).exists()
    assert "did not reach" not in client.get("/inbox/").content.decode()
    assert client.get("/api/v1/conversations?status=any&delivery=not_delivered").json() == []
    # A delivered message cannot be sent twice by a second click.
    again = client.post(f"/api/v1/conversations/{conv.pk}/messages/{message.pk}/retry")
    assert again.status_code == 400
    assert len(endpoint.bodies) == 1


def test_marketplace_refusing_the_reply_is_not_delivered_refused_in_both_languages(
    shop, owner, pre_agent, marketplace, committed
):
    shop.callback_url = "https://marketplace.example/kefu"
    shop.save()
    endpoint = marketplace(422)
    online(pre_agent)
    client = speaking(pre_agent)
    conv = buyer_writes(client, shop)
    assert conv.assignee == pre_agent

    response = committed(lambda: api_reply(client, conv))
    assert response.status_code == 201
    message_id = response.json()["id"]
    outbox = Outbox.objects.get(message_id=message_id)
    assert (outbox.status, outbox.reason, outbox.attempts) == ("not_delivered", "refused", 1)
    assert len(endpoint.bodies) == 1  # a 4xx is final: not hammered again
    event = ConversationEvent.objects.get(conversation=conv, kind="delivery_failed")
    assert event.data["reason"] == "refused"
    listed = client.get(f"/api/v1/conversations/{conv.pk}/messages").json()[-1]
    assert (listed["delivery"], listed["delivery_reason"]) == ("not_delivered", "refused")
    assert listed["delivery_detail"] == "The marketplace refused this message."
    chinese = speaking(owner, "zh-hans")
    zh = chinese.get(f"/api/v1/conversations/{conv.pk}/messages").json()[-1]
    assert zh["delivery_detail"] == "平台拒收了这条消息。"
    owner_page = chinese.get(f"/inbox/{conv.pk}/").content.decode()
    assert "未送达" in owner_page
    assert "平台拒收了这条消息。" in owner_page
    assert "重新发送" in owner_page


def test_marketplace_down_until_retries_run_out_is_not_delivered_gave_up(
    shop, owner, pre_agent, marketplace, committed, settings
):
    settings.KEFU_OUTBOX_MAX_ATTEMPTS = 3
    shop.callback_url = "https://marketplace.example/kefu"
    shop.save()
    endpoint = marketplace(503)
    online(pre_agent)
    client = speaking(owner)
    conv = buyer_writes(client, shop)
    message_id = committed(lambda: api_reply(client, conv)).json()["id"]
    outbox = Outbox.objects.get(message_id=message_id)
    assert (outbox.status, outbox.attempts) == ("pending", 1)
    statuses = []
    for hours in (1, 2, 3):
        # The sweeper picks due rows up; each try is an hour later, past any backoff.
        with time_machine.travel(timezone.now() + timedelta(hours=hours)):
            deliver_due_outbox()
        outbox.refresh_from_db()
        statuses.append((outbox.status, outbox.reason, outbox.attempts))
    assert statuses == [
        ("pending", "", 2),
        ("not_delivered", "gave_up", 3),
        ("not_delivered", "gave_up", 3),  # given up: the sweeper leaves it alone
    ]
    assert len(endpoint.bodies) == 3
    page = client.get(f"/inbox/{conv.pk}/").content.decode()
    assert "Kefu stopped retrying" in page

    endpoint.status = 200  # the marketplace is back; the agent retries
    retried = committed(
        lambda: client.post(f"/api/v1/conversations/{conv.pk}/messages/{message_id}/retry")
    )
    assert retried.status_code == 200
    assert retried.json()["delivery"] == "pending"  # queued again; the worker sends it
    outbox.refresh_from_db()
    assert (outbox.status, outbox.reason) == ("delivered", "")
    assert len(endpoint.bodies) == 4


def test_widget_replies_are_delivered_without_a_callback_url(shop, owner, pre_agent, committed):
    from django.test import Client

    online(pre_agent)
    buyer = Client()
    buyer.get("/chat/aurora/")
    assert buyer.post("/chat/aurora/send/", {"text": "Hello from the site"}).status_code == 204
    conv = Conversation.objects.get(channel="widget")
    client = speaking(owner)
    message_id = committed(lambda: api_reply(client, conv)).json()["id"]
    assert Outbox.objects.get(message_id=message_id).status == "delivered"
    assert "Yes, it is in stock." in buyer.get("/chat/aurora/messages/").content.decode()
    assert "did not reach" not in client.get("/inbox/").content.decode()


def test_a_sub_account_sees_the_count_of_its_own_conversations_only(
    shop, owner, pre_agent, after_agent, committed
):
    online(pre_agent)
    client = speaking(owner)
    conv = buyer_writes(client, shop)
    committed(lambda: api_reply(client, conv))
    assert "1 message did not reach the buyer." in client.get("/inbox/").content.decode()
    other = speaking(after_agent)
    assert "did not reach" not in other.get("/inbox/").content.decode()
    message = Message.objects.get(conversation=conv, direction="agent")
    refused = other.post(f"/api/v1/conversations/{conv.pk}/messages/{message.pk}/retry")
    assert refused.status_code == 404
