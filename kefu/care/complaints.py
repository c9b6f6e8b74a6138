"""Writes of complaints and disputes (R-31): open one, move it through its statuses, record the
compensation; disputes the marketplace opened become complaints on their own (`disputes`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.automation.outcomes import note_complaint
from kefu.care.config import care_settings, causes_of, dispute_hours
from kefu.care.models import (
    CareAlert,
    CompensationKind,
    CompensationState,
    Complaint,
    ComplaintKind,
    ComplaintProduct,
    ComplaintSource,
    ComplaintStatus,
    Resolution,
    Severity,
)
from kefu.catalog.models import Product
from kefu.conversations.models import Conversation
from kefu.integrations.channels import Channel
from kefu.orders.models import Order, OrderItem
from kefu.orders.selectors import order_of

MAX_AMOUNT = Decimal("1e12")


@dataclass(frozen=True)
class ComplaintInput:
    cause: str
    summary: str = ""
    severity: str = Severity.MEDIUM
    dispute: bool = False
    product_ids: tuple[int, ...] = ()
    owner_id: int | None = None


def _shop(actor: User) -> Shop:
    if actor.shop is None:
        raise PermissionDenied("no shop")
    return actor.shop


def _check_cause(shop: Shop, cause: str) -> None:
    if cause not in {c.code for c in causes_of(shop)}:
        raise ValidationError("choose a cause from the shop's list", code="cause")


def _member(shop: Shop, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    member = User.objects.filter(shop=shop, pk=user_id, is_active=True).first()
    if member is None:
        raise ValidationError("no such agent in this shop", code="owner")
    return member


def _products(
    shop: Shop, ids: tuple[int, ...], conversation: Conversation | None, order: Order | None
) -> list[int]:
    """The products the complaint is about: the ones named, else the order's and the
    conversation's."""
    if ids:
        found = set(Product.objects.filter(shop=shop, pk__in=ids).values_list("pk", flat=True))
        if found != set(ids):
            raise ValidationError("unknown product", code="products")
        return sorted(found)
    found_ids: set[int] = set()
    if order is not None:
        found_ids |= set(
            OrderItem.objects.filter(order=order, product__isnull=False).values_list(
                "product_id", flat=True
            )
        )
    if conversation is not None and conversation.product_id is not None:
        found_ids.add(conversation.product_id)
    return sorted(found_ids)


def _create(
    *,
    shop: Shop,
    data: ComplaintInput,
    source: str,
    conversation: Conversation | None,
    order: Order | None,
    actor: User | None,
    now: dt.datetime,
    dispute_key: str = "",
) -> Complaint:
    if data.severity not in Severity.values:
        raise ValidationError("unknown severity", code="severity")
    if len(data.summary) > 10_000:
        raise ValidationError("the summary is at most 10,000 characters", code="summary")
    product_ids = _products(shop, data.product_ids, conversation, order)
    is_dispute = data.dispute or source == ComplaintSource.DISPUTE
    owner = _member(shop, data.owner_id)
    if owner is None:
        owner = (conversation.assignee if conversation is not None else None) or actor
    buyer_id = (
        conversation.buyer_id if conversation is not None else order.buyer_id if order else None
    )
    respond_by = None
    if is_dispute:
        hours = dispute_hours(care_settings(shop=shop), shop.platform)
        respond_by = now + dt.timedelta(hours=hours)
    complaint = Complaint.objects.create(
        shop=shop,
        kind=ComplaintKind.DISPUTE if is_dispute else ComplaintKind.COMPLAINT,
        source=source,
        buyer_id=buyer_id,
        order=order,
        conversation=conversation,
        channel=conversation.channel if conversation is not None else Channel.MARKETPLACE,
        cause=data.cause,
        severity=data.severity,
        summary=data.summary.strip(),
        owner=owner,
        respond_by=respond_by,
        dispute_key=dispute_key,
        opened_at=now,
        created_by=actor,
    )
    ComplaintProduct.objects.bulk_create(
        [
            ComplaintProduct(shop=shop, complaint=complaint, product_id=p, opened_at=now)
            for p in product_ids
        ]
    )
    if conversation is not None:
        # the scripts sent just before count as followed by a complaint.
        note_complaint(shop=shop, conversation=conversation, at=now)
    return complaint


def open_complaint(
    *,
    actor: User,
    data: ComplaintInput,
    conversation: Conversation | None = None,
    order: Order | None = None,
) -> Complaint:
    """Record a complaint (or a dispute the agent learnt of). ``conversation`` and ``order``
    must come from the access selectors, so the actor may see them."""
    shop = _shop(actor)
    for obj in (conversation, order):
        if obj is not None and obj.shop_id != shop.pk:
            raise PermissionDenied("not your shop's")
    _check_cause(shop, data.cause)
    if order is None and conversation is not None:
        order = order_of(conversation)
    source = (
        ComplaintSource.CONVERSATION
        if conversation is not None
        else ComplaintSource.ORDER
        if order is not None
        else ComplaintSource.MANUAL
    )
    with transaction.atomic():
        return _create(
            shop=shop,
            data=data,
            source=source,
            conversation=conversation,
            order=order,
            actor=actor,
            now=timezone.now(),
        )


