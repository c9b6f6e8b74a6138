"""Agents' actions on an order: refunds and returns, parcels and reshipments, and the flags
that carry the order's duties (R-06)."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, require
from kefu.orders import events
from kefu.orders.models import (
    Order,
    OrderFlag,
    OrderStatus,
    Parcel,
    Refund,
    RefundChannel,
    RefundKind,
)


def add_flag(*, order: Order, flag: str, actor: User | None = None) -> bool:
    """Raise a flag on an order the caller holds (locked, in its transaction); False when it
    was already up."""
    if flag in order.flags:
        return False
    order.flags = [*order.flags, flag]
    order.save(update_fields=["flags", "updated_at"])
    events.flag_added(order, flag=flag, actor=actor)
    return True


def record_refund(
    *,
    actor: User,
    order: Order,
    amount: Decimal,
    reason: str,
    channel: str = RefundChannel.PLATFORM,
    kind: str = RefundKind.REFUND,
    logistics_dispute: bool = False,
) -> Refund:
    """Record a refund or return (R-06 green duty; purple duty when in a logistics dispute).

    Sub-accounts need the refund right and stay within their limit; the total refunded
    never exceeds what the buyer paid.
    """
    require(actor, Capability.ISSUE_REFUNDS)
    if actor.shop_id != order.shop_id:
        raise PermissionDenied("order of another shop")
    if channel not in RefundChannel.values or kind not in RefundKind.values:
        raise ValidationError(_("unknown refund channel or kind"), code="refund_channel")
    if amount <= 0:
        raise ValidationError(_("a refund amount is positive"), code="refund_amount")
    if not reason.strip():
        raise ValidationError(_("say why the buyer is refunded"), code="refund_reason")
    if not actor.is_owner and actor.refund_limit is not None and amount > actor.refund_limit:
        raise PermissionDenied(f"refunds above {actor.refund_limit} need the main account")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        ceiling = locked.paid_amount or locked.total_amount
        if locked.refunded_amount + amount > ceiling:
            raise ValidationError(
                _("refunds would total more than the %(paid)s %(currency)s paid")
                % {"paid": ceiling, "currency": locked.currency},
                code="refund_too_much",
            )
        refund = Refund.objects.create(
            shop_id=locked.shop_id,
            order=locked,
            kind=kind,
            amount=amount,
            currency=locked.currency,
            reason=reason.strip()[:300],
            channel=channel,
            logistics_dispute=logistics_dispute,
            created_by=actor,
        )
        before = locked.status
        locked.refunded_amount += amount
        locked.status = (
            OrderStatus.REFUNDED
            if locked.refunded_amount >= ceiling
            else OrderStatus.PARTIALLY_REFUNDED
        )
        for flag in (
            OrderFlag.REFUNDED,
            *((OrderFlag.LOGISTICS_DISPUTE_REFUND,) if logistics_dispute else ()),
        ):
            if flag not in locked.flags:
                locked.flags = [*locked.flags, flag]
        locked.save(update_fields=["refunded_amount", "status", "flags", "updated_at"])
        events.refund_recorded(
            locked,
            actor=actor,
            refund_id=refund.pk,
            amount=amount,
            currency=locked.currency,
            channel=channel,
            refund_kind=kind,
            logistics_dispute=logistics_dispute,
        )
        if before != locked.status:
            events.status_changed(
                locked, before=before, after=locked.status, reason="refund", actor=actor
            )
    order.refresh_from_db()
    return refund


def add_parcel(
    *,
    actor: User,
    order: Order,
    tracking_number: str,
    carrier: str = "",
    reshipment: bool = False,
    replaces: Parcel | None = None,
    note: str = "",
) -> Parcel:
    """Attach a shipment to an order: a split parcel, or a reshipment with a new number.

    A reshipment raises the yellow duty (R-06): send the buyer the new tracking number.
    """
    if actor.shop_id != order.shop_id:
        raise PermissionDenied("order of another shop")
    number = tracking_number.strip()
    if not number or len(number) > 80:
        raise ValidationError(_("a tracking number is 1-80 characters"), code="tracking_number")
    if replaces is not None and replaces.order_id != order.pk:
        raise ValidationError(_("the replaced parcel belongs to another order"), code="replaces")
    now = timezone.now()
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if Parcel.objects.filter(shop_id=locked.shop_id, tracking_number=number).exists():
            raise ValidationError(f"tracking number {number} is already used", code="duplicate")
        parcel = Parcel.objects.create(
            shop_id=locked.shop_id,
            order=locked,
            tracking_number=number,
            carrier=carrier[:80],
            shipped_at=now,
            is_reshipment=reshipment,
            replaces=replaces,
            note=note[:300],
        )
        events.parcel_added(
            locked,
            tracking_number=number,
            carrier=carrier,
            reshipment=reshipment,
            replaces=replaces.pk if replaces else None,
            actor=actor,
        )
        if reshipment:
            add_flag(order=locked, flag=OrderFlag.RESHIPMENT, actor=actor)
            add_flag(order=locked, flag=OrderFlag.SEND_NEW_TRACKING, actor=actor)
        elif Parcel.objects.filter(order=locked, is_reshipment=False).count() > 1:
            add_flag(order=locked, flag=OrderFlag.SPLIT, actor=actor)
        if locked.status == OrderStatus.PAID:
            late = locked.ship_by is not None and now > locked.ship_by
            locked.status = OrderStatus.SHIPPED
            locked.shipped_at = now
            locked.save(update_fields=["status", "shipped_at", "updated_at"])
            events.status_changed(
                locked,
                before=OrderStatus.PAID,
                after=OrderStatus.SHIPPED,
                reason="parcel_added",
                late=late,
                actor=actor,
            )
    order.refresh_from_db()
    return parcel


def clear_flag(*, actor: User, order: Order, flag: str) -> bool:
    """An agent has done the duty a flag asked for (e.g. sent the new tracking number)."""
    if actor.shop_id != order.shop_id:
        raise PermissionDenied("order of another shop")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        if flag not in locked.flags:
            return False
        locked.flags = [f for f in locked.flags if f != flag]
        locked.save(update_fields=["flags", "updated_at"])
        events.flag_cleared(locked, flag=flag, actor=actor)
    order.refresh_from_db()
    return True
