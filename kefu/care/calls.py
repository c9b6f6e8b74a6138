"""The call group's task list (呼叫组, R-42): buyers to phone before a late shipment (ask them
to accept a short delay) and disputes near their deadline, added by the minute watch; an
agent logs each call. Reached or agreed closes the task; no answer or refused leaves it open
(the order stays on the risk board)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from kefu.accounts.models import Shop, User
from kefu.care.config import care_settings
from kefu.care.models import (
    CallLog,
    CallOutcome,
    CallReason,
    CallTask,
    Complaint,
    ComplaintStatus,
    ReviewTask,
    ReviewTaskStatus,
    ReviewTaskStep,
)
from kefu.orders.selectors import risk_board

CLOSING = (CallOutcome.REACHED, CallOutcome.AGREED)


def _add(task: CallTask) -> bool:
    try:
        with transaction.atomic():
            task.save()
    except IntegrityError:
        return False
    return True


def add_call_tasks(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Late-shipment orders on the risk board and disputes within the reminder window become
    call tasks, once each."""
    now = now or timezone.now()
    added = 0
    for row in risk_board(shop=shop, now=now):
        added += _add(
            CallTask(
                shop=shop,
                reason=CallReason.LATE_SHIPMENT,
                key=f"late_shipment:order:{row.order.pk}",
                order=row.order,
                buyer_id=row.order.buyer_id,
                call_by=row.ship_by,
                created_at=now,
            )
        )
    horizon = now + dt.timedelta(hours=care_settings(shop=shop).remind_hours_before)
    disputes = Complaint.objects.filter(
        shop=shop,
        status__in=[ComplaintStatus.OPEN, ComplaintStatus.WAITING_BUYER],
        respond_by__isnull=False,
        respond_by__lte=horizon,
    )
    for c in disputes[:500]:
        assert c.respond_by is not None  # noqa: S101 - filtered above
        added += _add(
            CallTask(
                shop=shop,
                reason=CallReason.DISPUTE,
                key=f"dispute:{c.pk}",
                order_id=c.order_id,
                complaint=c,
                buyer_id=c.buyer_id,
                call_by=c.respond_by,
                created_at=now,
            )
        )
    return added


def log_call(
    *, actor: User, task: CallTask, outcome: str, note: str = "", next_step: str = ""
) -> CallLog:
    """Record a call. ``task`` comes from `access_call_task`."""
    if actor.shop_id is None or task.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's call")
    if outcome not in CallOutcome.values:
        raise ValidationError("reached, no answer, agreed or refused", code="outcome")
    if len(note) > 300 or len(next_step) > 300:
        raise ValidationError("a note and a next step are at most 300 characters", code="note")
    now = timezone.now()
    with transaction.atomic():
        logged = CallLog.objects.create(
            shop_id=task.shop_id,
            task=task,
            outcome=outcome,
            note=note.strip(),
            next_step=next_step.strip(),
            agent=actor,
            at=now,
        )
        task.last_outcome = outcome
        task.done_at = now if outcome in CLOSING else None
        task.save(update_fields=["last_outcome", "done_at"])
        if outcome in CLOSING:
            _review_contacted(task, actor=actor, now=now)
    return logged


def _review_contacted(task: CallTask, *, actor: User, now: dt.datetime) -> None:
    """A negative review's buyer reached on the phone: its review task is "contacted"."""
    for review_task in ReviewTask.objects.filter(call=task, status=ReviewTaskStatus.OPEN):
        review_task.status = ReviewTaskStatus.CONTACTED
        review_task.owner = review_task.owner or actor
        review_task.save(update_fields=["status", "owner"])
        ReviewTaskStep.objects.create(
            shop_id=task.shop_id,
            task=review_task,
            status=ReviewTaskStatus.CONTACTED,
            note=gettext("Reached on the phone"),
            actor=actor,
            at=now,
        )
