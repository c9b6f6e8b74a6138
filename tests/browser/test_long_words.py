"""A buyer who pastes one 10,000-character "word" (a tracking dump, a base64 image) must not
stretch the agent's pages or the widget sideways."""

from __future__ import annotations

import pytest

from kefu.conversations.buyers import BuyerIn
from kefu.desk.intake import receive_buyer_message
from tests.browser.support import aurora_with_agent, signed_in_page
from tests.helpers import online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORD = "LP" + "9" * 9998
NAME = "Olga" + "x" * 116


@pytest.fixture
def conversation(transactional_db):
    shop, agent = aurora_with_agent(login="max", group="after_sale", display_name="Max")
    online(agent)  # the inbox is open, so the chat is routed to Max as it arrives
    received = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="b-" + "7" * 100, name=NAME),
        entry_point="order_detail",
        text=WORD,
        order_external_id="8" * 80,
    )
    assert received.conversation.assignee == agent
    return received.conversation


def overflow(page) -> int:
    """How far the page is wider than the window (0 when nothing sticks out)."""
    return int(page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


def test_a_ten_thousand_character_word_stays_inside_the_pages(conversation, live_asgi, browser):
    page = signed_in_page(browser, live_asgi, "max")
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(f"{live_asgi}/inbox/")
    page.wait_for_selector("#inbox-list")
    assert overflow(page) <= 0

    page.goto(f"{live_asgi}/inbox/{conversation.pk}/")
    page.wait_for_selector("#messages .msg")
    page.fill("#reply-text", WORD)
    page.click("#reply-form button[type=submit]")
    page.locator("#messages .msg").nth(1).wait_for()
    assert overflow(page) <= 0
    for selector in ("#messages", "#inbox-list"):
        box = page.locator(selector)
        if box.count():
            assert box.evaluate("el => el.scrollWidth - el.clientWidth") <= 1, selector

    buyer = browser.new_context(locale="en-US", viewport={"width": 380, "height": 640}).new_page()
    buyer.goto(f"{live_asgi}/chat/aurora/")
    buyer.fill("#widget-text", WORD)
    buyer.click("#widget-form button")
    buyer.wait_for_selector("#messages .msg")
    assert overflow(buyer) <= 0
