"""Automatic replies to buyer messages: welcome, out of hours, keyword replies, in the
buyer's language (R-07, R-08, R-11)."""

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from kefu.automation.auto_replies import automatic_replies_for
from kefu.automation.business_hours import Interval
from kefu.automation.config import HolidayInput, set_business_hours
from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from kefu.automation.models import (
    AutomationHit,
    AutomationSettings,
    BuyerAutomationState,
    KeywordRule,
)
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import Conversation, Direction, Message
from kefu.desk.intake import receive_buyer_message

from .conftest import (
    PNG,
    T0,
    TRANSLATED_FORM,
    agent_says,
    base_rules,
    buyer_says,
    make_buyer,
    make_conversation,
    text_rule,
)

NINE, SIX = dt.time(9), dt.time(18)


@pytest.fixture
def three_days_later():
    with time_machine.travel(T0 + dt.timedelta(days=3), tick=False):
        yield


@pytest.fixture
def thirty_days_later():
    with time_machine.travel(T0 + dt.timedelta(days=30), tick=False):
        yield


def _welcomes(replies):
    return [r for r in replies if r.payload["automation"] == "welcome"]


@pytest.fixture
def ooh(shop, owner):
    conf = AutomationSettings.objects.create(
        shop=shop,
        out_of_hours_enabled=True,
        out_of_hours_text="We are closed now.",
        agent_quiet_minutes=10,
    )
    set_business_hours(
        actor=owner,
        intervals=[Interval(weekday=d, opens=NINE, closes=SIX) for d in range(5)],
        holidays=[HolidayInput(day=dt.date(2026, 3, 4), name="Shop party")],
    )
    return conf


def _shanghai(y, m, d, h, mi=0):
    return (
        dt.datetime(y, m, d, h - 8, mi, tzinfo=dt.UTC)
        if h >= 8
        else (dt.datetime(y, m, d, h, mi, tzinfo=dt.UTC) - dt.timedelta(hours=8))
    )


def _ooh(replies):
    return [r for r in replies if r.payload["automation"] == "out_of_hours"]


def says(shop, text, buyer, language=""):
    return receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id=buyer, name=buyer.title(), language=language),
        text=text,
        entry_point="product_page",
    )


@pytest.mark.usefixtures("three_days_later")
def test_first_message_gets_the_welcome_as_an_auto_message(auto_settings, conversation):
    message = buyer_says(conversation, "hello", T0)
    replies = automatic_replies_for(message=message)
    assert len(replies) == 1
    reply = replies[0]
    assert reply.direction == Direction.AUTO
    assert reply.text == "Hi! We answer 9:00-18:00 Beijing time."
    assert reply.payload == {"automation": "welcome", "rule_id": None, "reply_to": message.pk}
    assert reply.conversation_id == conversation.pk
    assert AutomationHit.objects.get(kind="welcome").reply_message_id == reply.pk


@pytest.mark.usefixtures("three_days_later")
def test_auto_reply_leaves_the_message_unread_and_waiting(auto_settings, conversation):
    automatic_replies_for(message=buyer_says(conversation, "hello", T0))
    conversation.refresh_from_db()
    assert conversation.unread_count == 1
    assert conversation.waiting_since == T0
    assert conversation.status == "open"


@pytest.mark.usefixtures("three_days_later")
def test_second_message_within_24_hours_gets_nothing(auto_settings, conversation):
    automatic_replies_for(message=buyer_says(conversation, "hello", T0))
    later = buyer_says(conversation, "anyone?", T0 + dt.timedelta(hours=23, minutes=59))
    assert automatic_replies_for(message=later) == []


@pytest.mark.usefixtures("three_days_later")
def test_exactly_24_hours_after_the_last_message_starts_a_new_window(auto_settings, conversation):
    buyer_says(conversation, "hello", T0)
    just_inside = buyer_says(
        conversation, "hi", T0 + dt.timedelta(hours=24) - dt.timedelta(microseconds=1)
    )
    assert _welcomes(automatic_replies_for(message=just_inside)) == []
    # The window is measured back from each message: the last one was 24 h - 1 µs after T0.
    at_boundary = buyer_says(conversation, "hi again", just_inside.sent_at + dt.timedelta(hours=24))
    assert len(_welcomes(automatic_replies_for(message=at_boundary))) == 1


