"""Issue 3: an agent opens a conversation and sees the buyer's order, two parcels and their
tracking timeline in the sidebar (real Chromium against a live ASGI server)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from kefu.conversations.models import Conversation
from kefu.orders.tracking import TrackingInput, record_tracking
from tests.browser.support import aurora_with_agent, signed_in_page
from tests.helpers import add_product

from .factories import make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=dt.UTC)


@pytest.fixture
def conversation(transactional_db) -> int:
    # Built before Playwright starts its event loop in this thread.
    shop, lily = aurora_with_agent(login="lily", group="after_sale", display_name="Lily")
    lamp = add_product(shop, "P-100", "Desk lamp", owner=lily)
    order = make_order(
        shop,
        "8190000000000042",
        buyer="olga",
        products=[lamp],
        parcels=[("LP-A1", "Cainiao"), ("LP-B2", "Cainiao")],
    )
    record_tracking(
        shop=shop,
        tracking_number="LP-A1",
        events=[
            TrackingInput(
                status="InTransit",
                occurred_at=T0 + dt.timedelta(days=1),
                description="Departed Shenzhen sorting centre",
            ),
            TrackingInput(
                status="Delivered",
                occurred_at=T0 + dt.timedelta(days=9),
                description="Delivered to the mailbox",
            ),
        ],
    )
    record_tracking(
        shop=shop,
        tracking_number="LP-B2",
        events=[
            TrackingInput(
                status="customs",
                occurred_at=T0 + dt.timedelta(days=3),
                description="Import customs clearance started",
            ),
        ],
    )
    now = timezone.now()
    conv = Conversation.objects.create(
        shop=shop,
        buyer=order.buyer,
        channel="marketplace",
        entry_point="order_detail",
        group="after_sale",
        assignee=lily,
        product=lamp,
        order_external_id=order.external_id,
        last_message_at=now,
        opened_at=now,
    )
    return conv.pk


def test_agent_sees_the_order_with_two_parcels_and_their_timeline(
    conversation,
    live_asgi,
    browser,
):
    page = signed_in_page(browser, live_asgi, "lily", english=False)
    page.goto(f"{live_asgi}/inbox/{conversation}/")

    card = page.locator("#orders-panel .order-card.highlighted")
    expect(card).to_contain_text("8190000000000042", timeout=10_000)
    expect(card.locator(".parcel")).to_have_count(2)
    expect(card.locator(".parcel[data-parcel='LP-A1'] .tracking li")).to_have_count(2)
    expect(card).to_contain_text("Departed Shenzhen sorting centre")
    expect(card).to_contain_text("Import customs clearance started")
    expect(card).to_contain_text("Desk lamp")
