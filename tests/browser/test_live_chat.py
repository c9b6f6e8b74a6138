"""Issue 2: a buyer writes in the widget, the agent sees it live, replies, the buyer sees it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kefu.accounts.models import Shop
from kefu.conversations.models import Conversation, Message
from tests.browser.support import aurora_with_agent, in_thread, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team(transactional_db):
    # Created before Playwright starts its event loop in this thread.
    shop, _lily = aurora_with_agent(login="lily", group="pre_sale", display_name="Lily")
    return shop


def test_widget_message_reaches_the_agent_live_and_the_reply_reaches_the_buyer(
    team, live_asgi, browser
):

    agent = signed_in_page(browser, live_asgi, "lily")
    expect(agent.locator("#live-status")).to_have_class(re.compile("online"))
    expect(agent.locator(".conv-list")).to_contain_text("No conversations here.")

    buyer = browser.new_context(locale="es-ES").new_page()
    buyer.goto(f"{live_asgi}/chat/aurora/")
    buyer.fill("input[name=name]", "María")
    buyer.fill("#widget-text", "¿Tienen la lámpara en blanco cálido?")
    buyer.keyboard.press("Enter")
    expect(buyer.locator("#messages")).to_contain_text("blanco cálido")

    # No reload: the socket event refreshes the agent's inbox list.
    row = agent.locator(".conv-list li", has_text="María")
    expect(row).to_contain_text("blanco cálido")
    expect(row.locator(".badge")).to_have_text("1")
    row.locator("a").click()
    expect(agent.locator("#messages")).to_contain_text("blanco cálido")
    # Opening it is not the read: the page posts that, and the list's badge goes.
    expect(agent.locator(".conv-list li", has_text="María").locator(".badge")).to_have_count(0)
    unread = in_thread(lambda: list(Conversation.objects.values_list("unread_count", flat=True)))
    assert unread == [0]
    agent.fill("#reply-text", "Sí, la tenemos en blanco cálido.")
    agent.keyboard.press("Enter")
    expect(agent.locator("#messages")).to_contain_text("Sí, la tenemos")

    expect(buyer.locator("#messages")).to_contain_text("Sí, la tenemos")
    expect(buyer.locator("#messages")).to_contain_text("Lily")
    directions = in_thread(
        lambda: list(Message.objects.order_by("pk").values_list("direction", flat=True))
    )
    assert directions[0] == "buyer"
    assert directions[-1] == "agent"


def test_a_buyer_sending_too_fast_is_asked_politely_to_wait(team, live_asgi, browser, rate_clock):
    in_thread(lambda: Shop.objects.filter(pk=team.pk).update(widget_messages_per_minute=1))
    buyer = browser.new_context(locale="zh-CN").new_page()
    buyer.goto(f"{live_asgi}/chat/aurora/")
    buyer.fill("#widget-text", "灯有暖白色的吗？")
    buyer.keyboard.press("Enter")
    expect(buyer.locator("#messages")).to_contain_text("暖白色")

    buyer.fill("#widget-text", "还有别的颜色吗？")
    buyer.keyboard.press("Enter")

    expect(buyer.locator("#widget-notice")).to_be_visible()
    expect(buyer.locator("#widget-notice")).to_contain_text("请等待")
    # What the buyer typed is kept for sending again.
    expect(buyer.locator("#widget-text")).to_have_value("还有别的颜色吗？")
