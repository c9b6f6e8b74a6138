"""Promises (R-28, R-32): found in an agent's reply and offered to track, recorded, due soon
and overdue with their alerts, kept or broken per agent; return and repair commitments count
from delivery."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.care import tasks
from kefu.care.models import AlertKind, CareAlert, PromiseStatus
from kefu.care.promise_text import find_promise
from kefu.care.promises import (
    PromiseInput,
    close_promise,
    record_order_commitment,
    record_promise,
)
from kefu.care.selectors import live_alerts, promise_board, promise_offer, promise_tally
from kefu.conversations.models import Direction, Message
from kefu.desk.replies import send_reply
from kefu.orders.models import Order
from tests.conftest import login_client
from tests.helpers import buyer_says, online, post_order_signed
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db

SHANGHAI = "Asia/Shanghai"
# Monday 2026-11-30 10:00 in Shanghai.
NOW = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)


def _local(y: int, m: int, d: int, h: int, mi: int) -> dt.datetime:
    import zoneinfo

    return dt.datetime(y, m, d, h, mi, tzinfo=zoneinfo.ZoneInfo(SHANGHAI))


@pytest.mark.parametrize(
    ("text", "due"),
    [
        ("您好，发票3天内寄出。", _local(2026, 12, 3, 23, 59)),
        ("We will ship tomorrow, sorry for the wait!", _local(2026, 12, 1, 23, 59)),
        ("Sorry! We will refund within 5 days.", _local(2026, 12, 5, 23, 59)),
        ("退款会在24小时内处理", _local(2026, 12, 1, 10, 0)),
        ("We'll send the invoice within 2 business days.", _local(2026, 12, 2, 23, 59)),
        ("明天给您补发", _local(2026, 12, 1, 23, 59)),
        ("三天内给您发货", _local(2026, 12, 3, 23, 59)),
    ],
)
def test_a_promise_with_a_time_is_found(text, due):
    guess = find_promise(text, now=NOW, timezone_name=SHANGHAI)
    assert guess is not None
    assert guess.due_at == due


@pytest.mark.parametrize(
    "text",
    [
        "Refunds take 3-20 days to reach your card.",  # a fact, not a commitment
        "Thank you for your order!",
        "We will ship it soon.",  # no time
        "亲，在的",
    ],
)
def test_no_promise_is_offered_without_a_commitment_and_a_time(text):
    assert find_promise(text, now=NOW, timezone_name=SHANGHAI) is None


def test_a_promising_reply_is_offered_once_and_tracked_with_its_message(shop, pre_agent, product):
    online(pre_agent)
    conv = buyer_says(shop, "Where is my invoice?", product="P-100").conversation
    send_reply(actor=pre_agent, conversation=conv, text="发票3天内寄出，请放心")
    offer = promise_offer(pre_agent, conv)
    assert offer is not None and offer.what.startswith("发票3天内寄出")
    promise = record_promise(
        actor=pre_agent,
        conversation=conv,
        data=PromiseInput(what=offer.what, due_at=offer.due_at, message_id=offer.message_id),
    )
    assert (promise.kind, promise.owner, promise.buyer) == ("reply", pre_agent, conv.buyer)
    assert promise_offer(pre_agent, conv) is None  # already tracked
    send_reply(actor=pre_agent, conversation=conv, text="Anything else I can help with?")
    assert promise_offer(pre_agent, conv) is None


def test_due_soon_overdue_alerts_and_the_tally_per_agent(shop, owner, pre_agent, product):
    online(pre_agent)
    conv = buyer_says(shop, "Invoice?", product="P-100").conversation
    with time_machine.travel(NOW, tick=False):
        soon = record_promise(
            actor=pre_agent,
            conversation=conv,
            data=PromiseInput(what="Send the invoice", due_at=NOW + dt.timedelta(hours=5)),
        )
        later = record_promise(
            actor=pre_agent,
            conversation=conv,
            data=PromiseInput(what="Call back", due_at=NOW + dt.timedelta(days=3)),
        )
        board = promise_board(pre_agent)
        assert (board.due_soon, board.later, board.overdue) == ([soon], [later], [])
        assert tasks.watch_shop(shop.pk)["promises"] == 1
    alert = CareAlert.objects.get()
    assert (alert.kind, alert.user) == (AlertKind.PROMISE_DUE, pre_agent)
    with time_machine.travel(NOW + dt.timedelta(hours=6), tick=False):
        assert promise_board(owner).overdue == [soon]  # the owner's inspection
        assert tasks.watch_shop(shop.pk)["promises"] == 1
        assert CareAlert.objects.filter(kind=AlertKind.PROMISE_OVERDUE, promise=soon).exists()
        close_promise(actor=pre_agent, promise=soon, kept=False, note="courier lost it")
        close_promise(actor=pre_agent, promise=later, kept=True)
        tally = promise_tally(owner, since=NOW - dt.timedelta(days=1))
    assert [(t.agent, t.kept, t.broken, t.open) for t in tally] == [("Lily", 1, 1, 0)]
    assert not live_alerts(pre_agent).exists()
    with pytest.raises(ValidationError):
        close_promise(actor=pre_agent, promise=soon, kept=True)
    soon.refresh_from_db()
    assert soon.status == PromiseStatus.BROKEN


def test_promises_are_refused_in_the_past_without_a_buyer_or_for_someone_else(
    shop, owner, pre_agent, after_agent, product
):
    online(pre_agent)
    conv = buyer_says(shop, "hi", product="P-100").conversation
    past = PromiseInput(what="x", due_at=NOW - dt.timedelta(days=400))
    with pytest.raises(ValidationError):
        record_promise(actor=pre_agent, conversation=conv, data=past)
    with pytest.raises(ValidationError):
        record_promise(
            actor=pre_agent, data=PromiseInput(what="x", due_at=NOW + dt.timedelta(days=900))
        )
    with pytest.raises(PermissionDenied):
        record_promise(
            actor=pre_agent,
            conversation=conv,
            data=PromiseInput(
                what="x", due_at=NOW + dt.timedelta(days=900), owner_id=after_agent.pk
            ),
        )
    buyer_msg = Message.objects.get(conversation=conv, direction=Direction.BUYER)
    with pytest.raises(ValidationError):  # a buyer's message is no reply of the shop
        record_promise(
            actor=owner,
            conversation=conv,
            data=PromiseInput(
                what="x",
                due_at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                message_id=buyer_msg.pk,
            ),
        )


def test_the_7_day_return_and_repair_count_from_delivery(shop, owner, product):
    order = make_order(shop, "O-RET", products=[product], status="paid")
    with pytest.raises(ValidationError):
        record_order_commitment(actor=owner, order=order, kind="return_window")
    delivered = post_order_signed(
        "/inbound",
        {
            "external_id": "O-RET",
            "buyer": {"external_id": "buyer-1"},
            "status": "TRADE_FINISHED",
            "placed_at": "2024-11-11T02:00:00+00:00",
            "delivered_at": "2024-11-15T08:00:00+00:00",
        },
        shop,
    )
    assert delivered.status_code == 200, delivered.content
    order = Order.objects.get(pk=order.pk)
    assert order.delivered_at is not None
    ret = record_order_commitment(actor=owner, order=order, kind="return_window")
    repair = record_order_commitment(actor=owner, order=order, kind="repair", days=90)
    assert ret.due_at == order.delivered_at + dt.timedelta(days=7)
    assert repair.due_at == order.delivered_at + dt.timedelta(days=90)
    with pytest.raises(ValidationError):
        record_order_commitment(actor=owner, order=order, kind="return_window")


def test_the_inspection_shows_promises_as_they_stood_on_the_inspected_day(
    shop, owner, pre_agent, product
):
    """Shop in Shanghai (UTC+8). Inspecting a past day shows the promises open at its end in
    the shop's time, including those kept since; the page and the API agree."""
    online(pre_agent)
    conv = buyer_says(shop, "Invoice?", product="P-100").conversation
    with time_machine.travel(NOW, tick=False):  # Mon 30 Nov, 10:00 in Shanghai

        def promise(what: str, due: dt.datetime):
            data = PromiseInput(what=what, due_at=due)
            return record_promise(actor=pre_agent, conversation=conv, data=data)

        invoice = promise("Send the invoice", _local(2026, 11, 30, 15, 0))
        # Due 06:00 on 1 Dec in Shanghai: still 30 Nov in UTC, yet not overdue on 30 Nov.
        parcel = promise("Ship the parcel", _local(2026, 12, 1, 6, 0))
        refund = promise("Refund the fee", _local(2026, 12, 1, 20, 0))
    with time_machine.travel(_local(2026, 12, 2, 14, 0), tick=False):
        close_promise(actor=pre_agent, promise=refund, kept=True)
        close_promise(actor=pre_agent, promise=parcel, kept=True)
        client = login_client(owner)

        def inspected(day: str) -> tuple[list[int], list[int], dict]:
            api = client.get(f"/api/v1/metrics/inspection?date={day}").json()
            page = client.get(f"/metrics/inspection/?date={day}", headers={"Accept-Language": "en"})
            html = page.content.decode()
            rows = [(p["id"], p["overdue"]) for p in api["promises"]]
            for pk, _overdue in rows:
                assert f'data-promise="{pk}"' in html
            overdue = [pk for pk, late in rows if late]
            return overdue, [pk for pk, late in rows if not late], api

        overdue, soon, api = inspected("2026-11-30")
        assert api["promises_as_of"] == "2026-12-01T00:00:00+08:00"  # the end of 30 Nov, shop time
        assert (overdue, soon) == ([invoice.pk], [parcel.pk, refund.pk])
        overdue, soon, api = inspected("2026-12-01")
        assert (overdue, soon) == ([invoice.pk, parcel.pk, refund.pk], [])
        statuses = {p["id"]: p["status"] for p in api["promises"]}
        assert statuses[refund.pk] == "kept"  # as it stands now
        overdue, soon, _api = inspected("2026-12-02")  # today: as of now
        assert (overdue, soon) == ([invoice.pk], [])
