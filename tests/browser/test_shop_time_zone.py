"""Issue 13: in a shop on Asia/Shanghai, every time a seller or a buyer reads is the shop's
wall clock, whatever zone the browser or the server runs in (both are UTC here)."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from kefu.conversations.models import ConversationEvent, Message
from kefu.orders.importers.run import import_orders
from kefu.orders.models import Order
from tests.browser.support import aurora_with_agent, in_thread, signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.fixture
def shop_with_order(transactional_db, tmp_path):
    shop, _lily = aurora_with_agent(login="lily", group="pre_sale", display_name="Lily")
    assert shop.timezone == "Asia/Shanghai"
    export = tmp_path / "orders.csv"
    export.write_text(
        "订单编号,买家会员名,订单状态,总金额,订单付款时间,宝贝标题\n"
        "T-8801,mei,买家已付款，等待卖家发货,88.00,2026-11-28 09:15:00,Desk lamp\n",
        encoding="utf-8",
    )
    assert import_orders(shop=shop, path=export).created == 1
    return shop


def local(moment) -> str:
    return timezone.localtime(moment, SHANGHAI).strftime("%m-%d %H:%M")


def test_a_message_time_reads_in_the_shop_zone_in_inbox_timeline_order_page_and_widget(
    shop_with_order, live_asgi, browser
):
    # The widget writes a message of the shop's today as "HH:MM" and an older one with its
    # date, so a run across the shop's midnight (16:00 UTC, CI runs at any hour) reloaded
    # "23:59" as "December 1 23:59". The clock, the live server's too, runs on from noon of
    # the shop's day instead.
    noon = timezone.now().astimezone(SHANGHAI).replace(hour=12, minute=0, second=0, microsecond=0)
    with time_machine.travel(noon, tick=True):
        _check_every_page(shop_with_order, live_asgi, browser)


def _check_every_page(shop_with_order, live_asgi, browser) -> None:
    buyer = browser.new_context(locale="en-US", timezone_id="UTC").new_page()
    buyer.goto(f"{live_asgi}/chat/aurora/")
    buyer.fill("input[name=name]", "Mei")
    buyer.fill("#widget-text", "Is the desk lamp dimmable?")
    buyer.keyboard.press("Enter")
    expect(buyer.locator("#messages")).to_contain_text("dimmable")

    message = in_thread(lambda: Message.objects.get())
    sent_local, sent_utc = local(message.sent_at), message.sent_at.strftime("%m-%d %H:%M")
    assert sent_local != sent_utc  # eight hours apart: the check below can tell them apart
    event = in_thread(lambda: ConversationEvent.objects.order_by("pk").first())
    assert event is not None

    # The widget, as the buyer opens it again.
    buyer.reload()
    expect(buyer.locator("#messages time").first).to_have_text(sent_local[-5:])

    # The inbox thread and its timeline, for the agent.
    agent = signed_in_page(browser, live_asgi, "lily")
    agent.locator(".conv-list li", has_text="Mei").locator("a").click()
    expect(agent.locator("#messages time").first).to_have_text(sent_local)
    expect(agent.locator("#timeline time").first).to_be_visible()
    # Each timeline entry reads its own moment in the shop's zone (which entry comes first
    # depends on what happened since, so each is checked against its own timestamp).
    shown = agent.locator("#timeline time").evaluate_all(
        "times => times.map(t => [t.getAttribute('datetime'), t.textContent.trim()])"
    )
    assert local(event.created_at) in [text for _, text in shown]
    assert all(text == local(datetime.fromisoformat(moment)) for moment, text in shown)

    # An order page: the payment time is the one the seller centre's export gave, in the
    # shop's zone (01:15 UTC).
    order_id = in_thread(lambda: Order.objects.get(external_id="T-8801").pk)
    owner = signed_in_page(browser, live_asgi, "owner")
    owner.goto(f"{live_asgi}/orders/{order_id}/")
    expect(owner.locator("dt:text-is('Paid') + dd")).to_have_text("2026-11-28 09:15")
    expect(owner.locator(".events time").first).to_have_text(
        local(in_thread(lambda: Order.objects.get(pk=order_id).events.first().created_at))
    )
