"""Issue 17, the rest of items 2 and 3: a coupon or product card in a campaign message, the
marketplace's caps over the throttle, replies routed to the campaign's conversation through
the signed inbound webhook, 7-day attribution in the reporting currency, and campaign
messages kept out of the service metrics."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import translation

from kefu.accounts.services import create_agent
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.intake import BuyerMessageIn, checked_message
from kefu.conversations.intake_queue import enqueue_messages
from kefu.conversations.models import Conversation, Message
from kefu.desk import intake_queue
from kefu.metrics import refresh
from kefu.metrics import selectors as metrics
from kefu.metrics.config import set_reporting
from kefu.outreach import caps, results, services
from kefu.outreach.models import Recipient
from kefu.outreach.offers import OfferIn
from tests.conftest import PASSWORD, login_client
from tests.helpers import add_product, buyer_says, online, post_signed, synchronous_intake
from tests.outreach.test_campaigns import make_campaign, order, segment

UTC = dt.UTC
T = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)  # 10:00 in Moscow


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


COUPON = OfferIn(
    coupon_code="D11SAVE",
    coupon_value=Decimal("5"),
    coupon_currency="USD",
    coupon_min_spend=Decimal("30"),
    coupon_valid_until=dt.date(2026, 11, 12),
)


def test_a_coupon_reaches_each_buyer_in_their_language_and_the_callback_gets_its_fields(
    shop, owner, marketplace, django_capture_on_commit_callbacks
):
    order(shop, "C1", "olga", country="RU", language="ru")
    order(shop, "C2", "pablo", country="ES", language="es")
    campaign = make_campaign(
        owner,
        segment(owner, statuses="paid"),
        texts={"en": "Hi {name}!", "ru": "Привет, {name}!", "es": "¡Hola, {name}!"},
        offer=COUPON,
    )
    with django_capture_on_commit_callbacks(execute=True):
        # 10:00 in Moscow and 08:00 in Madrid; then 10:00 in Madrid.
        services.send_campaign_step(campaign=campaign, now=T)
        services.send_campaign_step(campaign=campaign, now=T + dt.timedelta(hours=2))
    sent = {b["payload"]["language"]: b for b in marketplace if b["kind"] == "coupon"}
    assert set(sent) == {"ru", "es"}
    ru = sent["ru"]
    assert ru["text"].startswith("Привет, Olga!\n\nДля вас купон: скидка 5,00 USD на заказ.")
    assert ru["payload"]["intro"] == "Привет, Olga!"
    coupon = ru["payload"]["coupon"]
    assert (coupon["code"], coupon["value"], coupon["currency"], coupon["language"]) == (
        "D11SAVE",
        "5.00",
        "USD",
        "ru",
    )
    assert coupon["valid_until"] == "2026-11-12"
    assert sent["es"]["payload"]["coupon"]["language"] == "es"
    assert ru["payload"]["campaign_id"] == campaign.pk
    # The agent's timeline draws the offer card under the campaign's words.
    message = Message.objects.get(payload__campaign_id=campaign.pk, payload__language="ru")
    page = login_client(owner).get(f"/inbox/{message.conversation_id}/").content.decode()
    assert 'class="intro">Привет, Olga!' in page
    assert 'class="coupon-card"' in page and "<code>D11SAVE</code>" in page


def test_the_widget_shows_a_campaign_coupon_as_an_offer_card(shop, owner, pre_agent):
    online(pre_agent)
    buyer = Client(HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert buyer.get(f"/chat/{shop.slug}/").status_code == 200
    client_id = "c" * 32
    sent = buyer.post(
        f"/chat/{shop.slug}/send/", {"text": "Hola", "client_id": client_id, "language": "es"}
    )
    assert sent.status_code == 204
    campaign = make_campaign(
        owner,
        segment(owner, chatted_without_order="1"),
        texts={"en": "Hi!", "es": "¡Ofertas del 11.11!"},
        window_start=0,
        window_end=24,
        starts_at=dt.datetime(2020, 1, 1, tzinfo=UTC),
        offer=COUPON,
    )
    assert services.send_campaign_step(campaign=campaign) == 1
    page = buyer.get(f"/chat/{shop.slug}/").content.decode()
    assert 'class="intro">¡Ofertas del 11.11!' in page
    assert 'class="coupon-card"' in page
    assert '<code>D11SAVE</code> <button type="button" class="coupon-copy"' in page


def test_a_product_card_goes_with_the_text(shop, owner, marketplace):
    order(shop, "P1", "petr", country="RU", language="ru")
    add_product(
        shop, "LAMP-7", "Aurora desk lamp", price=Decimal("19.90"), url="https://shop.example/7"
    )
    campaign = make_campaign(
        owner,
        segment(owner, statuses="paid"),
        offer=OfferIn(product_external_id="LAMP-7"),
    )
    services.send_campaign_step(campaign=campaign, now=T)
    (message,) = Message.objects.filter(payload__campaign_id=campaign.pk)
    assert message.kind == "product_card"
    assert message.payload["title"] == "Aurora desk lamp"
    assert message.payload["product_external_id"] == "LAMP-7"
    assert message.text.startswith("Привет, Petr!\n\nAurora desk lamp · 19.90")
    page = login_client(owner).get(f"/inbox/{message.conversation_id}/").content.decode()
    assert 'class="product-card" data-product="LAMP-7"' in page


def test_an_offer_is_guarded_and_checked_like_the_text(shop, owner):
    order(shop, "G1", "gleb")
    seg = segment(owner, statuses="paid")
    add_product(shop, "BAD-1", "加我微信私下交易 lamp")
    with pytest.raises(ValidationError):
        make_campaign(owner, seg, offer=OfferIn(product_external_id="BAD-1"))
    with pytest.raises(ValidationError):
        make_campaign(owner, seg, offer=OfferIn(product_external_id="NO-SUCH"))
    with pytest.raises(ValidationError):
        make_campaign(
            owner,
            seg,
            offer=OfferIn(
                coupon_code="X",
                coupon_value=Decimal("150"),
                coupon_currency="%",
                coupon_valid_until=dt.date(2026, 12, 1),
            ),
        )
    with pytest.raises(ValidationError):  # a coupon without its last day
        make_campaign(owner, seg, offer=OfferIn(coupon_code="X", coupon_value=Decimal("5")))
    with pytest.raises(ValidationError):
        make_campaign(owner, seg, offer=OfferIn(product_external_id="BAD-1", coupon_code="X"))
    from kefu.outreach.models import Campaign

    assert not Campaign.objects.exists()


def test_the_api_takes_an_offer_and_refuses_a_bad_one_with_400(shop, owner):
    order(shop, "A1", "anya")
    client = login_client(owner)
    seg = segment(owner, statuses="paid")
    body = {
        "name": "D11",
        "segment_id": seg.pk,
        "texts": {"en": "Hi {name}"},
        "starts_at": "2026-11-10T00:00:00Z",
        "offer": {
            "coupon_code": "D11SAVE",
            "coupon_value": "5",
            "coupon_currency": "USD",
            "coupon_valid_until": "2026-11-12",
        },
    }
    post = lambda b: client.post(  # noqa: E731
        "/api/v1/outreach/campaigns", json.dumps(b), content_type="application/json"
    )
    created = post(body)
    assert created.status_code == 201, created.content
    assert created.json()["offer"]["coupon_code"] == "D11SAVE"
    bad = post({**body, "offer": {"coupon_code": "D11SAVE", "coupon_value": "5"}})
    assert bad.status_code == 400


# --- marketplace caps -----------------------------------------------------------------------


def test_the_throttle_never_exceeds_the_marketplace_cap(shop, owner):
    for i in range(12):
        order(shop, f"M{i}", f"m{i}", country="RU")
    caps.set_marketplace_cap(actor=owner, platform="aliexpress", per_minute=3, per_day=7)
    # A cap of another marketplace does not bind this AliExpress shop.
    caps.set_marketplace_cap(actor=owner, platform="taobao", per_minute=1, per_day=1)
    campaign = make_campaign(owner, segment(owner, statuses="paid"), per_minute=100)
    step = lambda minutes: services.send_campaign_step(  # noqa: E731
        campaign=campaign, now=T + dt.timedelta(minutes=minutes)
    )
    assert step(0) == 3  # the cap, not the campaign's 100
    assert step(0.5) == 0  # the minute is used up
    assert step(1.5) == 3
    assert step(3) == 1  # 7 a day: the shop's day (Asia/Shanghai) has room for one more
    assert step(5) == 0
    # The shop's next day (16:00 UTC is midnight in Shanghai) frees the daily cap again;
    # Moscow is at 19:00 then, outside the 10-11 window, so a wider window is used.
    other = make_campaign(
        owner,
        segment(owner, "all", statuses="paid"),
        per_minute=2,
        window_start=0,
        window_end=24,
    )
    assert services.send_campaign_step(campaign=other, now=T + dt.timedelta(hours=9)) == 2
    # A campaign throttle lower than the cap is the limit.
    assert Recipient.objects.filter(campaign=other).count() == 2


def test_only_the_main_account_sets_caps_and_bad_caps_are_400(shop, owner):
    agent = create_agent(
        actor=None,
        shop=shop,
        login="oscar",
        groups=["outreach"],
        password=PASSWORD,
        display_name="Oscar",
    )[0]
    with pytest.raises(PermissionDenied):
        caps.set_marketplace_cap(actor=agent, platform="aliexpress", per_minute=5, per_day=None)
    client = login_client(owner)
    post = lambda b: client.post(  # noqa: E731
        "/api/v1/outreach/caps", json.dumps(b), content_type="application/json"
    )
    assert post({"platform": "aliexpress", "per_minute": 0}).status_code == 400
    assert post({"platform": "ebay", "per_minute": 5}).status_code == 400
    saved = post({"platform": "aliexpress", "per_minute": 5, "per_day": 500})
    assert saved.status_code == 200 and saved.json()["per_day"] == 500
    assert client.get("/api/v1/outreach/caps").json() == [
        {"platform": "aliexpress", "per_minute": 5, "per_day": 500}
    ]
    # The page names the marketplace as the seller knows it.
    assert "<li>AliExpress: " in client.get("/outreach/").content.decode()


# --- replies --------------------------------------------------------------------------------


def _to_paid_buyers_at_any_hour(owner):
    """A campaign to the buyers with a paid order, sending at any hour, started long ago."""
    return make_campaign(
        owner,
        segment(owner, statuses="paid"),
        window_start=0,
        window_end=24,
        starts_at=dt.datetime(2020, 1, 1, tzinfo=UTC),
    )


def _outreach_agent(shop):
    agent = create_agent(
        actor=None,
        shop=shop,
        login="oscar",
        groups=["outreach"],
        password=PASSWORD,
        display_name="Oscar",
    )[0]
    online(agent)
    return agent


@pytest.mark.parametrize("queued", [False, True], ids=["synchronous", "queued"])
def test_a_reply_through_the_webhook_lands_with_the_outreach_group(shop, owner, pre_agent, queued):
    oscar = _outreach_agent(shop)
    online(pre_agent)
    if not queued:
        synchronous_intake(shop)
    order(shop, "R1", "rita", country="RU")
    campaign = _to_paid_buyers_at_any_hour(owner)
    assert services.send_campaign_step(campaign=campaign) == 1
    (recipient,) = Recipient.objects.filter(campaign=campaign).select_related("message")
    campaign_conversation = recipient.message.conversation
    assert campaign_conversation.group == "outreach"
    # The buyer answers from the product page, where a question would go to pre-sale.
    response = post_signed(
        Client(),
        shop,
        {
            "external_id": "reply-1",
            "buyer": {"external_id": "rita", "name": "Rita"},
            "entry_point": "product_page",
            "text": "Is there a Double 11 price for the big lamp?",
        },
    )
    assert response.status_code == (202 if queued else 201), response.content
    if queued:
        intake_queue.drain(seconds=5)  # the intake worker's set-based batch
    reply = Message.objects.get(external_id="reply-1")
    assert reply.conversation_id == campaign_conversation.pk
    conversation = Conversation.objects.get(pk=campaign_conversation.pk)
    assert conversation.assignee_id == oscar.pk
    assert conversation.unread_count == 1 and conversation.status == "open"
    (result,) = results.campaign_results(campaign)
    assert result.replied == 1


@pytest.mark.parametrize("queued", [False, True], ids=["synchronous", "queued"])
def test_after_a_welcome_in_a_new_thread_the_next_message_follows_it_not_the_campaign(
    shop, owner, pre_agent, queued
):
    # A message written before the campaign reached the buyer (delivered late) goes by the
    # page and opens a pre-sale thread, which the welcome answers; the buyer's next message
    # then follows the shop's latest word, that welcome, not the campaign. In one set-based
    # batch the new thread must be visible to the next message's campaign check.
    from kefu.automation.config import settings_for_update

    _outreach_agent(shop)
    online(pre_agent)
    conf = settings_for_update(shop)
    conf.welcome_enabled, conf.welcome_text = True, "Hello, how can we help?"
    conf.save()
    if not queued:
        synchronous_intake(shop)
    order(shop, "R4", "ulla", country="RU")
    campaign = _to_paid_buyers_at_any_hour(owner)
    assert services.send_campaign_step(campaign=campaign) == 1
    written = dt.datetime.now(UTC) - dt.timedelta(minutes=10)
    sent = [
        BuyerMessageIn(
            buyer=BuyerIn(external_id="ulla"),
            text=text,
            entry_point="product_page",
            external_id=external_id,
            sent_at=at,
        )
        for external_id, text, at in (
            ("early", "Is the lamp in stock?", written),
            ("next", "And in white?", None),
        )
    ]
    if queued:
        # Queued together, as the batch webhook queues them: one set-based batch.
        enqueue_messages(shop=shop, messages=[checked_message(m) for m in sent])
        intake_queue.drain(seconds=5)
    else:
        for m in sent:
            payload = {
                "buyer": {"external_id": "ulla"},
                "entry_point": m.entry_point,
                "text": m.text,
                "external_id": m.external_id,
                **({"sent_at": m.sent_at.isoformat()} if m.sent_at else {}),
            }
            assert post_signed(Client(), shop, payload).status_code == 201
    early = Message.objects.get(external_id="early")
    assert early.conversation.group == "pre_sale"
    assert early.conversation.messages.filter(payload__automation="welcome").exists()
    assert Message.objects.get(external_id="next").conversation_id == early.conversation_id


def test_a_message_long_after_the_campaign_or_after_an_agent_wrote_goes_by_the_page(
    shop, owner, pre_agent
):
    _outreach_agent(shop)
    online(pre_agent)
    synchronous_intake(shop)
    order(shop, "R2", "sasha", country="RU")
    order(shop, "R3", "tanya", country="RU")
    campaign = _to_paid_buyers_at_any_hour(owner)
    long_ago = dt.datetime.now(UTC) - dt.timedelta(days=3)
    services.send_campaign_step(campaign=campaign, now=long_ago)
    Message.objects.filter(payload__campaign_id=campaign.pk).update(sent_at=long_ago)
    body = {"buyer": {"external_id": "sasha"}, "entry_point": "product_page", "text": "Hi"}
    assert post_signed(Client(), shop, {**body, "external_id": "late"}).status_code == 201
    assert Message.objects.get(external_id="late").conversation.group == "pre_sale"
    # Tanya asked pre-sale before the campaign; the campaign reached her two hours ago.
    now = dt.datetime.now(UTC)
    asked = buyer_says(shop, "Is it dimmable?", buyer="tanya", sent_at=now - dt.timedelta(hours=3))
    assert asked.conversation.group == "pre_sale"
    Recipient.objects.filter(buyer__external_id="tanya").update(sent_at=now - dt.timedelta(hours=2))
    Message.objects.filter(buyer__external_id="tanya", payload__campaign_id=campaign.pk).update(
        sent_at=now - dt.timedelta(hours=2)
    )
    first = buyer_says(shop, "Where is my parcel?", buyer="tanya", entry_point="order_list")
    assert first.conversation.group == "outreach"  # within 48 h of the campaign: its thread
    # Then the pre-sale agent answers her first question: the shop's latest word is there.
    from kefu.desk.replies import send_reply

    send_reply(actor=pre_agent, conversation=asked.conversation, text="Yes, it is dimmable.")
    then = buyer_says(shop, "Great, thanks!", buyer="tanya", entry_point="product_page")
    assert then.conversation.pk == asked.conversation.pk


# --- results --------------------------------------------------------------------------------


def test_seven_day_attribution_in_the_reporting_currency(shop, owner):
    set_reporting(actor=owner, reporting_currency="USD", rates={"RUB": Decimal("0.011")})
    order(shop, "S0", "semyon", country="RU")
    order(shop, "S0B", "vera", country="RU")
    campaign = make_campaign(owner, segment(owner, statuses="paid"))
    services.send_campaign_step(campaign=campaign, now=T)

    def ruble_order(ext, buyer, hours, amount, currency="RUB"):
        from kefu.orders.inputs import ItemInput, OrderInput
        from kefu.orders.upserts import upsert_orders

        placed = T + dt.timedelta(hours=hours)
        upsert_orders(
            shop=shop,
            inputs=[
                OrderInput(
                    external_id=ext,
                    buyer_external_id=buyer,
                    status="paid",
                    total_amount=Decimal(amount),
                    paid_amount=Decimal(amount),
                    currency=currency,
                    placed_at=placed,
                    paid_at=placed + dt.timedelta(minutes=1),
                    items=(ItemInput(title="Lamp", quantity=1, unit_price=Decimal(amount)),),
                )
            ],
        )

    ruble_order("S1", "semyon", 5, "1000.00")  # 48 h and 7 days: 11.00 USD
    ruble_order("S2", "semyon", 72, "2000.00")  # 7 days only: 22.00 USD
    ruble_order("S3", "semyon", 24 * 8, "9000.00")  # after 7 days: none
    ruble_order("S4", "vera", 30, "50.00", currency="EUR")  # no EUR rate: unconverted
    rules = metrics_rules(shop)
    (row,) = results.campaign_results(
        campaign, reporting_currency=rules.reporting_currency, rates=rules.rates
    )
    assert row.currency == "USD"
    assert (row.orders_placed, row.orders_paid, row.gmv) == (2, 2, Decimal("11.00"))
    assert (row.orders_placed_7d, row.orders_paid_7d, row.gmv_7d) == (3, 3, Decimal("33.00"))
    assert row.unconverted_orders == 1
    # The API says the same, in the reporting currency.
    api = login_client(owner).get(f"/api/v1/outreach/campaigns/{campaign.pk}/results").json()
    assert (api[0]["gmv"], api[0]["gmv_7d"], api[0]["currency"]) == ("11.00", "33.00", "USD")


def metrics_rules(shop):
    from kefu.metrics.config import shop_rules

    return shop_rules(shop=shop)


def test_a_later_campaign_does_not_take_an_order_the_earlier_one_covers_in_7_days(shop, owner):
    order(shop, "E0", "eva", country="RU")
    seg = segment(owner, statuses="paid")
    first = make_campaign(owner, seg)
    second = make_campaign(owner, seg, name="Second")
    services.send_campaign_step(campaign=first, now=T)
    services.send_campaign_step(campaign=second, now=T + dt.timedelta(days=3))
    # Placed 1 h after the second message: the second's within 48 h, the first's within 7 days.
    order(shop, "E1", "eva", amount="40.00", placed=T + dt.timedelta(days=3, hours=1), country="RU")
    (r1,) = results.campaign_results(first)
    (r2,) = results.campaign_results(second)
    assert (r1.orders_paid, r1.orders_paid_7d) == (0, 1)
    assert (r2.orders_paid, r2.orders_paid_7d) == (1, 0)


def test_campaign_messages_never_count_in_the_automation_share(shop, owner):
    """A buyer's question nobody answered, then a campaign message: the question was not
    answered automatically, and nothing of the campaign shows in the service figures."""
    from zoneinfo import ZoneInfo

    now = dt.datetime.now(UTC)
    order(shop, "Z1", "zoya", country="RU", placed=now - dt.timedelta(days=30))
    buyer_says(shop, "Do you ship to Kazan?", buyer="zoya", sent_at=now - dt.timedelta(hours=1))
    campaign = make_campaign(
        owner,
        segment(owner, statuses="paid"),
        window_start=0,
        window_end=24,
        starts_at=now - dt.timedelta(days=1),
    )
    assert services.send_campaign_step(campaign=campaign) == 1
    order(shop, "Z2", "zoya", amount="80.00", placed=dt.datetime.now(UTC), country="RU")
    (row,) = results.campaign_results(campaign)
    assert row.orders_paid == 1
    refresh.rebuild_shop(shop=shop)
    today = dt.datetime.now(ZoneInfo(shop.timezone)).date()
    total = metrics.report(
        shop=shop, start=today - dt.timedelta(days=2), end=today + dt.timedelta(days=1)
    ).total
    assert total["messages_received"] == 1
    assert total["auto_only"] == 0
    assert total["automation_share"] in (0, 0.0, None)
    assert total["replied_24h_with_auto"] == 0
    assert total["reply_rate_with_auto"] in (0, 0.0, None)
    assert (total["guided_orders"], total["guided_gmv"]) == (0, "0.00")