@pytest.mark.usefixtures("three_days_later")
def test_window_counts_messages_in_every_conversation_of_the_buyer(shop, auto_settings, buyer):
    pre = make_conversation(shop, buyer, group="pre_sale")
    after = make_conversation(shop, buyer, group="after_sale")
    automatic_replies_for(message=buyer_says(pre, "is it in stock?", T0))
    second = buyer_says(after, "about my order", T0 + dt.timedelta(hours=2))
    assert automatic_replies_for(message=second) == []


@pytest.mark.usefixtures("three_days_later")
def test_other_buyers_and_other_shops_do_not_count(shop, other_shop, auto_settings, conversation):
    other_buyer_conv = make_conversation(shop, make_buyer(shop, "Bob"))
    buyer_says(other_buyer_conv, "hello", T0)
    rival_conv = make_conversation(other_shop, make_buyer(other_shop, "Anna", "same"))
    buyer_says(rival_conv, "hello", T0)
    assert len(_welcomes(automatic_replies_for(message=buyer_says(conversation, "hi", T0)))) == 1


@pytest.mark.usefixtures("three_days_later")
def test_welcome_is_off_when_text_empty_or_switch_off(shop, conversation):
    conf = AutomationSettings.objects.create(shop=shop, welcome_enabled=True, welcome_text="  ")
    assert automatic_replies_for(message=buyer_says(conversation, "hello", T0)) == []
    conf.welcome_text = "Hi"
    conf.welcome_enabled = False
    conf.save()
    later = buyer_says(conversation, "hello", T0 + dt.timedelta(days=2))
    assert automatic_replies_for(message=later) == []


@pytest.mark.usefixtures("three_days_later")
def test_agent_and_auto_messages_do_not_open_a_new_window(auto_settings, conversation):
    agent_says(conversation, "Hi there", T0 - dt.timedelta(hours=1))
    assert len(_welcomes(automatic_replies_for(message=buyer_says(conversation, "hi", T0)))) == 1


@pytest.mark.usefixtures("three_days_later")
def test_rule_is_the_same_whatever_the_shop_time_zone(shop, auto_settings, conversation):
    # 23:30 and 00:30 New York time are different local days but only an hour apart.
    shop.timezone = "America/New_York"
    shop.save()
    first = buyer_says(conversation, "hi", dt.datetime(2026, 3, 3, 4, 30, tzinfo=dt.UTC))
    second = buyer_says(conversation, "hi", dt.datetime(2026, 3, 3, 5, 30, tzinfo=dt.UTC))
    assert len(_welcomes(automatic_replies_for(message=first))) == 1
    assert automatic_replies_for(message=second) == []


@pytest.mark.usefixtures("three_days_later")
def test_agent_messages_are_ignored_by_the_hook(auto_settings, conversation):
    assert automatic_replies_for(message=agent_says(conversation, "hello", T0)) == []
    assert not Message.objects.filter(direction=Direction.AUTO).exists()


@pytest.mark.usefixtures("three_days_later")
def test_next_buyer_message_marks_the_auto_reply_as_answered(auto_settings, conversation):
    with time_machine.travel(T0, tick=False):
        automatic_replies_for(message=buyer_says(conversation, "hello", T0))
    hit = AutomationHit.objects.get()
    assert hit.buyer_replied_at is None
    assert hit.created_at == T0
    reply_at = T0 + dt.timedelta(minutes=5)
    with time_machine.travel(reply_at, tick=False):
        automatic_replies_for(message=buyer_says(conversation, "thanks", reply_at))
    hit.refresh_from_db()
    assert hit.buyer_replied_at == reply_at


@pytest.mark.usefixtures("three_days_later")
def test_detected_language_is_stored_on_the_buyer(auto_settings, conversation):
    automatic_replies_for(message=buyer_says(conversation, "Здравствуйте, где моя посылка?", T0))
    conversation.buyer.refresh_from_db()
    assert conversation.buyer.language == "ru"
    assert BuyerAutomationState.objects.get(buyer=conversation.buyer).detected_language == "ru"
    assert Conversation.objects.get(pk=conversation.pk).unread_count == 1


@pytest.mark.usefixtures("thirty_days_later")
def test_no_reply_inside_business_hours(ooh, conversation):
    assert (
        _ooh(
            automatic_replies_for(message=buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 10)))
        )
        == []
    )


@pytest.mark.usefixtures("thirty_days_later")
def test_reply_after_closing_in_the_shop_time_zone(ooh, conversation):
    # 18:00 Shanghai is 10:00 UTC: closed although it is mid-morning in UTC.
    replies = automatic_replies_for(
        message=buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 18))
    )
    assert [r.text for r in _ooh(replies)] == ["We are closed now."]


