"""Colour marks and their duties (R-06): every write about marks, and the reads pages share.

- yellow: reshipment. Neither the mark nor the conversation can be closed until a new
  tracking number has been recorded and sent to the buyer.
- blue: big-order or returning buyer; stays on the follow-up list until cleared.
- green: refunded; records amount, currency and channel (platform, PayPal, other).
- red: product quality problem; records product and defect, feeds the quality report.
- purple: refunded in a logistics dispute; once the parcel is delivered after all, the buyer
  is asked (once) to pay for it (``kefu.orders.ask_to_pay``).

The yellow duty itself (record the reshipment, send the number) is ``kefu.desk.replies``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.catalog.models import Product
from kefu.conversations import events
from kefu.conversations.models import Conversation, ConversationMark, MarkColor
from kefu.conversations.selectors import visible_conversations

REFUND_CHANNELS = ("platform", "paypal", "other")


def _decimal(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(
            _("%(field)s must be a number") % {"field": field}, code=field
        ) from exc
    if amount <= 0:
        raise ValidationError(_("%(field)s must be positive") % {"field": field}, code=field)
    return amount.quantize(Decimal("0.01"))


def add_mark(
    *,
    actor: User,
    conversation: Conversation,
    color: str,
    note: str = "",
    label: str = "",
    product_id: int | None = None,
    defect: str = "",
    amount: Any = None,
    currency: str = "",
    channel: str = "",
) -> ConversationMark:
    """Put a mark on a conversation with the facts its colour needs."""
    if conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    if color not in MarkColor.values:
        raise ValidationError(f"unknown mark colour {color!r}", code="color")
    data: dict[str, Any] = {}
    product: Product | None = None
    label = label.strip()[:40] if color == MarkColor.LABEL else ""
    if color == MarkColor.LABEL and not label:
        raise ValidationError(_("a shop label needs a name"), code="label")
    if color in (MarkColor.GREEN, MarkColor.PURPLE):
        data["amount"] = str(_decimal(amount, "amount"))
        data["currency"] = (currency or conversation.shop.currency).strip().upper()[:3]
        data["channel"] = channel or "platform"
        if data["channel"] not in REFUND_CHANNELS:
            raise ValidationError(
                _("refund channel is one of %(channels)s")
                % {"channels": ", ".join(REFUND_CHANNELS)},
                code="channel",
            )
    if color == MarkColor.RED:
        chosen = product_id or conversation.product_id
        product = (
            Product.objects.filter(shop_id=conversation.shop_id, pk=chosen).first()
            if chosen
            else None
        )
        if product is None:
            raise ValidationError(_("a quality mark names the product"), code="product")
        if not defect.strip():
            raise ValidationError(_("describe the defect"), code="defect")
        data["defect"] = defect.strip()[:300]
    if color in (MarkColor.YELLOW, MarkColor.PURPLE):
        data["order_external_id"] = conversation.order_external_id
    try:
        with transaction.atomic():
            mark = ConversationMark.objects.create(
                shop_id=conversation.shop_id,
                conversation=conversation,
                color=color,
                label=label,
                product=product,
                note=note.strip()[:300],
                data=data,
                created_by=actor,
                created_at=timezone.now(),
                # Blue, green, red and labels carry no pending duty; their record is the duty.
                duty_done_at=None
                if color in (MarkColor.YELLOW, MarkColor.PURPLE, MarkColor.BLUE)
                else timezone.now(),
            )
            events.mark_added(conversation, mark, actor=actor)
    except IntegrityError as exc:
        raise ValidationError(
            _("this conversation already has that mark"), code="duplicate"
        ) from exc
    return mark


def checked_new_tracking(*, mark: ConversationMark, tracking_number: str, text: str) -> str:
    """The reshipment's tracking number for a yellow mark's duty, or why it cannot be sent."""
    if mark.color != MarkColor.YELLOW or not mark.is_active:
        raise ValidationError(
            _("only an active yellow mark takes a new tracking number"), code="mark"
        )
    number = tracking_number.strip()
    if not number or len(number) > 80:
        raise ValidationError(_("a tracking number is 1-80 characters"), code="tracking_number")
    if number not in text:
        raise ValidationError(
            _("the message to the buyer must contain the new tracking number"), code="text"
        )
    return number


def complete_new_tracking(
    *, actor: User, mark: ConversationMark, tracking_number: str, carrier: str, message_id: int
) -> ConversationMark:
    """Yellow duty done: the buyer was sent ``tracking_number`` in message ``message_id``."""
    mark.data = {
        **mark.data,
        "tracking_number": tracking_number,
        "carrier": carrier.strip()[:80],
        "message_id": message_id,
    }
    mark.duty_done_at = timezone.now()
    mark.save(update_fields=["data", "duty_done_at"])
    events.mark_duty_done(mark.conversation, mark, actor=actor, tracking_number=tracking_number)
    return mark


def clear_mark(*, actor: User, mark: ConversationMark) -> ConversationMark:
    if mark.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    if not mark.is_active:
        return mark
    if mark.color == MarkColor.YELLOW and mark.duty_done_at is None:
        raise ValidationError(
            _("the yellow mark stays until the buyer has been sent the new tracking number"),
            code="duty",
        )
    with transaction.atomic():
        mark.cleared_at = timezone.now()
        mark.cleared_by = actor
        if mark.duty_done_at is None:
            mark.duty_done_at = mark.cleared_at
        mark.save(update_fields=["cleared_at", "cleared_by", "duty_done_at"])
        events.mark_cleared(mark.conversation, mark, actor=actor)
    return mark


def resolution_blockers(conversation: Conversation) -> list[str]:
    pending = ConversationMark.objects.filter(
        conversation=conversation,
        color=MarkColor.YELLOW,
        cleared_at__isnull=True,
        duty_done_at__isnull=True,
    )
    if pending.exists():
        return ["Yellow mark: send the buyer the new tracking number first"]
    return []


# --- reads ---------------------------------------------------------------------------------


def active_marks(conversation: Conversation) -> list[ConversationMark]:
    return list(conversation.marks.filter(cleared_at__isnull=True).select_related("product"))


def follow_up_list(actor: User) -> QuerySet[ConversationMark]:
    """Marks with a duty still open, and every active blue mark."""
    return (
        ConversationMark.objects.filter(
            conversation__in=visible_conversations(actor), cleared_at__isnull=True
        )
        .exclude(color__in=[MarkColor.GREEN, MarkColor.RED, MarkColor.LABEL])
        .select_related("conversation__buyer", "conversation__assignee", "created_by")
        .order_by("color", "created_at")
    )


@dataclass(frozen=True)
class QualityRow:
    product_id: int
    product: str
    count: int
    defects: list[str]


def _day_bounds(shop: Shop, start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(shop.timezone)
    return (
        datetime.combine(start, time.min, zone),
        datetime.combine(end + timedelta(days=1), time.min, zone),
    )


def quality_report(actor: User, *, start: date, end: date) -> list[QualityRow]:
    """Red marks per product in the shop's days [start, end] (R-06, R-40)."""
    shop = shop_of(actor)
    if end < start:
        raise ValidationError(_("the end date is before the start date"), code="range")
    lo, hi = _day_bounds(shop, start, end)
    marks = ConversationMark.objects.filter(
        shop=shop,
        color=MarkColor.RED,
        created_at__gte=lo,
        created_at__lt=hi,
        product__isnull=False,
    )
    if not actor.is_owner:
        marks = marks.filter(product__owner=actor)
    counts = {
        row["product"]: row["n"]
        for row in marks.values("product").annotate(n=Count("id")).order_by()
    }
    defects: dict[int, list[str]] = {}
    titles: dict[int, str] = {}
    for mark in marks.select_related("product").order_by("created_at"):
        assert mark.product is not None  # noqa: S101 - filtered above
        defects.setdefault(mark.product_id, []).append(str(mark.data.get("defect", "")))  # type: ignore[arg-type]
        titles[mark.product.pk] = mark.product.title
    return sorted(
        (QualityRow(pid, titles[pid], n, defects[pid]) for pid, n in counts.items()),
        key=lambda r: (-r.count, r.product),
    )
