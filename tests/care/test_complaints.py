"""Complaints and disputes (R-31): opened from a chat, an order, by hand and by the
marketplace's dispute (order webhook, import, dispute entry point); the status flow; the
dispute deadline with its reminder; the surge detector against the shop's own baseline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.automation.models import AutomationHit
from kefu.care import tasks
from kefu.care.complaints import (
    ComplaintChange,
    ComplaintInput,
    open_complaint,
    update_complaint,
)
from kefu.care.config import SettingsInput, save_care_settings, save_causes
from kefu.care.models import AlertKind, CareAlert, Complaint, ComplaintStatus
from kefu.care.selectors import alert_conversations, live_alerts, visible_complaints
from kefu.care.watch import detect_surges
from kefu.orders.models import Order
from tests.helpers import buyer_says, online, post_order_signed

pytestmark = pytest.mark.django_db

DISPUTED = {
    "external_id": "WH-DISPUTE",
    "buyer": {"external_id": "b-1", "name": "Ivan"},
    "status": "IN_ISSUE",
    "currency": "USD",
    "total_amount": "28.50",
    "paid_amount": "28.50",
    "placed_at": "2026-11-20T01:00:00+00:00",
    "paid_at": "2026-11-20T01:05:00+00:00",
    "items": [
        {"product_external_id": "P-100", "title": "Desk lamp", "quantity": 1, "unit_price": "28.50"}
    ],
}


def test_a_complaint_from_a_chat_carries_buyer_product_channel_and_marks_the_scripts(
    shop, pre_agent, product
):
    online(pre_agent)
    conv = buyer_says(shop, "The lamp arrived cracked!", product="P-100").conversation
    complaint = open_complaint(
        actor=pre_agent,
        conversation=conv,
        data=ComplaintInput(cause="damaged", summary="cracked on arrival", severity="high"),
    )
    assert (complaint.buyer, complaint.channel, complaint.owner) == (
        conv.buyer,
        "marketplace",
        pre_agent,
    )
    assert list(complaint.items.values_list("product__external_id", flat=True)) == ["P-100"]
    assert (complaint.kind, complaint.source, complaint.respond_by) == (
        "complaint",
        "conversation",
        None,
    )
    assert complaint.status == ComplaintStatus.OPEN


def test_an_unknown_cause_is_refused_and_the_taxonomy_is_the_shops(shop, owner):
    with pytest.raises(ValidationError):
        open_complaint(actor=owner, data=ComplaintInput(cause="aliens"))
    save_causes(actor=owner, labels=["Quality 质量问题", "Aliens took it"])
    made = open_complaint(actor=owner, data=ComplaintInput(cause="aliens-took-it"))
    assert made.cause == "aliens-took-it"
    # A cause left out is retired: no new complaint may use it.
    with pytest.raises(ValidationError):
        open_complaint(actor=owner, data=ComplaintInput(cause="price"))
    assert Complaint.objects.count() == 1


def test_the_status_flow_needs_an_outcome_to_resolve_and_records_compensation(shop, owner):
    c = open_complaint(actor=owner, data=ComplaintInput(cause="quality"))
    update_complaint(
        actor=owner,
        complaint=c,
        change=ComplaintChange(
            status="waiting_buyer",
            compensation_kind="coupon",
            compensation_amount="5",
            compensation_state="offered",
        ),
    )
    c.refresh_from_db()
    assert (c.status, c.compensation_amount, c.compensation_currency) == (
        "waiting_buyer",
        Decimal("5.00"),
        "USD",
    )
    with pytest.raises(ValidationError):
        update_complaint(actor=owner, complaint=c, change=ComplaintChange(status="resolved"))
    with pytest.raises(ValidationError):
        update_complaint(actor=owner, complaint=c, change=ComplaintChange(compensation_amount="-1"))
    c.refresh_from_db()
    assert c.status == "waiting_buyer"
    update_complaint(
        actor=owner,
        complaint=c,
        change=ComplaintChange(status="resolved", resolution="kept", compensation_state="accepted"),
    )
    c.refresh_from_db()
    assert (c.status, c.resolution, c.compensation_state) == ("resolved", "kept", "accepted")
    assert c.resolved_at is not None
    update_complaint(actor=owner, complaint=c, change=ComplaintChange(status="open"))
    c.refresh_from_db()
    assert (c.resolution, c.resolved_at) == ("", None)


def test_a_dispute_from_the_order_webhook_opens_one_complaint_with_the_platform_deadline(
    shop, owner, product
):
    now = timezone.now()
    response = post_order_signed("/inbound", DISPUTED, shop)
    assert response.status_code == 201
    order = Order.objects.get(shop=shop, external_id="WH-DISPUTE")
    assert "dispute_open" in order.flags
    with time_machine.travel(now, tick=False):
        done = tasks.watch_shop(shop.pk)
        again = tasks.watch_shop(shop.pk)
    assert (done["disputes"], again["disputes"]) == (1, 0)
    dispute = Complaint.objects.get()
    assert (dispute.kind, dispute.source, dispute.order, dispute.buyer) == (
        "dispute",
        "dispute",
        order,
        order.buyer,
    )
    # AliExpress gives the seller five days by default.
    assert dispute.respond_by == now + dt.timedelta(hours=120)
    assert list(dispute.items.values_list("product", flat=True)) == [product.pk]


def test_a_chat_from_the_dispute_entry_point_is_a_dispute(shop, after_agent):
    online(after_agent)
    conv = buyer_says(shop, "I opened a dispute", entry_point="dispute").conversation
    assert tasks.watch_shop(shop.pk)["disputes"] == 1
    dispute = Complaint.objects.get()
    assert (dispute.conversation, dispute.kind, dispute.owner) == (conv, "dispute", after_agent)


def test_the_deadline_reminder_reaches_the_owner_before_it_runs_out(shop, owner, after_agent):
    save_care_settings(
        actor=owner,
        data=SettingsInput(
            dispute_hours={"aliexpress": 10},
            remind_hours_before=12,
            surge_factor=Decimal("3"),
            surge_min_count=3,
            promise_due_soon_hours=24,
        ),
    )
    online(after_agent)
    buyer_says(shop, "dispute!", entry_point="dispute")
    tasks.watch_shop(shop.pk)  # opens it, due in 10 h: inside the 12 h reminder window
    dispute = Complaint.objects.get()
    assert dispute.respond_by is not None
    alert = CareAlert.objects.get(kind=AlertKind.DEADLINE)
    assert (alert.user, alert.complaint) == (after_agent, dispute)
    assert list(live_alerts(after_agent)) == [alert]
    tasks.watch_shop(shop.pk)
    assert CareAlert.objects.filter(kind=AlertKind.DEADLINE).count() == 1  # once
    with time_machine.travel(dispute.respond_by + dt.timedelta(minutes=1), tick=False):
        tasks.watch_shop(shop.pk)
    assert CareAlert.objects.filter(kind=AlertKind.DEADLINE).count() == 2  # and when passed
    update_complaint(
        actor=after_agent,
        complaint=dispute,
        change=ComplaintChange(status="resolved", resolution="escalated"),
    )
    assert not live_alerts(after_agent).exists()


def _complaints_at(owner, when: dt.datetime, n: int, cause: str = "quality") -> None:
    with time_machine.travel(when, tick=False):
        for _ in range(n):
            open_complaint(actor=owner, data=ComplaintInput(cause=cause))


def test_no_surge_on_a_normal_day_and_an_alert_within_a_minute_of_a_surge(
    shop, owner, pre_agent, product
):
    now = dt.datetime(2026, 11, 11, 6, 30, tzinfo=dt.UTC)
    # The shop's normal: two complaints in this hour every day for four weeks.
    for day in range(1, 29):
        _complaints_at(owner, now - dt.timedelta(days=day, minutes=20), 2)
    _complaints_at(owner, now - dt.timedelta(minutes=30), 3)  # a normal hour
    with time_machine.travel(now, tick=False):
        assert detect_surges(shop=shop) == []
        assert tasks.watch_shop(shop.pk)["surges"] == 0
    # Double 11 morning: quality complaints about the lamp pour in from chats.
    online(pre_agent)
    surge_at = now + dt.timedelta(minutes=10)
    convs = []
    with time_machine.travel(surge_at, tick=False):
        for i in range(6):
            conv = buyer_says(shop, "broken lamp", buyer=f"b-{i}", product="P-100").conversation
            convs.append(conv)
            open_complaint(actor=owner, conversation=conv, data=ComplaintInput(cause="quality"))
    with time_machine.travel(surge_at + dt.timedelta(seconds=60), tick=False):
        assert tasks.watch_shop(shop.pk)["surges"] == 3  # the shop, the cause, the product
        assert tasks.watch_shop(shop.pk)["surges"] == 0  # once per hour
    alerts = {a.scope: a for a in CareAlert.objects.filter(kind=AlertKind.SURGE)}
    assert set(alerts) == {"shop", "cause", "product"}
    assert alerts["cause"].count == 9 and alerts["cause"].baseline == Decimal("2.00")
    assert alerts["product"].label == "Desk lamp" and alerts["product"].count == 6
    behind = alert_conversations(owner, alerts["product"])
    assert {c.pk for c in behind} == {c.pk for c in convs}
    # Owners see surges; a sub-account neither the alert nor chats it does not serve.
    assert set(live_alerts(owner)) == set(alerts.values())
    assert not live_alerts(pre_agent).exists()


def test_a_sub_account_sees_complaints_of_its_products_and_chats_only(
    shop, owner, pre_agent, after_agent, product
):
    online(pre_agent)
    conv = buyer_says(shop, "broken", product="P-100").conversation
    mine = open_complaint(actor=owner, conversation=conv, data=ComplaintInput(cause="quality"))
    other = open_complaint(actor=owner, data=ComplaintInput(cause="price"))
    assert set(visible_complaints(owner)) == {mine, other}
    assert list(visible_complaints(pre_agent)) == [mine]
    assert list(visible_complaints(after_agent)) == []


def test_a_complaint_marks_the_scripts_sent_just_before(shop, pre_agent, product):
    from kefu.automation.starter import install_default_scripts
    from tests.conftest import login_client
    from tests.helpers import reply_with_suggested_script

    install_default_scripts(shop=shop)
    online(pre_agent)
    conv = buyer_says(shop, "Do you have this lamp in warm white?", product="P-100").conversation
    reply_with_suggested_script(login_client(pre_agent), conv.pk)
    open_complaint(actor=pre_agent, conversation=conv, data=ComplaintInput(cause="attitude"))
    assert AutomationHit.objects.get(kind="script").complained_at is not None


def test_an_imported_export_with_a_refund_in_dispute_opens_it_at_once(shop, owner, tmp_path):
    from kefu.orders.importers.run import import_orders

    export = tmp_path / "taobao.csv"
    export.write_text(
        "订单编号,买家会员名,总金额,买家实际支付金额,订单状态,订单创建时间,订单付款时间,宝贝标题,宝贝总数量\n"
        "TB-1,王芳,99.00,99.00,退款中,2026/11/20 10:00,2026/11/20 10:05,台灯,1\n"
        "TB-2,李雷,50.00,50.00,交易成功,2026/11/20 11:00,2026/11/20 11:05,夜灯,1\n",
        encoding="utf-8",
    )
    summary = import_orders(shop=shop, path=export)
    assert any("dispute" in note for note in summary.notes), summary.notes
    dispute = Complaint.objects.get()
    assert (dispute.kind, dispute.order.external_id) == ("dispute", "TB-1")
    # The import again, and the minute watch after it, open nothing more.
    import_orders(shop=shop, path=export)
    assert tasks.watch_shop(shop.pk)["disputes"] == 0
    assert Complaint.objects.count() == 1
