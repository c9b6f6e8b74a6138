"""Outreach (R-37) through seller paths: buyers and orders from the order import and buyer
messages from the intake, segments and campaigns through the services, sending by the task."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from kefu.conversations.models import Message, OutboxStatus
from kefu.desk.marks import add_mark
from kefu.orders.inputs import ItemInput, OrderInput
from kefu.orders.upserts import upsert_orders
from kefu.outreach import results, selectors, services
from kefu.outreach.models import CampaignStatus, OptOut, Recipient
from kefu.outreach.selectors import SegmentFilters
from tests.helpers import buyer_says

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def order(shop, ext, buyer, *, status="paid", amount="50.00", placed=None, country="",
          language=""):  # fmt: skip
    placed = placed or dt.datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    paid = None if status == "placed" else placed + dt.timedelta(minutes=5)
    upsert_orders(
        shop=shop,
        inputs=[
            OrderInput(
                external_id=ext,
                buyer_external_id=buyer,
                buyer_name=buyer.title(),
                buyer_language=language,
                buyer_country=country,
                status=status,
                total_amount=Decimal(amount),
                paid_amount=Decimal(amount) if paid else None,
                placed_at=placed,
                paid_at=paid,
                items=(ItemInput(title="Lamp", quantity=1, unit_price=Decimal(amount)),),
            )
        ],
    )


def segment(owner, name="s", **filters):
    return services.save_segment(actor=owner, name=name, filters=SegmentFilters.from_json(filters))


def test_segment_counts_match_the_histories(shop, owner):
    now = dt.datetime.now(UTC)
    order(shop, "O1", "big", amount="300.00")
    order(shop, "O2", "big", amount="250.00")
    order(shop, "O3", "small", amount="20.00")
    order(shop, "O4", "unpaid", status="placed", placed=now - dt.timedelta(hours=3))
    order(shop, "O5", "old-unpaid", status="placed", placed=now - dt.timedelta(hours=50))
    looker = buyer_says(shop, "Is the lamp in stock?", buyer="looker").conversation
    add_mark(actor=owner, conversation=looker, color="label", label="VIP")
    count = lambda **f: selectors.segment_buyers(  # noqa: E731
        shop=shop, filters=SegmentFilters.from_json(f)
    ).count()
    assert count(min_spend="500") == 1
    assert count(unpaid_within_hours="24") == 1
    assert count(statuses="placed") == 2
    assert count(chatted_without_order="1") == 1
    assert count(min_spend="10") == 2
    assert count(never_reordered="1") == 3  # small, unpaid, old-unpaid: one order each
    assert count(marks="VIP") == 1
    assert count(marks="blue") == 0


def test_bad_filters_are_refused(shop, owner):
    with pytest.raises(ValidationError):
        SegmentFilters.from_json({"statuses": "teleported"})
    with pytest.raises(ValidationError):
        SegmentFilters.from_json({"placed_from": "11/11/2026"})
    with pytest.raises(ValidationError):
        services.save_segment(actor=owner, name="all", filters=SegmentFilters())


def make_campaign(owner, seg, **kw):
    args = {
        "name": "Double 11",
        "segment": seg,
        "texts": {"en": "Hi {name}, Double 11 starts soon at {shop}!", "ru": "Привет, {name}!"},
        "language_order": ["en"],
        "starts_at": dt.datetime(2026, 11, 10, 0, 0, tzinfo=UTC),
        "window_start": 10,
        "window_end": 11,
        "per_minute": 100,
    }
    args.update(kw)
    return services.create_campaign(actor=owner, **args)


def test_window_is_the_buyers_local_ten_oclock(shop, owner):
    order(shop, "M1", "moscow", country="RU", language="ru")
    order(shop, "S1", "saopaulo", country="BR", language="pt")
    campaign = make_campaign(owner, segment(owner, statuses="paid"))
    # 07:00 UTC is 10:00 in Moscow (UTC+3) and 04:00 in São Paulo (UTC-3).
    assert (
        services.send_campaign_step(
            campaign=campaign, now=dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
        )
        == 1
    )
    assert (
        services.send_campaign_step(
            campaign=campaign, now=dt.datetime(2026, 11, 10, 13, 0, tzinfo=UTC)
        )
        == 1
    )
    sent = {r.buyer.external_id: r for r in Recipient.objects.select_related("buyer", "message")}
    assert sent["moscow"].message.text == "Привет, Moscow!"
    assert sent["moscow"].sent_at.hour == 7
    # No Portuguese variant: the owner's fallback order gives English.
    assert (
        sent["saopaulo"].message.text == "Hi Saopaulo, Double 11 starts soon at " + shop.name + "!"
    )
    assert sent["saopaulo"].message.outbox.status in (OutboxStatus.PENDING, OutboxStatus.DELIVERED,
                                                      OutboxStatus.NOT_DELIVERED)  # fmt: skip
    # A re-run the same hour reaches nobody twice.
    assert (
        services.send_campaign_step(
            campaign=campaign, now=dt.datetime(2026, 11, 10, 13, 30, tzinfo=UTC)
        )
        == 0
    )
    assert Message.objects.filter(payload__campaign_id=campaign.pk).count() == 2


def test_throttle_pause_resume_lose_and_repeat_nothing(shop, owner):
    for i in range(5):
        order(shop, f"T{i}", f"b{i}", country="RU")
    campaign = make_campaign(owner, segment(owner, statuses="paid"), per_minute=2)
    t = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    assert services.send_campaign_step(campaign=campaign, now=t) == 2
    assert services.send_campaign_step(campaign=campaign, now=t + dt.timedelta(seconds=20)) == 0
    services.control_campaign(actor=owner, campaign=campaign, action="pause")
    assert services.send_campaign_step(campaign=campaign, now=t + dt.timedelta(minutes=2)) == 0
    services.control_campaign(actor=owner, campaign=campaign, action="resume")
    assert services.send_campaign_step(campaign=campaign, now=t + dt.timedelta(minutes=3)) == 2
    assert services.send_campaign_step(campaign=campaign, now=t + dt.timedelta(minutes=4)) == 1
    assert Recipient.objects.filter(campaign=campaign).count() == 5
    assert Recipient.objects.values("buyer").distinct().count() == 5
    services.control_campaign(actor=owner, campaign=campaign, action="cancel")
    assert campaign.status == CampaignStatus.CANCELLED
    with pytest.raises(ValidationError):
        services.control_campaign(actor=owner, campaign=campaign, action="resume")


@pytest.mark.parametrize("reply", ["STOP", "退订", "отписаться", "Baja."])
def test_an_opt_out_reply_stops_every_campaign(shop, owner, reply):
    order(shop, "P1", "anna", country="RU")
    order(shop, "P2", "boris", country="RU")
    seg = segment(owner, statuses="paid")
    first = make_campaign(owner, seg)
    t = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    assert services.send_campaign_step(campaign=first, now=t) == 2
    buyer_says(shop, reply, buyer="anna", sent_at=t + dt.timedelta(hours=1))
    assert OptOut.objects.filter(buyer__external_id="anna", campaign=first).exists()
    second = make_campaign(owner, seg, name="Double 12")
    assert services.send_campaign_step(campaign=second, now=t) == 1
    assert not Recipient.objects.filter(campaign=second, buyer__external_id="anna").exists()
    result = {r.language: r for r in results.campaign_results(first)}
    assert result["en"].opted_out == 1 and result["en"].replied == 1


def test_a_sentence_with_stop_is_not_an_opt_out(shop):
    assert not services.is_opt_out("please stop sending the wrong size")
    assert services.is_opt_out("  stop! ")


def test_a_guard_blocked_variant_cannot_be_scheduled(shop, owner):
    order(shop, "G1", "gina")
    seg = segment(owner, statuses="paid")
    with pytest.raises(ValidationError):
        make_campaign(owner, seg, texts={"en": "Hi {name}", "zh": "加我微信私下交易，给你好评返现"})
    with pytest.raises(ValidationError):
        make_campaign(owner, seg, texts={"en": "Hi {nmae}"})


def test_orders_are_attributed_once_to_the_earliest_touch(shop, owner):
    order(shop, "A1", "carla", country="RU")
    seg = segment(owner, statuses="paid")
    first = make_campaign(owner, seg)
    second = make_campaign(owner, seg, name="Again")
    t = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    services.send_campaign_step(campaign=first, now=t)
    services.send_campaign_step(campaign=second, now=t + dt.timedelta(minutes=5))
    order(shop, "A2", "carla", amount="80.00", placed=t + dt.timedelta(hours=3), country="RU")
    order(shop, "A3", "carla", amount="9.00", placed=t + dt.timedelta(hours=60), country="RU")
    r1 = results.campaign_results(first)[0]
    r2 = results.campaign_results(second)[0]
    assert (r1.orders_placed, r1.orders_paid, r1.gmv) == (1, 1, Decimal("80.00"))
    assert (r2.orders_placed, r2.gmv) == (0, Decimal("0"))
    assert r1.sent == 1 and r1.targeted == 1


def test_campaign_orders_stay_out_of_guided_gmv(shop, owner):
    from kefu.metrics import refresh
    from kefu.metrics import selectors as metrics

    order(shop, "Q1", "dana", country="RU")
    campaign = make_campaign(owner, segment(owner, statuses="paid"))
    t = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    services.send_campaign_step(campaign=campaign, now=t)
    buyer_says(
        shop, "Is there a Double 11 coupon?", buyer="dana", sent_at=t + dt.timedelta(hours=1)
    )
    order(shop, "Q2", "dana", amount="80.00", placed=t + dt.timedelta(hours=2), country="RU")
    assert results.campaign_results(campaign)[0].gmv == Decimal("80.00")
    refresh.rebuild_shop(shop=shop)
    total = metrics.report(shop=shop, start=dt.date(2026, 11, 9), end=dt.date(2026, 11, 12)).total
    assert total["messages_received"] == 1
    assert (total["guided_orders"], total["guided_gmv"]) == (0, "0.00")


def test_a_worker_killed_mid_campaign_sends_each_buyer_exactly_once(shop, owner, monkeypatch):
    for i in range(6):
        order(shop, f"K{i}", f"k{i}", country="RU")
    campaign = make_campaign(owner, segment(owner, statuses="paid"))
    t = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    monkeypatch.setattr(services, "SEND_ROUND", 2)
    real = services.send_outreach_messages
    calls = {"n": 0}

    def dies_in_the_second_round(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")
        return real(**kwargs)

    monkeypatch.setattr(services, "send_outreach_messages", dies_in_the_second_round)
    with pytest.raises(SystemExit):
        services.send_campaign_step(campaign=campaign, now=t)
    # The second round's transaction was rolled back with its recipient rows: nothing
    # half-sent, the first round's two buyers reached.
    assert Recipient.objects.filter(campaign=campaign).count() == 2
    assert Message.objects.filter(payload__campaign_id=campaign.pk).count() == 2
    monkeypatch.setattr(services, "send_outreach_messages", real)
    assert services.send_campaign_step(campaign=campaign, now=t + dt.timedelta(minutes=1)) == 4
    assert services.send_campaign_step(campaign=campaign, now=t + dt.timedelta(minutes=2)) == 0
    per_buyer = Message.objects.filter(payload__campaign_id=campaign.pk).values_list(
        "buyer_id", flat=True
    )
    assert len(per_buyer) == 6 and len(set(per_buyer)) == 6


def test_results_say_what_the_outbox_delivered(shop, owner, monkeypatch):
    import httpx

    from kefu.accounts.models import Shop
    from kefu.conversations.delivery import deliver_outbox_row
    from kefu.integrations.adapters import CallbackAdapter

    order(shop, "D1", "del1", country="RU")
    order(shop, "D2", "del2", country="RU")
    campaign = make_campaign(owner, segment(owner, statuses="paid"))
    services.send_campaign_step(campaign=campaign, now=dt.datetime(2026, 11, 10, 7, tzinfo=UTC))
    first, second = Recipient.objects.filter(campaign=campaign).order_by("pk")
    # No callback address yet: the marketplace cannot be told, the message is not delivered.
    assert deliver_outbox_row(outbox_id=first.message.outbox.pk) == OutboxStatus.NOT_DELIVERED
    Shop.objects.filter(pk=shop.pk).update(callback_url="https://seller.example/kefu")
    monkeypatch.setattr(
        CallbackAdapter, "transport", httpx.MockTransport(lambda r: httpx.Response(200))
    )
    assert deliver_outbox_row(outbox_id=second.message.outbox.pk) == OutboxStatus.DELIVERED
    (result,) = results.campaign_results(campaign)
    assert (result.sent, result.delivered, result.not_delivered) == (2, 1, 1)
    assert result.not_delivered_reasons == {"no_callback_url": 1}


def test_ab_split_is_random_fixed_per_buyer_and_compared(shop, owner):
    for i in range(40):
        order(shop, f"AB{i}", f"ab{i}", country="RU")
    campaign = make_campaign(
        owner,
        segment(owner, statuses="paid"),
        texts={"en": "Hi {name}, A"},
        texts_b={"en": "Hi {name}, B"},
    )
    t = dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    assert services.send_campaign_step(campaign=campaign, now=t) == 40
    halves = {v: Recipient.objects.filter(campaign=campaign, variant=v).count() for v in "AB"}
    assert halves["A"] + halves["B"] == 40 and min(halves.values()) >= 10
    for r in Recipient.objects.filter(campaign=campaign).select_related("message"):
        assert r.message.text.endswith(r.variant)
        assert services.choose_variant(campaign, r.buyer, "en") == r.variant
    found = results.campaign_results(campaign)
    assert [(r.language, r.variant) for r in found] == [("en", "A"), ("en", "B")]
    comparisons = results.ab_comparisons(found)
    assert {c.measure for c in comparisons} == {"replied", "orders_paid"}
    assert not any(c.more_than_noise for c in comparisons)  # nobody replied or ordered


def test_a_guard_blocked_b_variant_cannot_be_scheduled(shop, owner):
    order(shop, "GB", "gb")
    with pytest.raises(ValidationError):
        make_campaign(
            owner,
            segment(owner, statuses="paid"),
            texts={"en": "Hi"},
            texts_b={"en": "加我微信私下交易"},
        )


def _statements_to_send(shop, owner, prefix: str, buyers: int) -> tuple[int, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(buyers):
        order(shop, f"{prefix}{i}", f"{prefix.lower()}{i}", country="RU")
    # Half of them already chat with the shop: their live conversations take the message.
    for i in range(0, buyers, 2):
        buyer_says(shop, "Hello", buyer=f"{prefix.lower()}{i}")
    campaign = make_campaign(owner, segment(owner, name=prefix, countries="RU"), per_minute=600)
    with CaptureQueriesContext(connection) as queries:
        sent = services.send_campaign_step(
            campaign=campaign, now=dt.datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
        )
    # Every buyer of the shop so far is in the segment: the earlier ones too.
    assert sent == Recipient.objects.filter(campaign=campaign).count() >= buyers
    assert Message.objects.filter(payload__campaign_id=campaign.pk).count() == sent
    return sent, len(queries)


def test_a_campaign_step_costs_a_fixed_number_of_statements_not_some_per_buyer(shop, owner):
    # One buyer at a time cost ~17 statements each; a round of buyers is one multi-row
    # statement per table. On PostgreSQL COPY writes are not counted, so it is at most this.
    sent_few, few = _statements_to_send(shop, owner, "F", 10)
    sent_many, many = _statements_to_send(shop, owner, "M", 60)
    assert (sent_few, sent_many) == (10, 70)
    assert many <= 30, many
    assert many - few <= 2, (few, many)
