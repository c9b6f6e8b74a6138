"""R-39 definitions on hand-built histories (shop in Asia/Shanghai), read back from rollups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kefu.metrics import config, refresh, selectors
from kefu.metrics.compute import NO_AGENT
from kefu.metrics.models import FxRate
from tests.metrics.factories import History, at

D1, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 10)


def totals(shop, start=D1, end=D3):
    refresh.rebuild_shop(shop=shop)
    return selectors.report(shop=shop, start=start, end=end).total


def by_day(shop, start=D1, end=D3):
    refresh.rebuild_shop(shop=shop)
    rows = selectors.report(shop=shop, start=start, end=end, by="day").rows
    return {r.key: r.figures for r in rows if r.figures["messages_received"]}


def test_reception_count_deduplicates_buyer_per_day(shop, pre_agent):
    h = History(shop)
    for minute in (0, 5, 9):
        h.buyer_says("b1", at(2, 10, minute))
    h.buyer_says("b2", at(2, 11))
    h.buyer_says("b1", at(3, 10))
    t = totals(shop)
    assert (t["reception_count"], t["messages_received"]) == (3, 5)
    assert t["replied_buyers"] == 0
    assert t["reply_rate_24h"] == 0.0


def test_days_are_the_shops_local_days_not_utc(shop, pre_agent):
    # 23:59 and 00:01 Shanghai time are the same UTC day (15:59 and 16:01 UTC) but two days.
    h = History(shop)
    h.buyer_says("b1", at(2, 23, 59))
    h.buyer_says("b1", at(3, 0, 1))
    h.reply("b1", at(3, 0, 2), pre_agent)
    days = by_day(shop)
    assert set(days) == {"2026-03-02", "2026-03-03"}
    assert days["2026-03-02"]["reception_count"] == 1
    assert days["2026-03-03"]["reception_count"] == 1
    assert days["2026-03-02"]["replied_buyers"] == 1  # the reply is within 48 h of 23:59


@pytest.mark.parametrize(
    ("reply_after", "replied", "within_24h"),
    [
        (dt.timedelta(hours=24), 1, 1),
        (dt.timedelta(hours=24, seconds=1), 1, 0),
        (dt.timedelta(hours=48), 1, 0),
        (dt.timedelta(hours=48, seconds=1), 0, 0),
    ],
)
def test_24h_and_48h_boundaries(shop, pre_agent, reply_after, replied, within_24h):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10) + reply_after, pre_agent)
    t = totals(shop)
    assert t["reception_count"] == 1
    assert t["replied_buyers"] == replied
    assert t["messages_replied"] == replied
    assert t["replied_24h"] == within_24h
    assert t["reply_rate_24h"] == float(within_24h)


def test_auto_replies_never_count_as_replies_or_first_responses(shop, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.auto("b1", at(2, 10, 0, 1))
    h.msg("b1", "system", at(2, 10, 0, 2))
    t = totals(shop)
    assert (t["replied_buyers"], t["messages_replied"], t["replied_24h"]) == (0, 0, 0)
    assert t["first_response_seconds"] is None
    assert t["auto_only"] == 1
    assert t["automation_share"] == 1.0


def test_one_reply_answers_every_buyer_message_before_it(shop, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.buyer_says("b1", at(2, 10, 5))
    h.buyer_says("b1", at(2, 10, 9))
    h.reply("b1", at(2, 10, 10), pre_agent)
    h.buyer_says("b1", at(2, 10, 20))  # after the reply: unanswered
    t = totals(shop)
    assert (t["messages_received"], t["messages_replied"]) == (4, 3)
    assert t["average_response_seconds"] == 600.0  # one wait, from the first message


def test_several_conversations_of_one_buyer_are_one_pair(shop, pre_agent, after_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10), group="pre_sale")
    h.buyer_says("b1", at(2, 11), group="after_sale")
    h.reply("b1", at(2, 11, 5), after_agent, group="after_sale")
    t = totals(shop)
    assert (t["reception_count"], t["replied_buyers"]) == (1, 1)
    assert (t["messages_received"], t["messages_replied"]) == (2, 2)
    # The pre-sale conversation got no reply of its own: only one response is measured.
    assert t["first_response_seconds"] == 300.0


def test_order_paid_before_the_consultation_is_not_guided(shop, pre_agent):
    h = History(shop)
    h.order("b1", at(2, 9), "50.00")
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 5), pre_agent)
    t = totals(shop)
    assert t["replied_buyers"] == 1
    assert t["consult_conversion_rate"] == 0.0
    assert (t["guided_orders"], t["guided_gmv"]) == (0, "0.00")
    assert t["paid_orders"] == 1


def test_order_reachable_from_two_consultations_counts_once(shop, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 5), pre_agent)
    h.buyer_says("b1", at(3, 9))
    h.reply("b1", at(3, 9, 5), pre_agent)
    h.order("b1", at(3, 12), "80.00")
    days = by_day(shop)
    t = selectors.report(shop=shop, start=D1, end=D3).total
    assert (t["replied_buyers"], t["converted_buyers"]) == (2, 2)
    assert t["consult_conversion_rate"] == 1.0
    assert (t["guided_orders"], t["guided_gmv"]) == (1, "80.00")
    # The earliest qualifying pair gets the order.
    assert days["2026-03-02"]["guided_gmv"] == "80.00"
    assert days["2026-03-03"]["guided_gmv"] == "0.00"


@pytest.mark.parametrize(
    ("paid_after", "guided"),
    [(dt.timedelta(0), 1), (dt.timedelta(hours=48), 1), (dt.timedelta(hours=48, seconds=1), 0)],
)
def test_guided_window_is_48h_from_the_first_message_of_the_day(
    shop, pre_agent, paid_after, guided
):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.buyer_says("b1", at(2, 20))  # later messages that day do not move the window
    h.reply("b1", at(2, 20, 1), pre_agent)
    h.order("b1", at(2, 10) + paid_after, "12.50")
    t = totals(shop)
    assert t["guided_orders"] == guided
    assert t["guided_gmv"] == ("12.50" if guided else "0.00")
    assert t["consult_conversion_rate"] == float(guided)


def test_unreplied_consultation_guides_nothing(shop, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.auto("b1", at(2, 10, 1))
    h.order("b1", at(2, 11), "30.00")
    t = totals(shop)
    assert (t["replied_buyers"], t["guided_orders"]) == (0, 0)
    assert t["consult_conversion_rate"] is None


def test_gmv_in_reporting_currency_with_owner_rates(shop, owner, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 1), pre_agent)
    h.order("b1", at(2, 11), "100.00", currency="CNY")
    h.order("b1", at(2, 12), "5.00", currency="USD")
    t = totals(shop)
    assert (t["guided_orders"], t["guided_gmv"], t["unconverted_orders"]) == (2, "5.00", 1)
    config.set_reporting(actor=owner, rates={"CNY": Decimal("0.1389")})
    assert FxRate.objects.get(shop=shop).rate == Decimal("0.1389")
    t = totals(shop)
    assert (t["guided_gmv"], t["unconverted_orders"]) == ("18.89", 0)


def test_reopened_conversation_first_response_from_the_reopening(shop, pre_agent, owner):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 10), pre_agent)  # first response 600 s
    h.event("b1", "resolved", at(2, 11), owner)  # resolution 3600 s
    h.event("b1", "reopened", at(4, 9))
    h.buyer_says("b1", at(4, 9))
    h.reply("b1", at(4, 9, 30), pre_agent)  # first response of the reopening: 1800 s
    h.buyer_says("b1", at(4, 10))
    h.reply("b1", at(4, 10, 2), pre_agent)  # a later response, not a first one
    t = totals(shop)
    assert t["first_response_seconds"] == (600 + 1800) / 2
    assert t["average_response_seconds"] == (600 + 1800 + 120) / 3
    assert t["resolution_seconds"] == 3600.0


def test_time_is_credited_to_the_person_who_replied(shop, pre_agent, after_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 4), after_agent)  # Max answers although Lily may hold it
    h.buyer_says("b2", at(2, 10))
    h.reply("b2", at(2, 10, 2), pre_agent)
    h.buyer_says("b3", at(2, 10))  # nobody answers
    refresh.rebuild_shop(shop=shop)
    rows = {
        r.key: r.figures for r in selectors.report(shop=shop, start=D1, end=D3, by="agent").rows
    }
    assert rows[str(after_agent.pk)]["first_response_seconds"] == 240.0
    assert rows[str(pre_agent.pk)]["first_response_seconds"] == 120.0
    assert rows[str(NO_AGENT)]["reception_count"] == 1
    assert rows[str(NO_AGENT)]["replied_buyers"] == 0
    assert sum(r["reception_count"] for r in rows.values()) == 3


def test_refund_dispute_rate(shop, pre_agent):
    h = History(shop)
    h.order("b1", at(2, 9), "10.00", flags=["dispute_open"])
    h.order("b2", at(2, 9), "10.00")
    h.order("b3", None, "10.00")  # unpaid: not in the base
    t = totals(shop)
    assert (t["paid_orders"], t["disputed_orders"], t["refund_dispute_rate"]) == (2, 1, 0.5)


def test_business_hours_count_only_open_time(shop, pre_agent):
    from kefu.automation.models import BusinessHours

    for weekday in range(7):
        BusinessHours.objects.create(
            shop=shop, weekday=weekday, opens=dt.time(9), closes=dt.time(18)
        )
    h = History(shop)
    h.buyer_says("b1", at(2, 17))
    h.reply("b1", at(3, 10), pre_agent)
    t = totals(shop)
    assert t["first_response_seconds"] == 17 * 3600.0
    assert t["first_response_business_seconds"] == 2 * 3600.0


@pytest.mark.parametrize(
    ("auto_after", "with_auto_24h", "with_auto_48h"),
    [
        (dt.timedelta(hours=24), 1, 1),
        (dt.timedelta(hours=24, seconds=1), 0, 1),
        (dt.timedelta(hours=48, seconds=1), 0, 0),
    ],
)
def test_seller_centre_reply_rates_count_an_automatic_reply_within_the_window(
    shop, auto_after, with_auto_24h, with_auto_48h
):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.auto("b1", at(2, 10) + auto_after)
    t = totals(shop)
    assert (t["reply_rate_24h"], t["reply_rate"]) == (0.0, 0.0)  # people only
    assert t["replied_24h_with_auto"] == with_auto_24h
    assert t["reply_rate_with_auto"] == float(with_auto_48h)


def test_a_message_answered_by_a_person_and_automatically_counts_once(shop, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.auto("b1", at(2, 10, 0, 1))
    h.reply("b1", at(2, 10, 5), pre_agent)
    t = totals(shop)
    assert (t["replied_24h"], t["replied_24h_with_auto"]) == (1, 1)
    assert (t["reply_rate_24h_with_auto"], t["reply_rate_with_auto"]) == (1.0, 1.0)


def test_placed_conversion_needs_an_order_placed_within_48h_after_a_replied_pair(shop, pre_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 5), pre_agent)
    h.order("b1", None)  # placed on day 1, before the consultation: not guided
    t = totals(shop)
    assert (t["placed_buyers"], t["placed_conversion_rate"]) == (0, 0.0)
    late = h.order("b1", None)
    late.placed_at = at(3, 9)
    late.save(update_fields=["placed_at"])
    t = totals(shop)
    assert (t["placed_buyers"], t["placed_conversion_rate"]) == (1, 1.0)
    assert (t["converted_buyers"], t["guided_gmv"]) == (0, "0.00")  # not paid
