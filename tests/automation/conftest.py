"""Buyers, conversations and messages for automation tests, written straight to the tables."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from kefu.automation.models import AutomationSettings
from kefu.conversations.models import Buyer, Conversation, Direction, Message

T0 = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # Monday 11:00 in Shanghai
_ids = itertools.count(1)


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
