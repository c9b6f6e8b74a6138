"""Delivering the outbox: each row is sent at most once and retried with backoff."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from kefu.conversations.models import Outbox, OutboxStatus
from kefu.integrations.adapters import adapter_for

log = logging.getLogger("kefu.delivery")


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(15 * 2 ** max(attempts - 1, 0), 3600))


def deliver_outbox_row(*, outbox_id: int) -> str:
    """Deliver one outbox row; returns its status afterwards.

    The row is claimed by bumping its attempt time inside a locked transaction, so a second
    worker holding the same id finds it not due and leaves it alone.
    """
    now = timezone.now()
    with transaction.atomic():
        row = (
            Outbox.objects.select_for_update(of=("self",))
            .filter(pk=outbox_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if row is None:
            return "skipped"
        row.attempts += 1
        row.next_attempt_at = now + backoff(row.attempts)
        row.save(update_fields=["attempts", "next_attempt_at"])
    row = Outbox.objects.select_related(
        "message__shop", "message__buyer", "message__conversation"
    ).get(pk=outbox_id)
    result = adapter_for(row.channel).deliver(row.message)
    if result.ok:
        row.status = OutboxStatus.DELIVERED
        row.delivered_at = timezone.now()
        row.last_error = ""
    elif not result.retry or row.attempts >= settings.KEFU_OUTBOX_MAX_ATTEMPTS:
        row.status = OutboxStatus.FAILED
        row.last_error = result.error
    else:
        row.last_error = result.error
    row.save(update_fields=["status", "delivered_at", "last_error"])
    log.info(
        "outbox_delivery id=%s status=%s attempts=%s error=%s",
        row.pk,
        row.status,
        row.attempts,
        result.error,
    )
    if row.status == OutboxStatus.FAILED:
        from kefu.conversations.events import record_event

        record_event(
            row.message.conversation, "delivery_failed", message=row.message, error=result.error
        )
    return str(row.status)


def due_outbox_ids(*, limit: int = 200) -> list[int]:
    return list(
        Outbox.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
