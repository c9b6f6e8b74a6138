"""Buyers' reviews (R-43): stored from the seller centre's export or the marketplace's webhook,
read as positive, medium or negative, and a medium or negative one handed to the after-sale
or call group as a review task whose outcome is recorded step by step.

The task's steps:

    open 待联系 → contacted 已联系 → review updated 已追评/改评 / resolved 已解决
    open → resolved (settled without a call, e.g. the buyer wrote first)

A negative review also puts the buyer on the call list (`CallReason.NEGATIVE_REVIEW`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Platform, ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.care.models import (
    CallReason,
    CallTask,
    CompensationKind,
    Review,
    ReviewLevel,
    ReviewSettings,
    ReviewTask,
    ReviewTaskStatus,
    ReviewTaskStep,
)
from kefu.catalog.models import Product
from kefu.orders.models import Order, OrderItem

# Where a task may go from each status (the state machine).
NEXT: dict[str, tuple[str, ...]] = {
    ReviewTaskStatus.OPEN: (ReviewTaskStatus.CONTACTED, ReviewTaskStatus.RESOLVED),
    ReviewTaskStatus.CONTACTED: (ReviewTaskStatus.REVIEW_UPDATED, ReviewTaskStatus.RESOLVED),
    ReviewTaskStatus.REVIEW_UPDATED: (),
    ReviewTaskStatus.RESOLVED: (),
}
CLOSED = (ReviewTaskStatus.REVIEW_UPDATED, ReviewTaskStatus.RESOLVED)
TASK_GROUPS = (ServiceGroup.AFTER_SALE, ServiceGroup.OUTREACH)
# A buyer with a negative review is called within a day.
CALL_WITHIN = dt.timedelta(hours=24)

# The words exports use for the level (淘宝 评价: 好评/中评/差评; AliExpress: feedback type).
_LEVEL_WORDS = {
    ReviewLevel.POSITIVE: ("好评", "positive", "good", "praise"),
    ReviewLevel.MEDIUM: ("中评", "medium", "neutral", "average"),
    ReviewLevel.NEGATIVE: ("差评", "negative", "bad", "poor"),
}


def review_settings(shop: Shop) -> ReviewSettings:
    """The shop's review settings; the defaults (not saved) when it never changed them."""
    return ReviewSettings.objects.filter(shop=shop).first() or ReviewSettings(shop=shop)


@dataclass(frozen=True)
class ReviewSettingsInput:
    tmall_negative_at_most: int
    task_group: str
    invite_enabled: bool
    invite_after_days: int


def save_review_settings(*, actor: User, data: ReviewSettingsInput) -> ReviewSettings:
    require(actor, Capability.MANAGE_SETTINGS)
    if not 1 <= data.tmall_negative_at_most <= 4:
        raise ValidationError(_("The Tmall threshold is a score from 1 to 4."), code="threshold")
    if data.task_group not in TASK_GROUPS:
        raise ValidationError(_("Review tasks go to the after-sale or the call group."))
    if not 0 <= data.invite_after_days <= 60:
        raise ValidationError(_("Invite 0 to 60 days after delivery."), code="invite_days")
    shop = shop_of(actor)
    with transaction.atomic():
        row, _created = ReviewSettings.objects.select_for_update().get_or_create(shop=shop)
        row.tmall_negative_at_most = data.tmall_negative_at_most
        row.task_group = data.task_group
        row.invite_enabled = data.invite_enabled
        row.invite_after_days = data.invite_after_days
        row.save()
    return row


def level_of(*, platform: str, rating: int | None, label: str, settings: ReviewSettings) -> str:
    """The review's level: the marketplace's own word when the export has one; else the score —
    on Tmall at or below the shop's threshold is negative, under five medium; elsewhere 1-2
    negative, 3 medium, 4-5 positive."""
    folded = label.strip().lower()
    for level, words in _LEVEL_WORDS.items():
        if folded and any(w in folded for w in words):
            return level
    if rating is None:
        raise ValidationError(_("a review needs a score or a level (好评/中评/差评)"))
    if platform == Platform.TMALL:
        if rating <= settings.tmall_negative_at_most:
            return ReviewLevel.NEGATIVE
        return ReviewLevel.MEDIUM if rating < 5 else ReviewLevel.POSITIVE
    if rating <= 2:
        return ReviewLevel.NEGATIVE
    return ReviewLevel.MEDIUM if rating == 3 else ReviewLevel.POSITIVE


