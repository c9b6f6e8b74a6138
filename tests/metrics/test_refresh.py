"""The incremental refresh always equals a full rebuild (hypothesis), whatever the order and
chunking in which rows arrive."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kefu.conversations.models import Buyer, Conversation, Message
from kefu.metrics import config, refresh, selectors
from kefu.metrics.compute import COUNTER_FIELDS
from kefu.metrics.models import DailyRollup, MetricsCursor, MetricsFact
from kefu.orders.models import Order
from tests.metrics.factories import History, at

KINDS = [
    "buyer",
    "buyer",
    "agent",
    "agent",
    "auto",
    "order",
    "order",
    "resolved",
    "reopened",
    "repay",
    "repay",
]

step = st.tuples(
    st.integers(0, 2),  # buyer
    st.sampled_from(KINDS),
    st.integers(0, 5 * 24 * 60),  # minutes after the start (crosses days and 24/48 h)
    st.integers(0, 1),  # agent / group choice
)


def _snapshot(shop):
    facts = sorted(
        MetricsFact.objects.filter(shop=shop).values_list(
            "buyer_id", "day", "agent_id", "group", *COUNTER_FIELDS
        )
    )
    rollups = sorted(
        DailyRollup.objects.filter(shop=shop).values_list(
            "day", "agent_id", "group", *COUNTER_FIELDS
        )
    )
    return facts, rollups


def _wipe(shop):
    Message.objects.filter(shop=shop).delete()
    Order.objects.filter(shop=shop).delete()
    Conversation.objects.filter(shop=shop).delete()
    Buyer.objects.filter(shop=shop).delete()
    MetricsFact.objects.filter(shop=shop).delete()
    DailyRollup.objects.filter(shop=shop).delete()
    MetricsCursor.objects.filter(shop=shop).delete()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    steps=st.lists(step, min_size=1, max_size=25),
    cuts=st.lists(st.integers(0, 25), max_size=4),
    order=st.randoms(use_true_random=False),
)
def test_incremental_equals_rebuild(shop, pre_agent, after_agent, steps, cuts, order):
    _wipe(shop)
    later = timezone.now() + dt.timedelta(hours=1)  # every stored row counts as settled
    refresh.rebuild_shop(shop=shop, now=later)
    h = History(shop)
    agents = [pre_agent, after_agent]
    groups = ["pre_sale", "after_sale"]
    start = at(2, 7)
    # Rows arrive in a random order (late webhooks, backfills), in chunks between refreshes.
    shuffled = list(steps)
    order.shuffle(shuffled)
    bounds = sorted({c % (len(shuffled) + 1) for c in cuts} | {len(shuffled)})
    orders: list[Order] = []
    done = 0
    for bound in bounds:
        for buyer, kind, minutes, choice in shuffled[done:bound]:
            ext, when = f"b{buyer}", start + dt.timedelta(minutes=minutes)
            if kind in ("buyer", "auto"):
                h.msg(ext, kind, when, group=groups[choice])
            elif kind == "agent":
                h.reply(ext, when, agents[choice], group=groups[choice])
            elif kind == "order":
                orders.append(
                    h.order(ext, when, f"{minutes % 97 + 1}.50", flags=["dispute_open"] * choice)
                )
            elif kind == "repay" and orders:
                # A corrected payment time: an order change without any event row.
                o = orders[minutes % len(orders)]
                o.paid_at = when
                o.save()
            elif kind in ("resolved", "reopened"):
                h.event(ext, kind, when, actor=agents[choice], group=groups[choice])
        done = bound
        result = refresh.refresh_shop(shop=shop, now=later)
        assert not result.rebuilt
    incremental = _snapshot(shop)
    refresh.rebuild_shop(shop=shop, now=later)
    assert incremental == _snapshot(shop)


def test_refresh_recomputes_earlier_days_when_a_late_reply_arrives(shop, pre_agent):
    later = timezone.now() + dt.timedelta(hours=1)
    refresh.rebuild_shop(shop=shop, now=later)
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    refresh.refresh_shop(shop=shop, now=later)
    day = DailyRollup.objects.get(shop=shop, day=dt.date(2026, 3, 2))
    assert (day.reception_count, day.replied_buyers) == (1, 0)
    h.reply("b1", at(3, 20), pre_agent)  # 34 h later: changes the figures of March 2
    result = refresh.refresh_shop(shop=shop, now=later)
    assert result.buyers == 1
    rows = DailyRollup.objects.filter(shop=shop, day=dt.date(2026, 3, 2))
    assert sum(r.replied_buyers for r in rows) == 1
    assert sum(r.messages_replied for r in rows) == 1
    assert rows.get(agent_id=pre_agent.pk).reception_count == 1


def test_cursor_advances_only_past_settled_rows(shop, pre_agent):
    now = timezone.now()
    refresh.rebuild_shop(shop=shop, now=now)
    h = History(shop)
    m = h.buyer_says("b1", at(2, 10))
    refresh.refresh_shop(shop=shop, now=now + dt.timedelta(seconds=1))
    # The row is younger than the overlap window: it will be read again next time.
    assert MetricsCursor.objects.get(shop=shop).message_id < m.pk
    assert DailyRollup.objects.filter(shop=shop).count() == 1
    refresh.refresh_shop(shop=shop, now=now + dt.timedelta(minutes=5))
    assert MetricsCursor.objects.get(shop=shop).message_id == m.pk


def test_changing_rates_triggers_a_rebuild_on_the_next_refresh(shop, owner):
    refresh.rebuild_shop(shop=shop)
    config.set_reporting(actor=owner, rates={"CNY": "0.14"})
    assert MetricsCursor.objects.get(shop=shop).needs_rebuild
    assert refresh.refresh_shop(shop=shop).rebuilt
    assert not MetricsCursor.objects.get(shop=shop).needs_rebuild
    assert not refresh.refresh_shop(shop=shop).rebuilt


def test_a_second_run_while_one_holds_the_shop_is_refused(shop):
    import pytest

    refresh.rebuild_shop(shop=shop)
    MetricsCursor.objects.filter(shop=shop).update(
        locked_until=timezone.now() + dt.timedelta(minutes=1)
    )
    with pytest.raises(refresh.Busy):
        refresh.refresh_shop(shop=shop)
    assert refresh.refresh_all_shops() == 0


def test_an_order_whose_payment_moves_leaves_its_old_day(shop, pre_agent):
    later = timezone.now() + dt.timedelta(hours=1)
    refresh.rebuild_shop(shop=shop, now=later)
    h = History(shop)
    order = h.order("b1", at(2, 10), "20.00")
    refresh.refresh_shop(shop=shop, now=later)
    assert DailyRollup.objects.get(shop=shop).day == dt.date(2026, 3, 2)
    order.paid_at = at(4, 10)
    order.save()
    refresh.refresh_shop(shop=shop, now=later)
    incremental = _snapshot(shop)
    assert [r[0] for r in incremental[1]] == [dt.date(2026, 3, 4)]
    refresh.rebuild_shop(shop=shop, now=later)
    assert incremental == _snapshot(shop)


def test_live_messages_reach_the_rollups_on_the_next_refresh(shop, pre_agent):
    """Freshness: a buyer message and a reply through the real services, then one refresh."""
    import datetime as dt

    import time_machine

    from tests.helpers import buyer_says, online

    online(pre_agent)
    refresh.rebuild_shop(shop=shop)
    start = timezone.now()
    with time_machine.travel(start + dt.timedelta(minutes=1), tick=False):
        result = buyer_says(shop, "Hello?", buyer="live-1")
    with time_machine.travel(start + dt.timedelta(minutes=2), tick=False):
        from kefu.desk.replies import send_reply

        send_reply(actor=pre_agent, conversation=result.conversation, text="Hi, Lily here")
    with time_machine.travel(start + dt.timedelta(minutes=3), tick=False):
        refresh.refresh_all_shops()
        today = selectors.today(shop)
        report = selectors.report(shop=shop, start=today - dt.timedelta(days=1), end=today)
    total = report.total
    assert (total["reception_count"], total["replied_buyers"], total["replied_24h"]) == (1, 1, 1)
    assert total["first_response_seconds"] == 60.0
    # Auto replies of the welcome automation (if any fired) never count.
    assert total["messages_replied"] == 1
