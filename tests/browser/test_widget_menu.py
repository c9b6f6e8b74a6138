"""R-50 in a real browser: a fresh shop's keyword questions under the widget's greeting; a
click sends the question and the keyword reply comes back live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kefu.accounts.models import User
from kefu.automation.config import update_automation_settings
from kefu.automation.data.starter import KEYWORDS, WELCOME
from kefu.conversations.models import Message
from kefu.desk.setup import open_shop
from tests.browser.support import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fresh_shop(transactional_db):
    # Built before Playwright starts its event loop in this thread, as `kefu shop create` does.
    opened = open_shop(name="Lumen Store", platform="aliexpress", slug="lumen")
    owner = User.objects.get(pk=opened.created.owner.pk)
    conf = opened.created.shop.automation
    update_automation_settings(
        actor=owner,
        welcome_enabled=conf.welcome_enabled,
        welcome_text=conf.welcome_text,
        out_of_hours_enabled=conf.out_of_hours_enabled,
        out_of_hours_text=conf.out_of_hours_text,
        agent_quiet_minutes=conf.agent_quiet_minutes,
        keyword_replies_enabled=True,  # the owner turns the starter set on
    )
    return opened.created.shop


def test_clicking_a_question_sends_it_and_the_answer_appears(fresh_shop, live_asgi, browser):
    buyer = browser.new_context(locale="en-US").new_page()
    buyer.goto(f"{live_asgi}/chat/lumen/")
    menu = buyer.locator("#question-menu")
    for rule in KEYWORDS["en"]:
        expect(menu).to_contain_text(rule["keyword"])

    menu.get_by_role("button", name=KEYWORDS["en"][2]["keyword"]).click()

    box = buyer.locator("#messages")
    expect(box).to_contain_text(KEYWORDS["en"][2]["text"])
    expect(box).to_contain_text(WELCOME["en"][:40])
    expect(buyer.locator("#question-menu")).to_have_count(0)
    asked = in_thread(
        lambda: list(Message.objects.filter(direction="buyer").values_list("text", flat=True))
    )
    assert asked == [KEYWORDS["en"][2]["keyword"]]
