"""Idle-time outreach (issue 17, the call group): while no buyer waits on the outreach group
for the shop's quiet minutes, its agents see the campaign and revisit queues first. Orders
come from the order import, the campaign is sent by its step, buyers write through the
intake."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone, translation

from kefu.accounts.services import create_agent
from kefu.conversations.models import Buyer, Conversation
from kefu.conversations.state import resolve_conversation
from kefu.orders.inputs import ItemInput, OrderInput
from kefu.orders.upserts import upsert_orders
from kefu.outreach import idle, services
from kefu.outreach.selectors import SegmentFilters
from tests.conftest import PASSWORD
from tests.helpers import buyer_says

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def caller(shop):
    return create_agent(
        actor=None,
        shop=shop,
        login="oli",
        groups=["outreach"],
        password=PASSWORD,
        display_name="Oli",
    )[0]


def order(shop, ext, buyer, *, placed, status="paid", delivered=None):
    upsert_orders(
        shop=shop,
        inputs=[
            OrderInput(
                external_id=ext,
                buyer_external_id=buyer,
                buyer_name=buyer.title(),
                status=status,
                total_amount=Decimal("30.00"),
                paid_amount=Decimal("30.00"),
                placed_at=placed,
                paid_at=placed + dt.timedelta(minutes=3),
                delivered_at=delivered,
                items=(ItemInput(title="Lamp", quantity=1, unit_price=Decimal("30.00")),),
            )
        ],
    )


def inbox_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.get("/inbox/").content.decode()


def test_a_quiet_outreach_inbox_shows_the_queues_first(shop, owner, caller, pre_agent):
    now = timezone.now()
    order(shop, "C1", "carla", placed=now - dt.timedelta(days=2))
    order(shop, "R1", "rita", placed=now - dt.timedelta(days=20), status="delivered",
          delivered=now - dt.timedelta(days=12))  # fmt: skip
    # Rosa was delivered too, but ordered again since: not to revisit.
    order(shop, "R2", "rosa", placed=now - dt.timedelta(days=20), status="delivered",
          delivered=now - dt.timedelta(days=12))  # fmt: skip
    order(shop, "R3", "rosa", placed=now - dt.timedelta(days=3))
    idle.save_idle_minutes(actor=owner, minutes=5)
    segment = services.save_segment(
        actor=owner, name="paid", filters=SegmentFilters.from_json({"statuses": "paid"})
    )
    campaign = services.create_campaign(
        actor=owner,
        name="Double 11 warm-up",
        segment=segment,
        texts={"en": "Hi {name}, Double 11 starts soon!"},
        language_order=["en"],
        starts_at=now - dt.timedelta(minutes=1),
        window_start=0,
        window_end=24,
        per_minute=100,
    )
    assert services.send_campaign_step(campaign=campaign) == 2  # carla and rosa

    page = inbox_of(caller)
    assert 'id="idle-queues"' in page
    queue = page.split('class="idle-campaign"')[1].split("</ul>")[0]
    assert "Carla" in queue and "Rosa" in queue and "Double 11 warm-up" in queue
    revisit = page.split('class="idle-revisit"')[1].split("</ul>")[0]
    assert "Rita" in revisit and "Rosa" not in revisit and "R1" in revisit
    assert 'id="idle-queues"' not in inbox_of(pre_agent)  # not in the outreach group

    # Taking Rita opens an outreach conversation that is the caller's.
    client = Client()
    client.force_login(caller)
    rita = Buyer.objects.get(external_id="rita")
    response = client.post(f"/outreach/queue/{rita.pk}/take")
    conv = Conversation.objects.get(buyer=rita, group="outreach")
    assert response.status_code == 302 and response["Location"] == f"/inbox/{conv.pk}/"
    assert conv.assignee == caller
    assert client.get(response["Location"]).status_code == 200
    # Someone in no queue cannot be taken.
    stranger = buyer_says(shop, "Hi", buyer="stranger").conversation.buyer
    client.post(f"/outreach/queue/{stranger.pk}/take")
    assert not Conversation.objects.filter(buyer=stranger, group="outreach").exists()
    with pytest.raises(ValidationError):
        idle.take_from_queue(actor=caller, buyer=stranger)

    # Carla answers the campaign: a buyer waits on the outreach group, the queues step back.
    buyer_says(shop, "Yes, tell me more about the lamps", buyer="carla", entry_point="shop_page")
    assert 'id="idle-queues"' not in inbox_of(caller)
    assert not idle.outreach_is_quiet(shop)


def test_quiet_means_no_outreach_buyer_wrote_within_the_quiet_minutes(shop, owner, caller):
    now = timezone.now()
    order(shop, "C1", "carla", placed=now - dt.timedelta(days=2))
    segment = services.save_segment(
        actor=owner, name="paid", filters=SegmentFilters.from_json({"statuses": "paid"})
    )
    campaign = services.create_campaign(
        actor=owner,
        name="Warm-up",
        segment=segment,
        texts={"en": "Hi {name}!"},
        language_order=["en"],
        starts_at=now - dt.timedelta(minutes=1),
        window_start=0,
        window_end=24,
    )
    services.send_campaign_step(campaign=campaign)
    reply = buyer_says(
        shop, "Thanks, not now", buyer="carla", sent_at=now - dt.timedelta(minutes=8)
    )
    assert not idle.outreach_is_quiet(shop)  # the campaign's buyer waits for an answer
    # Resolved by the owner: nobody waits now; the buyer wrote 8 minutes ago.
    resolve_conversation(actor=owner, conversation=reply.conversation)
    idle.save_idle_minutes(actor=owner, minutes=10)
    assert not idle.outreach_is_quiet(shop)
    idle.save_idle_minutes(actor=owner, minutes=5)
    assert idle.outreach_is_quiet(shop)
    with pytest.raises(ValidationError):
        idle.save_idle_minutes(actor=owner, minutes=0)