@pytest.mark.usefixtures("thirty_days_later")
def test_at_most_once_per_buyer_per_shop_day(shop, ooh, buyer, conversation):
    first = buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 19))
    assert len(_ooh(automatic_replies_for(message=first))) == 1
    other_conv = make_conversation(shop, buyer, group="after_sale")
    same_night = buyer_says(other_conv, "hello?", _shanghai(2026, 3, 2, 23, 30))
    assert _ooh(automatic_replies_for(message=same_night)) == []
    next_morning = buyer_says(conversation, "still there?", _shanghai(2026, 3, 3, 7))
    assert len(_ooh(automatic_replies_for(message=next_morning))) == 1


@pytest.mark.usefixtures("thirty_days_later")
def test_holiday_is_closed_all_day(ooh, conversation):
    at_noon = buyer_says(conversation, "hi", _shanghai(2026, 3, 4, 12))
    assert len(_ooh(automatic_replies_for(message=at_noon))) == 1


@pytest.mark.usefixtures("thirty_days_later")
def test_weekend_is_closed(ooh, conversation):
    saturday = buyer_says(conversation, "hi", _shanghai(2026, 3, 7, 11))
    assert len(_ooh(automatic_replies_for(message=saturday))) == 1


@pytest.mark.usefixtures("thirty_days_later")
def test_skipped_when_an_agent_replied_recently(ooh, conversation, pre_agent):
    at = _shanghai(2026, 3, 2, 20)
    agent_says(conversation, "I am still here", at - dt.timedelta(minutes=9), author=pre_agent)
    assert _ooh(automatic_replies_for(message=buyer_says(conversation, "ok", at))) == []


@pytest.mark.usefixtures("thirty_days_later")
def test_sent_when_the_agent_reply_is_older_than_the_quiet_period(ooh, conversation):
    at = _shanghai(2026, 3, 2, 20)
    agent_says(conversation, "bye", at - dt.timedelta(minutes=11))
    assert len(_ooh(automatic_replies_for(message=buyer_says(conversation, "ok", at)))) == 1


@pytest.mark.usefixtures("thirty_days_later")
def test_no_schedule_means_no_out_of_hours_reply(shop, conversation):
    AutomationSettings.objects.create(
        shop=shop, out_of_hours_enabled=True, out_of_hours_text="closed"
    )
    assert (
        automatic_replies_for(message=buyer_says(conversation, "hi", _shanghai(2026, 3, 2, 3)))
        == []
    )


