"""Issue 16 §2: an agent's promising reply offers "track this promise", the promise shows as
due soon on the agent's list, and once its time has passed the overdue warning appears in
the workbench's alert bar and on the list."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from playwright.sync_api import expect

from kefu.care.models import Promise
from kefu.care.watch import watch_shop
from kefu.conversations.buyers import BuyerIn
from kefu.desk.intake import receive_buyer_message
from tests.browser.support import aurora_with_agent, in_thread, signed_in_page
from tests.helpers import online

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def conversation(transactional_db):
    shop, agent = aurora_with_agent(login="max", group="after_sale", display_name="Max")
    online(agent)  # at the inbox: the after-sale chat is routed to Max
    return receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="b-1", name="Olga"),
        entry_point="order_detail",
        text="When will my parcel ship?",
        order_external_id="8001",
    ).conversation


def test_a_promising_reply_is_tracked_then_shows_due_and_overdue(conversation, live_asgi, browser):
    page = signed_in_page(browser, live_asgi, "max")
    page.goto(f"{live_asgi}/inbox/{conversation.pk}/")
    expect(page.locator("#reply-tools")).to_be_visible()
    expect(page.locator("[data-promise-offer]")).to_have_count(0)

    page.fill("#reply-text", "Sorry for the wait! We will ship within 2 hours.")
    page.click("#reply-form button[type=submit]")
    offer = page.locator("[data-promise-offer]")
    expect(offer).to_contain_text("Track this promise")
    # Kept in the data directory for a person to look at (KEFU_DATA_DIR).
    page.screenshot(path=str(settings.DATA_DIR / "care-promise-offer-en.png"), full_page=True)
    offer.click()
    expect(page.locator("input[name=what]")).to_have_value("We will ship within 2 hours.")
    page.click("button:has-text('Track this promise')")
    expect(page).to_have_url(f"{live_asgi}/inbox/{conversation.pk}/")
    promise = in_thread(lambda: Promise.objects.get())
    assert promise.kind == "reply" and promise.conversation_id == conversation.pk

    page.goto(f"{live_asgi}/care/promises/")
    expect(page.locator("table[data-promises=due-soon]")).to_contain_text(
        "We will ship within 2 hours."
    )
    expect(page.locator("table[data-promises=overdue]")).not_to_contain_text("ship")

    # Three hours later the minute watch has run: the overdue warning is on every page.
    with time_machine.travel(promise.due_at + dt.timedelta(hours=1), tick=True):
        in_thread(lambda: watch_shop(shop=conversation.shop))
        page.goto(f"{live_asgi}/care/promises/")
        expect(page.locator("#care-alerts")).to_contain_text(
            "Promise overdue: We will ship within 2 hours."
        )
        expect(page.locator("table[data-promises=overdue]")).to_contain_text(
            "We will ship within 2 hours."
        )
        page.screenshot(path=str(settings.DATA_DIR / "care-promises-en.png"), full_page=True)
