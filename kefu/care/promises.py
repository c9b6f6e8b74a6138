"""Writes of promises and commitments (R-28, R-32): record one from a reply or by hand, the
7-day no-reason return and the repair commitment of a delivered order, and close one as kept
or broken (counted per agent)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.care.models import CareAlert, Promise, PromiseKind, PromiseStatus
from kefu.conversations.models import Conversation, Direction, Message
from kefu.orders.models import Order
from kefu.orders.selectors import order_of

RETURN_WINDOW_DAYS = 7
MAX_DAYS = 3 * 365


def _shop(actor: User) -> Shop:
    if actor.shop is None:
        raise PermissionDenied("no shop")
    return actor.shop


def _owner(shop: Shop, actor: User, owner_id: int | None) -> User:
    if owner_id is None or owner_id == actor.pk:
        return actor
    if not actor.is_owner:
        raise PermissionDenied("a sub-account records its own promises")
    owner = User.objects.filter(shop=shop, pk=owner_id, is_active=True).first()
    if owner is None:
        raise ValidationError("no such agent in this shop", code="owner")
    return owner


@dataclass(frozen=True)
class PromiseInput:
    what: str
    due_at: dt.datetime
    owner_id: int | None = None
    message_id: int | None = None


def record_promise(
    *,
    actor: User,
    data: PromiseInput,
    conversation: Conversation | None = None,
    order: Order | None = None,
) -> Promise:
    """A promise made to a buyer, from a reply (``message_id`` of the conversation) or by hand
    from an order. ``conversation`` and ``order`` come from the access selectors."""
    shop = _shop(actor)
    for obj in (conversation, order):
        if obj is not None and obj.shop_id != shop.pk:
            raise PermissionDenied("not your shop's")
    if conversation is None and order is None:
        raise ValidationError("a promise is made to a buyer: name the chat or the order", code="to")
    what = " ".join(data.what.split())
    if not what or len(what) > 300:
        raise ValidationError("say what was promised, in 1 to 300 characters", code="what")
    now = timezone.now()
    if data.due_at.tzinfo is None:
        raise ValidationError("the due time needs a time zone", code="due")
    if data.due_at <= now - dt.timedelta(minutes=5):
        raise ValidationError("the due time is in the past", code="due")
    if data.due_at > now + dt.timedelta(days=MAX_DAYS):
        raise ValidationError("the due time is more than three years away", code="due")
    message: Message | None = None
    if data.message_id is not None:
        if conversation is None:
            raise ValidationError("a reply belongs to a chat", code="message")
        message = Message.objects.filter(
            conversation=conversation, pk=data.message_id, direction=Direction.AGENT
        ).first()
        if message is None:
            raise ValidationError("no such reply in this chat", code="message")
    if order is None and conversation is not None:
        order = order_of(conversation)
    owner = _owner(shop, actor, data.owner_id)
    return Promise.objects.create(
        shop=shop,
        kind=PromiseKind.REPLY if message is not None else PromiseKind.MANUAL,
        what=what,
        buyer_id=conversation.buyer_id if conversation is not None else order.buyer_id,  # type: ignore[union-attr]
        order=order,
        conversation=conversation,
        message=message,
        owner=owner,
        due_at=data.due_at,
        created_by=actor,
        created_at=now,
    )


def record_order_commitment(
    *, actor: User, order: Order, kind: str, days: int = RETURN_WINDOW_DAYS
) -> Promise:
    """The 7-day no-reason return or a repair promise of an order (R-32): due `days` after
    delivery. ``order`` comes from `access_order`."""
    shop = _shop(actor)
    if order.shop_id != shop.pk:
        raise PermissionDenied("not your shop's order")
    if kind not in (PromiseKind.RETURN_WINDOW, PromiseKind.REPAIR):
        raise ValidationError("a commitment is a return window or a repair", code="kind")
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError("the commitment lasts 1 day to 3 years", code="days")
    if order.delivered_at is None:
        raise ValidationError(
            "the order is not delivered yet: the commitment counts from delivery", code="delivery"
        )
    what = (
        f"7-day no-reason return 七天无理由退货 · {order.external_id}"
        if kind == PromiseKind.RETURN_WINDOW
        else f"Repair within {days} days of delivery 保修 {days} 天 · {order.external_id}"
    )
    try:
        with transaction.atomic():
            return Promise.objects.create(
                shop=shop,
                kind=kind,
                what=what,
                buyer_id=order.buyer_id,
                order=order,
                owner=actor,
                due_at=order.delivered_at + dt.timedelta(days=days),
                created_by=actor,
                created_at=timezone.now(),
            )
    except IntegrityError as exc:
        raise ValidationError("this order already has that commitment", code="duplicate") from exc


def close_promise(*, actor: User, promise: Promise, kept: bool, note: str = "") -> Promise:
    """Record a promise as kept or broken. ``promise`` comes from `access_promise`."""
    shop = _shop(actor)
    if promise.shop_id != shop.pk:
        raise PermissionDenied("not your shop's promise")
    if promise.status != PromiseStatus.OPEN:
        raise ValidationError("this promise is already closed", code="closed")
    if len(note) > 300:
        raise ValidationError("the note is at most 300 characters", code="note")
    now = timezone.now()
    with transaction.atomic():
        promise.status = PromiseStatus.KEPT if kept else PromiseStatus.BROKEN
        promise.closed_at = now
        promise.closed_by = actor
        promise.note = note.strip()
        promise.save(update_fields=["status", "closed_at", "closed_by", "note"])
        CareAlert.objects.filter(shop=shop, promise=promise, dismissed_at__isnull=True).update(
            dismissed_at=now
        )
    return promise