def test_one_keyword_reply_per_buyer_message(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    with time_machine.travel(T0, tick=False):
        replies = automatic_replies_for(
            message=buyer_says(conversation, "Refund? my tracking not updated", T0)
        )
    assert len(replies) == 1
    assert replies[0].text == "International tracking pauses in flight."
    assert replies[0].payload["automation"] == "keyword"
    rule = KeywordRule.objects.get(keyword="tracking not updated", version=1)
    assert replies[0].payload["rule_id"] == rule.pk
    assert AutomationHit.objects.get(kind="keyword").rule_id == rule.pk


def test_coupon_reply_carries_the_coupon(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    (reply,) = automatic_replies_for(message=buyer_says(conversation, "COUPON please", T0))
    assert reply.kind == "coupon"
    coupon = reply.payload["coupon"]
    assert (coupon["code"], coupon["value"], coupon["currency"]) == ("SPRING5", "5.00", "USD")
    assert (coupon["valid_until"], coupon["min_spend"]) == ("2026-04-30", "30.00")
    assert reply.text.endswith("To use it, enter the code SPRING5 at checkout.")
    assert KeywordRule.objects.get(keyword="coupon").coupon_value == Decimal("5.00")


def test_keyword_replies_switch_off(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.keyword_replies_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    assert automatic_replies_for(message=buyer_says(conversation, "refund", T0)) == []


def test_new_version_is_used_right_after_saving(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    save_keyword_rules(actor=owner, rules=base_rules())
    assert automatic_replies_for(message=buyer_says(conversation, "refund", T0))[0].text.startswith(
        "Refunds"
    )
    save_keyword_rules(
        actor=owner, rules=[text_rule("refund", "NEW"), text_rule("b"), text_rule("c")]
    )
    later = buyer_says(conversation, "refund", T0 + dt.timedelta(minutes=1))
    assert automatic_replies_for(message=later)[0].text == "NEW"


def test_image_reply_carries_a_public_address_buyers_can_open(owner, auto_settings, conversation):
    auto_settings.welcome_enabled = False
    auto_settings.save()
    rules = [
        KeywordRuleInput(
            keyword="size chart",
            reply_type="image",
            image_upload=SimpleUploadedFile("chart.png", PNG, "image/png"),
        ),
        text_rule("b"),
        text_rule("c"),
    ]
    save_keyword_rules(actor=owner, rules=rules)
    rule = KeywordRule.objects.get(keyword="size chart")
    (reply,) = automatic_replies_for(message=buyer_says(conversation, "Size chart?", T0))
    (again,) = automatic_replies_for(
        message=buyer_says(conversation, "size chart", T0 + dt.timedelta(minutes=1))
    )
    assert reply.kind == "image"
    image = reply.payload["image"]
    assert re.fullmatch(r"/media/m/[A-Za-z0-9_-]{32}\.png", image["path"])
    assert (image["width"], image["height"], image["content_type"]) == (6, 4, "image/png")
    assert again.payload["image"] == image  # one file and one address, however often sent

    served = Client().get(image["path"])  # no login: the buyer's channel fetches it
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(served.content)).size == (6, 4)
    rule.image.storage.delete(rule.image.name)


def test_intake_hook_query_budget(
    owner, auto_settings, conversation, django_assert_max_num_queries
):
    save_keyword_rules(actor=owner, rules=base_rules())
    automatic_replies_for(message=buyer_says(conversation, "warm the caches", T0))
    message = buyer_says(conversation, "refund please", T0 + dt.timedelta(minutes=1))
    with django_assert_max_num_queries(11):
        replies = automatic_replies_for(message=message)
    assert [r.payload["automation"] for r in replies] == ["keyword"]


def test_intake_sends_welcome_and_keyword_reply_and_keeps_the_message_unread(shop, owner):
    AutomationSettings.objects.create(shop=shop, welcome_enabled=True, welcome_text="Welcome!")
    save_keyword_rules(
        actor=owner,
        rules=[
            KeywordRuleInput(keyword=k, reply_type="text", text=f"about {k}")
            for k in ("refund", "tracking", "发货")
        ],
    )
    result = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="buyer-1", name="Anna"),
        text="什麼時候發貨？",
        entry_point="product_page",
        external_id="m-1",
    )
    assert [m.text for m in result.auto_replies] == ["Welcome!", "about 发货"]
    conv = result.conversation
    conv.refresh_from_db()
    assert conv.unread_count == 1
    assert conv.waiting_since is not None
    assert conv.status == "open"
    second = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="buyer-1", name="Anna"),
        text="hello?",
        entry_point="product_page",
        external_id="m-2",
    )
    assert second.auto_replies == []
    conv.refresh_from_db()
    assert conv.unread_count == 2


def test_each_buyer_is_welcomed_in_their_language(shop, translated_texts):
    ru = says(shop, "Здравствуйте, лампа есть в наличии?", "olga").auto_replies
    es = says(shop, "Hola, ¿cuándo llega mi pedido a Chile?", "lucia").auto_replies
    zh = says(shop, "这款台灯有现货吗？", "wang").auto_replies

    assert ru[0].text == TRANSLATED_FORM["welcome_text_ru"]
    assert es[0].text == TRANSLATED_FORM["welcome_text_es"]
    assert zh[0].text == TRANSLATED_FORM["welcome_text"]  # no Chinese text: the default one


def test_the_agents_correction_and_the_marketplace_language_count(shop, translated_texts):
    # Nothing to detect in a thumbs-up: the marketplace's "ru-RU" decides.
    thumbs_up = says(shop, "👍", "ivan", language="ru-RU")
    assert thumbs_up.auto_replies[0].text == TRANSLATED_FORM["welcome_text_ru"]
    # An agent said this buyer reads Spanish, whatever the message looks like.
    first = says(shop, "hi", "pablo")
    BuyerAutomationState.objects.filter(buyer=first.message.buyer).update(language_override="es")
    AutomationSettings.objects.filter(pk=translated_texts.pk).update(
        welcome_translations={"es": "¡Hola otra vez!"}
    )
    from kefu.conversations.models import Message

    Message.objects.filter(buyer=first.message.buyer).update(
        sent_at=first.message.sent_at.replace(year=2020)
    )
    assert says(shop, "hello", "pablo").auto_replies[0].text == "¡Hola otra vez!"
