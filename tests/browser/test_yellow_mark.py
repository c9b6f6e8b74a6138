"""Issue 4: an agent marks a conversation yellow, cannot resolve it, records and sends the new
tracking number, then resolves it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import Conversation, Message
from kefu.desk.intake import receive_buyer_message
from tests.browser.support import aurora_with_agent, in_thread, signed_in_page
from tests.helpers import online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(transactional_db):
    shop, agent = aurora_with_agent(login="max", group="after_sale", display_name="Max")
    online(agent)  # the inbox is open, so the chat is routed to Max as it arrives
    received = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="b-1", name="Olga"),
        entry_point="order_detail",
        text="My parcel was lost, please send it again",
        order_external_id="8001",
    )
    assert received.conversation.assignee == agent
    return received.conversation


def test_yellow_mark_blocks_resolution_until_the_new_number_is_sent(
    conversation, live_asgi, browser
):
    page = signed_in_page(browser, live_asgi, "max")
    page.goto(f"{live_asgi}/inbox/{conversation.pk}/")

    page.click(".add-mark summary")
    page.select_option(".add-mark select[name=color]", "yellow")
    page.click(".add-mark button:has-text('Add mark')")
    expect(page.locator(".marks-bar .mark-yellow")).to_be_visible()

    page.click("#resolve-btn")
    expect(page.locator("#action-error")).to_contain_text("new tracking number")
    status = in_thread(lambda: Conversation.objects.get(pk=conversation.pk).status)
    assert status == "open"

    page.fill("#yellow-duty input[name=carrier]", "Cainiao")
    page.fill("#yellow-duty input[name=tracking_number]", "LP00998877CN")
    page.click("#yellow-duty button")
    expect(page.locator("#messages")).to_contain_text("LP00998877CN")
    expect(page.locator(".marks-bar .mark-yellow")).not_to_have_class(re.compile("duty-open"))

    page.click("#resolve-btn")
    expect(page.locator(".conv-head .tag.status-resolved")).to_be_visible()
    sent = in_thread(
        lambda: list(Message.objects.filter(direction="agent").values_list("text", flat=True))
    )
    assert any("LP00998877CN" in text for text in sent)
