"""Payment reminders (R-16): buyers of unpaid orders are reminded once, after the shop's
delay, never in its quiet hours."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from kefu.accounts.models import ServiceGroup, Shop
from kefu.conversations.outbound import conversation_for_outreach, send_system_message
from kefu.orders import buyer_texts, events
from kefu.orders.config import order_settings
from kefu.orders.models import Order, OrderStatus
from kefu.orders.rules import in_quiet_hours

log = logging.getLogger("kefu.orders")


def send_payment_reminders(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Remind buyers of unpaid orders once, after the delay, never in the shop's quiet hours.

    The claim is a conditional UPDATE on `payment_reminded_at` in the same transaction as
    the message and its outbox row: two runs at once send one reminder.
    """
    now = now or timezone.now()
    settings_ = order_settings(shop=shop)
    if not settings_.payment_reminder_enabled:
        return 0
    if in_quiet_hours(
        moment=now,
        timezone_name=shop.timezone,
        start=settings_.quiet_start,
        end=settings_.quiet_end,
    ):
        return 0
    due_before = now - dt.timedelta(minutes=settings_.payment_reminder_delay_minutes)
    too_old = now - dt.timedelta(hours=settings_.payment_reminder_max_age_hours)
    candidates = list(
        Order.objects.filter(
            shop=shop,
            status=OrderStatus.PLACED,
            paid_at__isnull=True,
            payment_reminded_at__isnull=True,
            placed_at__lte=due_before,
            placed_at__gte=too_old,
        ).values_list("pk", flat=True)[:500]
    )
    sent = 0
    for order_id in candidates:
        if _remind_order(shop=shop, order_id=order_id, now=now):
            sent += 1
    return sent


def _remind_order(*, shop: Shop, order_id: int, now: dt.datetime) -> bool:
    with transaction.atomic():
        claimed = Order.objects.filter(
            pk=order_id, shop=shop, status=OrderStatus.PLACED, payment_reminded_at__isnull=True
        ).update(payment_reminded_at=now)
        if not claimed:
            return False
        order = Order.objects.select_related("buyer").get(pk=order_id)
        conversation = conversation_for_outreach(
            shop=shop, buyer=order.buyer, group=ServiceGroup.PRE_SALE
        )
        language = buyer_texts.buyer_language(language=order.buyer.language, shop=shop)
        text = buyer_texts.render(
            buyer_texts.PAYMENT_REMINDER,
            language=language,
            name=order.buyer.name or order.receiver_name or "",
            order=order.external_id,
        )
        message = send_system_message(
            conversation=conversation,
            text=text,
            automation="payment_reminder",
            dedupe_key=f"payment-reminder:{order.pk}",
            payload={"order_id": order.pk, "order_external_id": order.external_id},
        )
        events.payment_reminded(
            order,
            conversation_id=conversation.pk,
            message_id=message.pk if message else None,
            language=language,
        )
    log.info("payment_reminder_sent shop=%s order=%s", shop.pk, order_id)
    return message is not None
