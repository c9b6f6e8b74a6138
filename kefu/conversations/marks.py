"""Colour marks and their duties (R-06): every write about marks, and the reads pages share.

- yellow: reshipment. Neither the mark nor the conversation can be closed until a new
  tracking number has been recorded and sent to the buyer.
- blue: big-order or returning buyer; stays on the follow-up list until cleared.
- green: refunded; records amount, currency and channel (platform, PayPal, other).
- red: product quality problem; records product and defect, feeds the quality report.
- purple: refunded in a logistics dispute; once the parcel is delivered after all, the buyer
  is asked (once) to pay for it.
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

from kefu.accounts.models import Shop, User
from kefu.catalog.models import Product
from kefu.conversations.events import record_event
from kefu.conversations.models import Conversation, ConversationMark, MarkColor
from kefu.conversations.selectors import order_of
from kefu.core.modules import optional_module
from kefu.core.scoping import shop_of

REFUND_CHANNELS = ("platform", "paypal", "other")

ASK_TO_PAY = {
    "en": "Good news: tracking shows your parcel has been delivered after all. Since the order "
    "was refunded while it was missing, could you kindly pay for it again through the platform? "
    "Thank you for your fairness!",
    "ru": "Хорошая новость: посылка всё-таки доставлена. Так как заказ был возвращён, пока она "
    "терялась, не могли бы вы, пожалуйста, оплатить его снова через платформу? Спасибо!",
    "es": "Buenas noticias: el seguimiento indica que su paquete ha sido entregado. Como el pedido "
    "se reembolsó mientras estaba perdido, ¿podría volver a pagarlo en la plataforma? ¡Gracias!",
    "zh-hans": "亲，物流显示您的包裹已经签收啦。之前因为包裹延误为您办理了退款，"
    "方便的话麻烦通过平台重新付款，非常感谢您的理解与支持！",
}


def _decimal(value: Any, field: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(f"{field} must be a number", code=field) from exc
    if amount <= 0:
        raise ValidationError(f"{field} must be positive", code=field)
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
        raise ValidationError("a shop label needs a name", code="label")
    if color in (MarkColor.GREEN, MarkColor.PURPLE):
        data["amount"] = str(_decimal(amount, "amount"))
        data["currency"] = (currency or conversation.shop.currency).strip().upper()[:3]
        data["channel"] = channel or "platform"
        if data["channel"] not in REFUND_CHANNELS:
            raise ValidationError(
                f"refund channel is one of {', '.join(REFUND_CHANNELS)}", code="channel"
            )
    if color == MarkColor.RED:
        chosen = product_id or conversation.product_id
        product = (
            Product.objects.filter(shop_id=conversation.shop_id, pk=chosen).first()
            if chosen
            else None
        )
        if product is None:
            raise ValidationError("a quality mark names the product", code="product")
        if not defect.strip():
            raise ValidationError("describe the defect", code="defect")
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
            record_event(
                conversation, "marked", actor=actor, color=color, label=label, mark_id=mark.pk
            )
    except IntegrityError as exc:
        raise ValidationError("this conversation already has that mark", code="duplicate") from exc
    return mark


def send_new_tracking(
    *, actor: User, mark: ConversationMark, tracking_number: str, carrier: str, text: str
) -> ConversationMark:
    """Yellow duty: record the reshipment's tracking number and send it to the buyer."""
    from kefu.conversations.services import send_reply

    if mark.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    if mark.color != MarkColor.YELLOW or not mark.is_active:
        raise ValidationError("only an active yellow mark takes a new tracking number", code="mark")
    number = tracking_number.strip()
    if not number or len(number) > 80:
        raise ValidationError("a tracking number is 1-80 characters", code="tracking_number")
    if number not in text:
        raise ValidationError(
            "the message to the buyer must contain the new tracking number", code="text"
        )
    conversation = mark.conversation
    with transaction.atomic():
        order = order_of(conversation)
        if order is not None:
            orders = optional_module("kefu.orders.services")
            assert orders is not None  # noqa: S101 - the order came from that app
            orders.add_parcel(
                actor=actor, order=order, tracking_number=number, carrier=carrier, reshipment=True
            )
            orders.clear_flag(actor=actor, order=order, flag="send_new_tracking")
        message = send_reply(actor=actor, conversation=conversation, text=text)
        mark.data = {
            **mark.data,
            "tracking_number": number,
            "carrier": carrier.strip()[:80],
            "message_id": message.pk,
        }
        mark.duty_done_at = timezone.now()
        mark.save(update_fields=["data", "duty_done_at"])
        record_event(
            conversation,
            "mark_duty_done",
            actor=actor,
            color=mark.color,
            mark_id=mark.pk,
            tracking_number=number,
        )
    return mark


def clear_mark(*, actor: User, mark: ConversationMark) -> ConversationMark:
    if mark.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    if not mark.is_active:
        return mark
    if mark.color == MarkColor.YELLOW and mark.duty_done_at is None:
        raise ValidationError(
            "the yellow mark stays until the buyer has been sent the new tracking number",
            code="duty",
        )
    with transaction.atomic():
        mark.cleared_at = timezone.now()
        mark.cleared_by = actor
        if mark.duty_done_at is None:
            mark.duty_done_at = mark.cleared_at
        mark.save(update_fields=["cleared_at", "cleared_by", "duty_done_at"])
        record_event(mark.conversation, "unmarked", actor=actor, color=mark.color, mark_id=mark.pk)
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


def ask_to_pay_after_delivery(*, now: datetime | None = None) -> int:
    """Purple duty: once the refunded parcel is delivered after all, ask the buyer to pay.

    Sent at most once per mark (the outbox key is the mark), however often this runs.
    """
    from kefu.conversations.services import send_system_message

    orders = optional_module("kefu.orders.models")
    if orders is None:
        return 0
    sent = 0
    marks = ConversationMark.objects.filter(
        color=MarkColor.PURPLE, cleared_at__isnull=True, duty_done_at__isnull=True
    ).select_related("conversation__buyer", "conversation__shop")
    for mark in marks:
        conv = mark.conversation
        order = orders.Order.objects.filter(
            shop_id=mark.shop_id, external_id=mark.data.get("order_external_id") or "-"
        ).first()
        if order is None or not (order.delivered_at or "ask_buyer_to_pay" in order.flags):
            continue
        language = conv.buyer.language if conv.buyer.language in ASK_TO_PAY else "en"
        message = send_system_message(
            conversation=conv,
            text=ASK_TO_PAY[language],
            automation="ask_to_pay",
            dedupe_key=f"ask-to-pay:{mark.pk}",
        )
        ConversationMark.objects.filter(pk=mark.pk).update(duty_done_at=now or timezone.now())
        if message is not None:
            sent += 1
    return sent


# --- reads ---------------------------------------------------------------------------------


def active_marks(conversation: Conversation) -> list[ConversationMark]:
    return list(conversation.marks.filter(cleared_at__isnull=True).select_related("product"))


def follow_up_list(actor: User) -> QuerySet[ConversationMark]:
    """Marks with a duty still open, and every active blue mark."""
    from kefu.conversations.selectors import visible_conversations

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
        raise ValidationError("the end date is before the start date", code="range")
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
