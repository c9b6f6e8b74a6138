"""Payment reminders under time travel: once, after the delay, never in quiet hours."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection

from kefu.conversations.models import Direction, Message, Outbox
from kefu.orders import config
from kefu.orders.models import Order, OrderSettings
from kefu.orders.reminders import send_payment_reminders

from .factories import make_order

UTC = dt.UTC

T0 = dt.datetime(2024, 11, 11, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def reminders():
    return Message.objects.filter(payload__automation="payment_reminder")


def test_payment_reminder_waits_for_the_delay_and_is_sent_once(shop):
    make_order(shop, "U-1", buyer="ivan", status="placed", placed_at=T0, language="ru")

    with time_machine.travel(T0 + dt.timedelta(minutes=59), tick=False):
        assert send_payment_reminders(shop=shop) == 0
    with time_machine.travel(T0 + dt.timedelta(minutes=61), tick=False):
        assert send_payment_reminders(shop=shop) == 1
        assert send_payment_reminders(shop=shop) == 0

    message = reminders().get()
    assert message.direction == Direction.AUTO
    assert message.text.startswith("Здравствуйте, Ivan!")
    assert "U-1" in message.text
    assert message.conversation.group == "pre_sale"
    assert Outbox.objects.filter(message=message).count() == 1
    order = Order.objects.get(external_id="U-1")
    assert order.payment_reminded_at == T0 + dt.timedelta(minutes=61)
    assert order.events.filter(kind="payment_reminded").count() == 1


def test_payment_reminder_never_in_quiet_hours_of_the_shop_zone(shop):
    placed = dt.datetime(2024, 11, 11, 13, 30, tzinfo=UTC)  # 21:30 in Shanghai
    make_order(shop, "U-2", buyer="li", status="placed", placed_at=placed, language="zh-CN")

    with time_machine.travel(dt.datetime(2024, 11, 11, 14, 45, tzinfo=UTC), tick=False):
        assert send_payment_reminders(shop=shop) == 0  # 22:45 Shanghai
    with time_machine.travel(dt.datetime(2024, 11, 11, 23, 59, tzinfo=UTC), tick=False):
        assert send_payment_reminders(shop=shop) == 0  # 07:59 Shanghai
    with time_machine.travel(dt.datetime(2024, 11, 12, 0, 1, tzinfo=UTC), tick=False):
        assert send_payment_reminders(shop=shop) == 1  # 08:01 Shanghai
    assert reminders().get().text.startswith("亲爱的Li")


def test_payment_reminder_skips_paid_and_stale_orders_and_other_shops(shop, other_shop):
    make_order(shop, "PAID", status="paid", placed_at=T0)
    make_order(shop, "OLD", buyer="old", status="placed", placed_at=T0 - dt.timedelta(days=3))
    make_order(other_shop, "THEIRS", buyer="x", status="placed", placed_at=T0)

    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert send_payment_reminders(shop=shop) == 0
    assert not reminders().exists()


def test_payment_reminders_can_be_switched_off(shop):
    make_order(shop, "U-3", status="placed", placed_at=T0)
    config.default_order_settings(shop=shop).save()
    OrderSettings.objects.filter(shop=shop).update(payment_reminder_enabled=False)
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        assert send_payment_reminders(shop=shop) == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_reminder_runs_send_one_reminder(shop):
    for n in range(5):
        make_order(shop, f"C-{n}", buyer=f"b{n}", status="placed", placed_at=T0)
    results: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(send_payment_reminders(shop=shop, now=T0 + dt.timedelta(hours=2)))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert sum(results) == 5
    assert reminders().count() == 5
    assert Outbox.objects.count() == 5
