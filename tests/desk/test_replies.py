"""Replies, the outbox and delivery (issue 2 §5)."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kefu.conversations import outbound, state
from kefu.conversations.delivery import deliver_outbox_row
from kefu.conversations.models import Conversation, Message, Outbox
from kefu.desk import replies
from kefu.integrations import adapters
from kefu.integrations.signing import sign
from tests.helpers import buyer_says, online

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_seller(settings):
    # The refusals asserted here are read in English (the interface's other language).
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def deliver(django_capture_on_commit_callbacks):
    """Run after-commit work (delivery tasks, pushes) as a committed transaction would."""

    def send(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return replies.send_reply(**kwargs)

    return send


def test_reply_clears_unread_and_the_response_clock(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    assert conv.unread_count == 1
    assert conv.waiting_since is not None
    replies.send_reply(actor=pre_agent, conversation=conv, text="Yes, it is in stock.")
    conv.refresh_from_db()
    assert (conv.unread_count, conv.waiting_since, conv.status) == (0, None, "pending")


def test_first_reply_is_signed_with_the_agent_name_and_later_ones_are_not(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    first = replies.send_reply(actor=pre_agent, conversation=conv, text="Hello!")
    second = replies.send_reply(actor=pre_agent, conversation=conv, text="Anything else?")
    assert first.text == "Hello!\n— Lily, Aurora Lights"
    assert second.text == "Anything else?"


def test_signature_can_be_switched_off(shop, pre_agent):
    shop.sign_replies = False
    shop.save()
    online(pre_agent)
    conv = buyer_says(shop).conversation
    assert replies.send_reply(actor=pre_agent, conversation=conv, text="Hi").text == "Hi"


def test_empty_and_oversized_replies_are_refused_and_store_nothing(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    for text in ("   ", "x" * 10_001):
        with pytest.raises(ValidationError):
            replies.send_reply(actor=pre_agent, conversation=conv, text=text)
    assert not Message.objects.filter(direction="agent").exists()
    assert not Outbox.objects.exists()


def test_agent_of_another_shop_cannot_reply(shop, rival, pre_agent):
    conv = buyer_says(shop).conversation
    with pytest.raises(PermissionDenied):
        replies.send_reply(actor=rival, conversation=conv, text="hi")


class Recorder:
    def __init__(self, status: int):
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(
            self.status, text="marketplace says no" if self.status >= 400 else "ok"
        )


@pytest.fixture
def callback(shop, monkeypatch):
    shop.callback_url = "https://marketplace.example/callback"
    shop.save()

    def install(status: int) -> Recorder:
        recorder = Recorder(status)
        monkeypatch.setattr(adapters.CallbackAdapter, "transport", httpx.MockTransport(recorder))
        return recorder

    return install


def test_callback_delivery_is_signed(shop, pre_agent, callback, deliver):
    recorder = callback(200)
    online(pre_agent)
    conv = buyer_says(shop).conversation
    message = deliver(actor=pre_agent, conversation=conv, text="Hi")
    outbox = Outbox.objects.get(message=message)
    # Celery runs eagerly in tests: the on-commit task already delivered it.
    assert (outbox.status, outbox.attempts, outbox.reason) == ("delivered", 1, "")
    request = recorder.requests[0]
    timestamp = int(request.headers["X-Kefu-Timestamp"])
    assert request.headers["X-Kefu-Signature"] == sign(
        shop.webhook_secret, request.content, timestamp=timestamp
    )
    assert b'"buyer_external_id": "b-1"' in request.content
    assert Outbox.objects.get(message=message).status == "delivered"


def test_marketplace_4xx_is_final(shop, pre_agent, callback, deliver):
    callback(422)
    online(pre_agent)
    conv = buyer_says(shop).conversation
    message = deliver(actor=pre_agent, conversation=conv, text="Hi")
    outbox = Outbox.objects.get(message=message)
    assert (outbox.status, outbox.reason, outbox.attempts) == ("not_delivered", "refused", 1)
    assert "422" in outbox.last_error
    assert conv.events.filter(kind="delivery_failed").exists()


def test_marketplace_5xx_is_retried_later_then_delivered(shop, pre_agent, callback, deliver):
    import time_machine
    from django.utils import timezone

    callback(503)
    online(pre_agent)
    conv = buyer_says(shop).conversation
    message = deliver(actor=pre_agent, conversation=conv, text="Hi")
    outbox = Outbox.objects.get(message=message)
    assert (outbox.status, outbox.attempts) == ("pending", 1)
    assert deliver_outbox_row(outbox_id=outbox.pk) == "skipped"  # not due yet: no double send
    recorder = callback(200)
    with time_machine.travel(timezone.now() + timezone.timedelta(minutes=1)):
        assert deliver_outbox_row(outbox_id=outbox.pk) == "delivered"
    assert len(recorder.requests) == 1
    assert deliver_outbox_row(outbox_id=outbox.pk) == "skipped"


def test_system_message_is_sent_once_per_key_and_is_not_a_reply(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    first = outbound.send_system_message(
        conversation=conv,
        text="Reminder",
        automation="payment_reminder",
        dedupe_key="remind:order-1",
    )
    again = outbound.send_system_message(
        conversation=conv,
        text="Reminder",
        automation="payment_reminder",
        dedupe_key="remind:order-1",
    )
    assert first is not None
    assert again is None
    conv.refresh_from_db()
    assert conv.unread_count == 1
    assert conv.waiting_since is not None
    assert conv.status == "open"


def test_resolve_and_reopen_are_on_the_timeline(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    state.resolve_conversation(actor=pre_agent, conversation=conv)
    state.reopen_conversation(actor=pre_agent, conversation=conv)
    kinds = list(conv.events.values_list("kind", flat=True))
    assert kinds[-2:] == ["resolved", "reopened"]
    assert Conversation.objects.get(pk=conv.pk).status == "open"


def test_reply_to_an_old_thread_while_the_buyer_has_a_live_one_is_refused(shop, pre_agent):
    """One live conversation per buyer and group (decisions §4): the agent answers there."""
    online(pre_agent)
    old = buyer_says(shop, "First question").conversation
    state.resolve_conversation(actor=pre_agent, conversation=old)
    Conversation.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=8))
    live = buyer_says(shop, "A new question weeks later").conversation
    assert live.pk != old.pk
    old.refresh_from_db()
    before = (Message.objects.count(), Outbox.objects.count(), old.events.count())

    with pytest.raises(ValidationError, match="live conversation"):
        replies.send_reply(actor=pre_agent, conversation=old, text="Answering the old one")

    old.refresh_from_db()
    assert (Message.objects.count(), Outbox.objects.count(), old.events.count()) == before
    assert old.status == "resolved"


def test_reply_to_an_old_thread_over_the_api_is_a_400_not_a_500(shop, pre_agent, client):
    online(pre_agent)
    old = buyer_says(shop, "First question").conversation
    state.resolve_conversation(actor=pre_agent, conversation=old)
    Conversation.objects.filter(pk=old.pk).update(resolved_at=timezone.now() - timedelta(days=8))
    buyer_says(shop, "A new question weeks later")
    client.force_login(pre_agent)

    response = client.post(
        f"/api/v1/conversations/{old.pk}/replies",
        {"text": "Answering the old one"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "live conversation" in response.json()["detail"]


def test_agent_cannot_assign_to_a_colleague_but_owner_can(shop, owner, pre_agent, after_agent):
    conv = buyer_says(shop).conversation
    from kefu.accounts.services import create_agent

    colleague = create_agent(
        actor=None, shop=shop, login="zoe", groups=["pre_sale"], password="correct-horse-battery"
    )[0]
    with pytest.raises(PermissionDenied):
        state.assign_conversation(actor=pre_agent, conversation=conv, agent=colleague)
    with pytest.raises(ValidationError):
        state.assign_conversation(actor=owner, conversation=conv, agent=after_agent)  # wrong group
    state.assign_conversation(actor=owner, conversation=conv, agent=colleague)
    conv.refresh_from_db()
    assert conv.assignee == colleague