_STARS = re.compile(r"^\s*(\d+(?:\.\d+)?)")


def parse_rating(raw: object) -> int | None:
    """A score from 1 to 5 as exports write it ("5", "4.0", "3星", "★★★★"); None when empty."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    else:
        text = str(raw).strip()
        if not text:
            return None
        if set(text) <= {"★", "☆"}:
            return text.count("★") or None
        match = _STARS.match(text)
        if match is None:
            raise ValidationError(_("%(value)r is not a score from 1 to 5") % {"value": text[:20]})
        value = float(match.group(1))
    if not 1 <= value <= 5 or value != int(value):
        raise ValidationError(_("%(value)s is not a score from 1 to 5") % {"value": raw})
    return int(value)


@dataclass(frozen=True)
class ReviewInput:
    external_id: str
    posted_at: dt.datetime
    rating: int | None = None
    level_label: str = ""
    text: str = ""
    order_external_id: str = ""
    product_external_id: str = ""
    buyer_name: str = ""


@dataclass(frozen=True)
class Stored:
    review: Review
    created: bool
    changed: bool


def _check(data: ReviewInput) -> None:
    if not data.external_id.strip() or len(data.external_id) > 120:
        raise ValidationError(_("a review needs its id (at most 120 characters)"))
    if data.posted_at.tzinfo is None:
        raise ValidationError(_("the review's time needs its time zone"))
    if len(data.text) > 5000:
        raise ValidationError(_("a review's text is at most 5000 characters"))
    if len(data.order_external_id) > 80 or len(data.product_external_id) > 80:
        raise ValidationError(_("an order or product number is at most 80 characters"))


def store_review(*, shop: Shop, data: ReviewInput, source: str) -> Stored:
    """Create or update the review with this id; a medium or negative one gets its task (and
    a negative one a call), once. Raises ValidationError for a row that cannot be stored."""
    _check(data)
    settings = review_settings(shop)
    level = level_of(
        platform=shop.platform, rating=data.rating, label=data.level_label, settings=settings
    )
    order = (
        Order.objects.filter(shop=shop, external_id=data.order_external_id).first()
        if data.order_external_id
        else None
    )
    product = (
        Product.objects.filter(shop=shop, external_id=data.product_external_id).first()
        if data.product_external_id
        else None
    )
    if product is None and order is not None:
        item = OrderItem.objects.filter(order=order, product__isnull=False).first()
        product = item.product if item is not None else None
    now = timezone.now()
    values = {
        "platform": shop.platform,
        "order": order,
        "order_external_id": data.order_external_id,
        "buyer": order.buyer if order is not None else None,
        "buyer_name": data.buyer_name[:120],
        "product": product,
        "product_external_id": data.product_external_id,
        "rating": data.rating,
        "level": level,
        "text": data.text,
        "posted_at": data.posted_at,
    }
    with transaction.atomic():
        found = Review.objects.select_for_update().filter(shop=shop, external_id=data.external_id)
        review = found.first()
        created = review is None
        if review is None:
            try:
                with transaction.atomic():
                    review = Review.objects.create(
                        shop=shop,
                        external_id=data.external_id,
                        source=source,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
            except IntegrityError:  # the same review arrived twice at once
                review = Review.objects.get(shop=shop, external_id=data.external_id)
                created = False
        changed = created or any(getattr(review, k) != v for k, v in values.items())
        if not created and changed:
            for k, v in values.items():
                setattr(review, k, v)
            review.updated_at = now
            review.save()
        _follow_up(review, settings=settings, now=now)
    return Stored(review=review, created=created, changed=changed)


def _follow_up(review: Review, *, settings: ReviewSettings, now: dt.datetime) -> None:
    """A medium or negative review's task, and a negative one's call; an updated review that
    is now positive closes an open task as "review updated"."""
    task = ReviewTask.objects.filter(review=review).first()
    if review.level == ReviewLevel.POSITIVE:
        if task is not None and task.status not in CLOSED:
            _move(task, ReviewTaskStatus.REVIEW_UPDATED, actor=None, note="", now=now)
        return
    if task is None:
        task = ReviewTask.objects.create(
            shop_id=review.shop_id,
            review=review,
            group=settings.task_group,
            created_at=now,
        )
        ReviewTaskStep.objects.create(
            shop_id=review.shop_id, task=task, status=ReviewTaskStatus.OPEN, at=now
        )
    if review.level == ReviewLevel.NEGATIVE and task.call_id is None and task.status not in CLOSED:
        call, _created = CallTask.objects.get_or_create(
            shop_id=review.shop_id,
            key=f"review:{review.pk}",
            defaults={
                "reason": CallReason.NEGATIVE_REVIEW,
                "order": review.order,
                "buyer": review.buyer,
                "call_by": now + CALL_WITHIN,
                "created_at": now,
            },
        )
        task.call = call
        task.save(update_fields=["call"])


def _move(
    task: ReviewTask, status: str, *, actor: User | None, note: str, now: dt.datetime
) -> None:
    task.status = status
    task.closed_at = now if status in CLOSED else None
    if actor is not None and task.owner_id is None:
        task.owner = actor
    task.save(update_fields=["status", "closed_at", "owner"])
    ReviewTaskStep.objects.create(
        shop_id=task.shop_id, task=task, status=status, note=note, actor=actor, at=now
    )


@dataclass(frozen=True)
class OutcomeInput:
    status: str
    note: str = ""
    compensation_kind: str = ""
    compensation_amount: str = ""
    compensation_currency: str = ""


def _amount(raw: str) -> Decimal | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal(-1)
    if not value.is_finite() or value < 0 or value >= Decimal("1e12"):
        raise ValidationError(_("The compensation is an amount of 0 or more."), code="amount")
    return value.quantize(Decimal("0.01"))


def record_outcome(*, actor: User, task: ReviewTask, data: OutcomeInput) -> ReviewTask:
    """Move a review task on (``task`` comes from `access_review_task`), with the
    compensation given, if any. A move the state machine does not allow is refused."""
    if actor.shop_id is None or task.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's review")
    if data.status not in NEXT.get(task.status, ()):
        raise ValidationError(
            _("A review task that is “%(now)s” cannot become “%(next)s”.")
            % {
                "now": ReviewTaskStatus(task.status).label,
                "next": dict(ReviewTaskStatus.choices).get(data.status, data.status[:20]),
            },
            code="step",
        )
    if len(data.note) > 300:
        raise ValidationError(_("a note is at most 300 characters"), code="note")
    kind = data.compensation_kind.strip()
    if kind and kind not in CompensationKind.values:
        raise ValidationError(_("Unknown compensation."), code="compensation")
    amount = _amount(data.compensation_amount)
    currency = data.compensation_currency.strip().upper()[:3]
    if currency and not currency.isalpha():
        raise ValidationError(_("A currency is three letters (CNY, USD)."), code="currency")
    now = timezone.now()
    with transaction.atomic():
        locked = ReviewTask.objects.select_for_update().get(pk=task.pk)
        if locked.status != task.status:
            raise ValidationError(_("Someone moved this task just now: reload."), code="stale")
        if kind:
            locked.compensation_kind = kind
            locked.compensation_amount = amount
            order = locked.review.order
            locked.compensation_currency = currency or (order.currency if order else "")
            locked.save(
                update_fields=["compensation_kind", "compensation_amount", "compensation_currency"]
            )
        _move(locked, data.status, actor=actor, note=data.note.strip(), now=now)
    return locked
