"""Buyers, conversations and messages for automation tests, written straight to the tables."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.apps import apps

from kefu.automation.keyword_rules import KeywordRuleInput
from kefu.automation.models import AutomationSettings, BusinessHours, Holiday
from kefu.automation.placeholders import PlaceholderContext
from kefu.conversations.models import Buyer, Conversation, Direction, Message
from tests.conftest import login_client
from tests.helpers import image_bytes


@pytest.fixture(autouse=True)
def _english_seller(settings):
    # These tests read refusals and labels in English: the seller's interface language,
    # where the product's default is Chinese (what a Chinese seller reads is checked by
    # tests/core/test_translations.py).
    settings.LANGUAGE_CODE = "en"


T0 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # Monday 11:00 in Shanghai
_ids = itertools.count(1)

PNG = image_bytes("PNG")

FULL = PlaceholderContext(
    buyer_name="Anna",
    agent_name="Lily",
    order_id="8100234",
    tracking_numbers=("LP001", "LP002"),
    carrier="Cainiao",
    arrival_date=dt.date(2026, 3, 14),
    tracking_url="https://t.example/LP001",
    refund_days="3-20",
    order_month=dt.date(2026, 2, 10),
    product="Desk lamp",
    ship_by_hours=72,
    product_shelf_life="24 months",
    product_suits="desks and bedside tables",
    product_ships_from="Shenzhen",
    product_dispatch_time="within 2 days",
    product_differences="a warmer light and a metal base",
)

# The automatic-replies page with texts in several buyer languages.
TRANSLATED_FORM = {
    "welcome_enabled": "on",
    "welcome_text": "Hello! We answer 9:00-18:00 Beijing time.",
    "welcome_text_ru": "Здравствуйте! Отвечаем с 9:00 до 18:00 по Пекину.",
    "welcome_text_es": "¡Hola! Respondemos de 9:00 a 18:00, hora de Pekín.",
    "welcome_text_en": "",
    "welcome_text_zh-hans": "",
    "out_of_hours_enabled": "on",
    "out_of_hours_text": "We are off duty and answer tomorrow.",
    "out_of_hours_text_ru": "Мы сейчас не работаем и ответим завтра.",
    "agent_quiet_minutes": "10",
    "keyword_replies_enabled": "on",
    "languages": ["en", "ru", "es", "zh-hans"],
    "opens_0": "09:00",
    "closes_0": "18:00",
}


def text_rule(keyword, reply="reply", active=True):
    return KeywordRuleInput(keyword=keyword, reply_type="text", text=reply, is_active=active)


def base_rules():
    return [
        text_rule("refund", "Refunds take 3-20 business days."),
        text_rule("tracking", "Your tracking number is on the order page."),
        text_rule("tracking not updated", "International tracking pauses in flight."),
        text_rule("優惠券", "领券下单更划算"),
        KeywordRuleInput(
            keyword="coupon",
            reply_type="coupon",
            coupon_code="SPRING5",
            coupon_value="5",
            coupon_currency="usd",
            coupon_valid_until=dt.date(2026, 4, 30),
            coupon_min_spend="30",
        ),
    ]


def make_buyer(shop, name="Anna", external_id=None) -> Buyer:
    return Buyer.objects.create(
        shop=shop, external_id=external_id or f"b-{next(_ids)}", name=name, first_seen_at=T0
    )


def make_conversation(shop, buyer, group="pre_sale", product=None, order="") -> Conversation:
    return Conversation.objects.create(
        shop=shop,
        buyer=buyer,
        channel="marketplace",
        entry_point="product_page",
        group=group,
        last_message_at=T0,
        opened_at=T0,
        product=product,
        order_external_id=order,
        unread_count=1,
        waiting_since=T0,
    )


def buyer_says(conversation, text, at, kind="text") -> Message:
    return Message.objects.create(
        shop=conversation.shop,
        conversation=conversation,
        buyer=conversation.buyer,
        direction=Direction.BUYER,
        kind=kind,
        text=text,
        sent_at=at,
    )


def agent_says(conversation, text, at, author=None) -> Message:
    return Message.objects.create(
        shop=conversation.shop,
        conversation=conversation,
        buyer=conversation.buyer,
        direction=Direction.AGENT,
        text=text,
        sent_at=at,
        author=author,
    )


@pytest.fixture
def auto_settings(shop) -> AutomationSettings:
    return AutomationSettings.objects.create(
        shop=shop,
        welcome_enabled=True,
        welcome_text="Hi! We answer 9:00-18:00 Beijing time.",
        keyword_replies_enabled=True,
    )


@pytest.fixture
def buyer(shop) -> Buyer:
    return make_buyer(shop)


@pytest.fixture
def conversation(shop, buyer) -> Conversation:
    return make_conversation(shop, buyer)


@pytest.fixture
def translated_texts(shop, owner):
    response = login_client(owner).post("/automation/auto-replies/", TRANSLATED_FORM)
    assert response.status_code == 302
    return AutomationSettings.objects.get(shop=shop)


def row_counts() -> dict[str, int]:
    """Rows per model of every app (sessions aside): a read must leave every count as it was."""
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label != "sessions"
    }


def settings_snapshot(shop) -> dict[str, object]:
    """Every automation setting of a shop, business hours and holidays included."""
    conf = AutomationSettings.objects.filter(shop=shop).values().first()
    return {
        "settings": conf,
        "hours": list(
            BusinessHours.objects.filter(shop=shop).values_list("weekday", "opens", "closes")
        ),
        "holidays": list(Holiday.objects.filter(shop=shop).values_list("day", "name")),
    }
