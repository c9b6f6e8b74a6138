"""Issue 17 item 3 in a real browser: a campaign with an A/B variant in two languages, sent
through the beat's step and delivered through the outbox, buyers answering and ordering
through the seller paths (the intake, the signed order webhook); the owner's results page
shows one row per language and variant with those figures and the B-vs-A comparison, in
English and Chinese (the guide's screenshots campaign-ab-en/zh.png come from here)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from django.conf import settings
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.integrations.adapters import CallbackAdapter
from kefu.outreach import services
from kefu.outreach.models import Recipient
from kefu.outreach.selectors import SegmentFilters
from tests.browser.support import aurora_with_agent, sign_in
from tests.helpers import buyer_says, post_order_signed
from tests.outreach.test_campaigns import order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "Warm-white lamps 暖白光上新"


@pytest.fixture
def answered_campaign(transactional_db, monkeypatch):
    shop, _agent = aurora_with_agent(login="mia", group="pre_sale", display_name="Mia")
    Shop.objects.filter(pk=shop.pk).update(callback_url="https://marketplace.example/kefu")
    monkeypatch.setattr(
        CallbackAdapter, "transport", httpx.MockTransport(lambda r: httpx.Response(200))
    )
    owner = User.objects.get(username="owner")
    for i in range(24):
        language = "en" if i % 2 else "zh-hans"
        order(shop, f"AB{i}", f"ab{i}", language=language, country="US" if i % 2 else "CN")
    segment = services.save_segment(
        actor=owner, name="Past buyers 老买家", filters=SegmentFilters(statuses=("paid",))
    )
    campaign = services.create_campaign(
        actor=owner,
        name=NAME,
        segment=segment,
        texts={
            "en": "Hi {name}, our warm-white lamps are in.",
            "zh-hans": "{name}您好，暖白光台灯上新。",
        },
        texts_b={
            "en": "Hi {name}, the lamp you asked about is back, 10% off this week.",
            "zh-hans": "{name}您好，您关注的台灯补货了，本周九折。",
        },
        language_order=["zh-hans", "en"],
        starts_at=timezone.now() - dt.timedelta(hours=1),
        window_start=0,
        window_end=24,
        per_minute=100,
    )
    services.send_campaign_step(campaign=campaign, now=timezone.now())
    # Every B buyer answers and every other one of them orders; one A buyer per language answers.
    answered: dict[tuple[str, str], int] = {}
    paid: dict[tuple[str, str], int] = {}
    first_a: set[str] = set()
    placed = timezone.now() + dt.timedelta(minutes=5)
    for r in Recipient.objects.filter(campaign=campaign).select_related("buyer").order_by("pk"):
        key = (r.language, r.variant)
        if r.variant == "A" and r.language in first_a:
            continue
        if r.variant == "A":
            first_a.add(r.language)
        buyer_says(shop, "Is it the 3000K one?", buyer=r.buyer.external_id)
        answered[key] = answered.get(key, 0) + 1
        if r.variant == "B" and answered[key] % 2:
            body = {
                "external_id": f"AFTER-{r.pk}",
                "buyer": {"external_id": r.buyer.external_id},
                "status": "paid",
                "currency": "USD",
                "total_amount": "39.00",
                "paid_amount": "39.00",
                "placed_at": placed.isoformat(),
                "paid_at": placed.isoformat(),
            }
            assert post_order_signed("/inbound", body, shop).status_code == 201
            paid[key] = paid.get(key, 0) + 1
    return answered, paid


@pytest.mark.parametrize(("language", "short"), [("en", "en"), ("zh-hans", "zh")])
def test_the_results_show_a_row_per_language_and_variant(
    answered_campaign, live_asgi, browser, language, short
):
    answered, paid = answered_campaign
    # Signed in and switched to the language by the one helper, which waits until the page is
    # in that language (the Chinese screenshot was never checked to be Chinese).
    page = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, live_asgi, "owner", language=language)
    page.goto(f"{live_asgi}/outreach/")
    card = page.locator("section.card", has_text=NAME)
    rows = card.locator("table.campaign-results tbody tr")
    assert rows.count() == 4
    seen: dict[str, int] = {}
    seen_paid: dict[str, int] = {}
    for i in range(4):
        cells = rows.nth(i).locator("td").all_inner_texts()
        # Language, variant, targeted, sent, delivered, not delivered, replied, opted out,
        # orders placed, orders paid, ...
        assert cells[3] == cells[4] and cells[5] == "0"  # every message delivered
        seen[cells[1]] = seen.get(cells[1], 0) + int(cells[6])
        seen_paid[cells[1]] = seen_paid.get(cells[1], 0) + int(cells[9])
    assert seen == {
        "A": sum(n for (_, v), n in answered.items() if v == "A"),
        "B": sum(n for (_, v), n in answered.items() if v == "B"),
    }
    assert seen_paid == {"A": 0, "B": sum(paid.values())} and seen_paid["B"] > 0
    comparisons = card.locator("li").all_inner_texts()
    assert len(comparisons) == 4  # reply rate and paid-order rate, per language
    card.screenshot(path=str(settings.DATA_DIR / f"campaign-ab-{short}.png"))