def open_dispute(
    *,
    shop: Shop,
    key: str,
    order: Order | None = None,
    conversation: Conversation | None = None,
    now: dt.datetime | None = None,
) -> Complaint | None:
    """A dispute the marketplace opened (an order's dispute flag, a chat from the dispute
    entry point), once per `key`; None when it is already recorded."""
    if Complaint.objects.filter(shop=shop, dispute_key=key).exists():
        return None
    if order is None and conversation is not None:
        order = order_of(conversation)
    if order is not None and conversation is None:
        # A dispute on an order the buyer also chats about: the complaint shows that chat.
        conversation = (
            Conversation.objects.filter(shop=shop, order_external_id=order.external_id)
            .order_by("-last_message_at")
            .first()
        )
    # One dispute per order even when both the flag and the chat announce it.
    if (
        order is not None
        and Complaint.objects.filter(
            shop=shop, order=order, kind=ComplaintKind.DISPUTE, status__in=_OPEN_STATUSES
        ).exists()
    ):
        return None
    try:
        with transaction.atomic():
            return _create(
                shop=shop,
                data=ComplaintInput(cause="other", dispute=True),
                source=ComplaintSource.DISPUTE,
                conversation=conversation,
                order=order,
                actor=None,
                now=now or timezone.now(),
                dispute_key=key,
            )
    except IntegrityError:  # the same dispute recorded by a parallel sweep
        return None


_OPEN_STATUSES = (
    ComplaintStatus.OPEN,
    ComplaintStatus.WAITING_BUYER,
    ComplaintStatus.WAITING_PLATFORM,
)


@dataclass(frozen=True)
class ComplaintChange:
    status: str | None = None
    resolution: str | None = None
    cause: str | None = None
    severity: str | None = None
    summary: str | None = None
    owner_id: int | None = None
    compensation_kind: str | None = None
    compensation_amount: str | None = None
    compensation_currency: str | None = None
    compensation_state: str | None = None


def _amount(raw: str) -> Decimal | None:
    if not raw.strip():
        return None
    try:
        value = Decimal(raw.strip())
    except InvalidOperation as exc:
        raise ValidationError("the amount is a number", code="amount") from exc
    if not value.is_finite() or value < 0 or value >= MAX_AMOUNT:
        raise ValidationError("the amount is 0 or more and below 10^12", code="amount")
    return value.quantize(Decimal("0.01"))


def update_complaint(*, actor: User, complaint: Complaint, change: ComplaintChange) -> Complaint:
    """Move a complaint on: status (resolved needs how), cause, severity, owner and the
    compensation offered or accepted. ``complaint`` comes from `access_complaint`."""
    shop = _shop(actor)
    if complaint.shop_id != shop.pk:
        raise PermissionDenied("not your shop's complaint")
    fields: set[str] = set()

    def put(name: str, value: object) -> None:
        if getattr(complaint, name) != value:
            setattr(complaint, name, value)
            fields.add(name)

    if change.cause is not None:
        if change.cause != complaint.cause:
            _check_cause(shop, change.cause)
        put("cause", change.cause)
    if change.severity is not None:
        if change.severity not in Severity.values:
            raise ValidationError("unknown severity", code="severity")
        put("severity", change.severity)
    if change.summary is not None:
        if len(change.summary) > 10_000:
            raise ValidationError("the summary is at most 10,000 characters", code="summary")
        put("summary", change.summary.strip())
    if change.owner_id is not None:
        put("owner_id", _member(shop, change.owner_id).pk)  # type: ignore[union-attr]
    if change.compensation_kind is not None:
        if change.compensation_kind and change.compensation_kind not in CompensationKind.values:
            raise ValidationError("unknown compensation", code="compensation")
        put("compensation_kind", change.compensation_kind)
    if change.compensation_amount is not None:
        put("compensation_amount", _amount(change.compensation_amount))
    if change.compensation_currency is not None:
        currency = change.compensation_currency.strip().upper()
        if currency and (len(currency) != 3 or not currency.isalpha()):
            raise ValidationError("a currency is three letters (USD, CNY)", code="currency")
        put("compensation_currency", currency)
    if change.compensation_state is not None:
        if change.compensation_state and change.compensation_state not in CompensationState.values:
            raise ValidationError("unknown compensation state", code="compensation")
        put("compensation_state", change.compensation_state)
    if complaint.compensation_amount is not None and not complaint.compensation_currency:
        currency = complaint.order.currency if complaint.order is not None else shop.currency
        put("compensation_currency", currency)
    if (complaint.compensation_amount is not None or complaint.compensation_state) and (
        not complaint.compensation_kind
    ):
        raise ValidationError("say what the compensation is", code="compensation")

    status = change.status if change.status is not None else complaint.status
    if status not in ComplaintStatus.values:
        raise ValidationError("unknown status", code="status")
    resolution = change.resolution if change.resolution is not None else complaint.resolution
    if status == ComplaintStatus.RESOLVED:
        if resolution not in Resolution.values:
            raise ValidationError(
                "say how it ended: kept, refunded, returned, escalated or lost", code="resolution"
            )
        if complaint.status != ComplaintStatus.RESOLVED:
            put("resolved_at", timezone.now())
    else:
        if change.resolution:
            raise ValidationError("only a resolved complaint has an outcome", code="resolution")
        resolution = ""
        put("resolved_at", None)
    put("status", status)
    put("resolution", resolution)
    if fields:
        with transaction.atomic():
            complaint.save(update_fields=[*sorted(fields), "updated_at"])
            if status == ComplaintStatus.RESOLVED:
                # Its deadline reminders are done with.
                CareAlert.objects.filter(
                    shop=shop, complaint=complaint, dismissed_at__isnull=True
                ).update(dismissed_at=timezone.now())
    return complaint


def has_open_complaint(*, shop: Shop, buyer_id: int | None, order_id: int | None = None) -> bool:
    """A complaint of the buyer (or of the order) is not resolved: no follow-up, revisit or
    review invitation goes out meanwhile."""
    who = Q(buyer_id=buyer_id)
    if order_id is not None:
        who |= Q(order_id=order_id)
    return (
        Complaint.objects.filter(shop=shop)
        .filter(who)
        .exclude(status=ComplaintStatus.RESOLVED)
        .exists()
    )
