"""Issue 13 in a real browser: a buyer whose browser speaks Russian gets the widget in Russian,
asks for a coupon and sees the keyword rule's coupon as an offer card, in Russian, under the
Content-Security-Policy (the browser fixture fails on any refused inline style or script)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from kefu.accounts.models import User
from kefu.automation.keyword_rules import KeywordRuleInput
from kefu.desk.setup import open_shop
from tests.helpers import keyword_replies_only

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def coupon_shop(transactional_db):
    opened = open_shop(name="Lumen Store", platform="aliexpress", slug="lumen")
    owner = User.objects.get(pk=opened.created.owner.pk)
    keyword_replies_only(
        owner,
        [
            KeywordRuleInput(keyword="refund", reply_type="text", text="3-20 business days."),
            KeywordRuleInput(keyword="tracking", reply_type="text", text="Updated daily."),
            KeywordRuleInput(
                keyword="купон",
                reply_type="coupon",
                coupon_code="WELCOME5",
                coupon_value=Decimal("5"),
                coupon_currency="USD",
                coupon_min_spend=Decimal("30"),
                coupon_valid_until=dt.date(2030, 12, 31),
            ),
        ],
    )
    return opened.created.shop


def test_a_russian_buyer_gets_a_russian_widget_and_a_coupon_card(coupon_shop, live_asgi, browser):
    buyer = browser.new_context(locale="ru-RU").new_page()
    buyer.goto(f"{live_asgi}/chat/lumen/")
    expect(buyer.locator("#widget-text")).to_have_attribute("placeholder", "Введите сообщение…")
    expect(buyer.locator("#widget-form button.primary")).to_have_text("Отправить")

    buyer.locator("#widget-text").fill("Здравствуйте! Есть купон?")
    buyer.locator("#widget-text").press("Enter")

    card = buyer.locator(".coupon-card")
    expect(card).to_be_visible()
    expect(card.locator(".coupon-heading")).to_have_text("Купон")
    expect(card.locator(".coupon-value")).to_have_text("5,00 USD")
    expect(card).to_contain_text("Для заказов от 30,00 USD.")
    expect(card).to_contain_text("Действует до 31 декабря 2030 г., 23:59 (UTC+08:00).")
    expect(card.locator("code")).to_have_text("WELCOME5")
    expect(card.locator(".coupon-copy")).to_have_text("Скопировать код")
    # Drawn by the stylesheet, not inline styles: the card has its dashed border.
    assert card.evaluate("el => getComputedStyle(el).borderTopStyle") == "dashed"
