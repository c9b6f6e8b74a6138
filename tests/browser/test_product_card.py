"""R-21: the agent clicks Send on a suggested product in the sidebar; the card appears in the
agent's timeline and, live, in the buyer's chat widget; the reply being drafted is kept."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.support import aurora_with_agent, signed_in_page
from tests.helpers import add_product

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHADE_URL = "https://www.aliexpress.com/item/200.html"


@pytest.fixture
def team(transactional_db):
    # Created before Playwright starts its event loop in this thread.
    shop, _lily = aurora_with_agent(login="lily", group="pre_sale", display_name="Lily")
    # A widget conversation has no product: the sidebar suggests main-push products.
    add_product(
        shop,
        "P-200",
        "Lamp shade",
        price=Decimal("12.50"),
        currency="USD",
        url=SHADE_URL,
        is_main_push=True,
        stock=10,
    )
    return shop


def test_agent_sends_a_suggested_product_and_both_sides_see_the_card(team, live_asgi, browser):
    agent = signed_in_page(browser, live_asgi, "lily")
    expect(agent.locator("#live-status")).to_have_class(re.compile("online"))

    buyer = browser.new_context(locale="en-US").new_page()
    buyer.goto(f"{live_asgi}/chat/aurora/")
    buyer.fill("#widget-text", "Do you also sell lamp shades?")
    buyer.keyboard.press("Enter")
    expect(buyer.locator("#messages")).to_contain_text("lamp shades")

    agent.locator(".conv-list li a").first.click()
    expect(agent.locator("#messages")).to_contain_text("lamp shades")
    agent.fill("#reply-text", "A draft the card must not wipe")
    suggestion = agent.locator("#orders-panel .related-products li[data-product='P-200']")
    expect(suggestion).to_contain_text("Lamp shade")
    suggestion.get_by_role("button", name=re.compile("Send")).click()

    card = agent.locator("#messages .msg.agent .product-card")
    expect(card).to_contain_text("Lamp shade")
    expect(card).to_contain_text("12.50 USD")
    expect(card.locator("a.open")).to_have_attribute("href", SHADE_URL)
    expect(agent.locator("#reply-text")).to_have_value("A draft the card must not wipe")

    buyer_card = buyer.locator("#messages .msg.shop .product-card")
    expect(buyer_card).to_contain_text("Lamp shade")
    expect(buyer_card.locator("a.open")).to_have_attribute("href", SHADE_URL)
