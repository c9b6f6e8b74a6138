import datetime as dt

import pytest
import time_machine

from kefu.automation.models import AutomationHit, AutomationSettings, BuyerAutomationState
from kefu.automation.services import on_buyer_message
from kefu.conversations.models import Conversation, Direction, Message

from .conftest import T0, agent_says, buyer_says, make_buyer, make_conversation


def _welcomes(replies):
    return [r for r in replies if r.payload["automation"] == "welcome"]


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(T0 + dt.timedelta(days=3), tick=False):
        yield


def test_first_message_gets_the_welcome_as_an_auto_message(auto_settings, conversation):
    message = buyer_says(conversation, "hello", T0)
    replies = on_buyer_message(message=message)
    assert len(replies) == 1
    reply = replies[0]
    assert reply.direction == Direction.AUTO
    assert reply.text == "Hi! We answer 9:00-18:00 Beijing time."
    assert reply.payload == {"automation": "welcome", "rule_id": None, "reply_to": message.pk}
    assert reply.conversation_id == conversation.pk
    assert AutomationHit.objects.get(kind="welcome").reply_message_id == reply.pk


def test_auto_reply_leaves_the_message_unread_and_waiting(auto_settings, conversation):
    on_buyer_message(message=buyer_says(conversation, "hello", T0))
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    assert conversation.waiting_since == T0
    assert conversation.status == "open"


def test_second_message_within_24_hours_gets_nothing(auto_settings, conversation):
    on_buyer_message(message=buyer_says(conversation, "hello", T0))
    later = buyer_says(conversation, "anyone?", T0 + dt.timedelta(hours=23, minutes=59))
    assert on_buyer_message(message=later) == []


def test_exactly_24_hours_after_the_last_message_starts_a_new_window(auto_settings, conversation):
    buyer_says(conversation, "hello", T0)
    just_inside = buyer_says(
        conversation, "hi", T0 + dt.timedelta(hours=24) - dt.timedelta(microseconds=1)
    )
    assert _welcomes(on_buyer_message(message=just_inside)) == []
    # The window is measured back from each message: the last one was 24 h - 1 µs after T0.
    at_boundary = buyer_says(conversation, "hi again", just_inside.sent_at + dt.timedelta(hours=24))
    assert len(_welcomes(on_buyer_message(message=at_boundary))) == 1


def test_window_counts_messages_in_every_conversation_of_the_buyer(shop, auto_settings, buyer):
    pre = make_conversation(shop, buyer, group="pre_sale")
    after = make_conversation(shop, buyer, group="after_sale")
    on_buyer_message(message=buyer_says(pre, "is it in stock?", T0))
    second = buyer_says(after, "about my order", T0 + dt.timedelta(hours=2))
    assert on_buyer_message(message=second) == []


def test_other_buyers_and_other_shops_do_not_count(shop, other_shop, auto_settings, conversation):
    other_buyer_conv = make_conversation(shop, make_buyer(shop, "Bob"))
    buyer_says(other_buyer_conv, "hello", T0)
    rival_conv = make_conversation(other_shop, make_buyer(other_shop, "Anna", "same"))
    buyer_says(rival_conv, "hello", T0)
    assert len(_welcomes(on_buyer_message(message=buyer_says(conversation, "hi", T0)))) == 1


def test_welcome_is_off_when_text_empty_or_switch_off(shop, conversation):
    conf = AutomationSettings.objects.create(shop=shop, welcome_enabled=True, welcome_text="  ")
    assert on_buyer_message(message=buyer_says(conversation, "hello", T0)) == []
    conf.welcome_text = "Hi"
    conf.welcome_enabled = False
    conf.save()
    later = buyer_says(conversation, "hello", T0 + dt.timedelta(days=2))
    assert on_buyer_message(message=later) == []


def test_agent_and_auto_messages_do_not_open_a_new_window(auto_settings, conversation):
    agent_says(conversation, "Hi there", T0 - dt.timedelta(hours=1))
    assert len(_welcomes(on_buyer_message(message=buyer_says(conversation, "hi", T0)))) == 1


def test_rule_is_the_same_whatever_the_shop_time_zone(shop, auto_settings, conversation):
    # 23:30 and 00:30 New York time are different local days but only an hour apart.
    shop.timezone = "America/New_York"
    shop.save()
    first = buyer_says(conversation, "hi", dt.datetime(2026, 3, 3, 4, 30, tzinfo=dt.UTC))
    second = buyer_says(conversation, "hi", dt.datetime(2026, 3, 3, 5, 30, tzinfo=dt.UTC))
    assert len(_welcomes(on_buyer_message(message=first))) == 1
    assert on_buyer_message(message=second) == []


def test_agent_messages_are_ignored_by_the_hook(auto_settings, conversation):
    assert on_buyer_message(message=agent_says(conversation, "hello", T0)) == []
    assert not Message.objects.filter(direction=Direction.AUTO).exists()


def test_next_buyer_message_marks_the_auto_reply_as_answered(auto_settings, conversation):
    with time_machine.travel(T0, tick=False):
        on_buyer_message(message=buyer_says(conversation, "hello", T0))
    hit = AutomationHit.objects.get()
    assert hit.buyer_replied_at is None
    assert hit.created_at == T0
    reply_at = T0 + dt.timedelta(minutes=5)
    with time_machine.travel(reply_at, tick=False):
        on_buyer_message(message=buyer_says(conversation, "thanks", reply_at))
    hit.refresh_from_db()
    assert hit.buyer_replied_at == reply_at


def test_detected_language_is_stored_on_the_buyer(auto_settings, conversation):
    on_buyer_message(message=buyer_says(conversation, "Здравствуйте, где моя посылка?", T0))
    conversation.buyer.refresh_from_db()
    assert conversation.buyer.language == "ru"
    assert BuyerAutomationState.objects.get(buyer=conversation.buyer).detected_language == "ru"
    assert Conversation.objects.get(pk=conversation.pk).unread_count == 1
