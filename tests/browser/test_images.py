"""Issue 12 §4: an image keyword reply and an image the agent attaches both show as pictures in
the buyer's chat widget (loaded, not an empty bubble), under the Content-Security-Policy."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from kefu.accounts.models import User
from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from tests.browser.support import aurora_with_agent, signed_in_page
from tests.helpers import image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LOADED = "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"


@pytest.fixture
def team(transactional_db):
    # Created before Playwright starts its event loop in this thread.
    shop, _lily = aurora_with_agent(login="lily", group="pre_sale", display_name="Lily")
    owner = User.objects.get(username="owner")
    chart = image_bytes("PNG", size=(120, 80))
    save_keyword_rules(
        actor=owner,
        rules=[
            KeywordRuleInput(
                keyword="size chart",
                reply_type="image",
                image_upload=SimpleUploadedFile("chart.png", chart, "image/png"),
            ),
            KeywordRuleInput(keyword="shipping", reply_type="text", text="We ship in 48 h."),
            KeywordRuleInput(keyword="refund", reply_type="text", text="Refunds take 3 days."),
        ],
    )
    return shop


def test_keyword_image_and_agent_attachment_show_in_the_buyer_widget(
    team, live_asgi, browser, tmp_path
):
    agent = signed_in_page(browser, live_asgi, "lily")
    expect(agent.locator("#live-status")).to_have_class(re.compile("online"))

    buyer = browser.new_context(locale="en-US").new_page()
    buyer.goto(f"{live_asgi}/chat/aurora/")
    buyer.fill("#widget-text", "Do you have a size chart?")
    buyer.keyboard.press("Enter")
    pictures = buyer.locator("#messages .msg.shop img")
    expect(pictures).to_have_count(1)
    expect(pictures.first).to_have_attribute("src", re.compile(r"^/media/m/[\w-]{32}\.png$"))
    buyer.wait_for_function(
        "() => [...document.querySelectorAll('#messages .msg.shop img')]"
        ".every(i => i.complete && i.naturalWidth === 120)"
    )

    agent.locator(".conv-list li a").first.click()
    expect(agent.locator("#messages .msg.auto img")).to_have_count(1)  # the thumbnail
    photo = tmp_path / "shipping-note.jpg"
    photo.write_bytes(image_bytes("JPEG", size=(64, 48), exif={0x013B: "Lily's phone"}))
    agent.set_input_files("#reply-image", str(photo))
    agent.fill("#reply-text", "Here is your shipping note.")
    agent.locator("#reply-form button[type=submit]").click()
    expect(agent.locator("#messages .msg.agent img")).to_have_count(1)
    expect(agent.locator("#reply-text")).to_have_value("")

    expect(pictures).to_have_count(2)
    expect(buyer.locator("#messages .msg.shop").last).to_contain_text("Here is your shipping note.")
    buyer.wait_for_function(
        "() => [...document.querySelectorAll('#messages .msg.shop img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    assert pictures.evaluate_all(LOADED) == [True, True]
