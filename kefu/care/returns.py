"""Returns and exchanges (R-30): requested → approved → the buyer sends it back with a tracking
number → received → refunded (through the order's refund record) or a replacement shipped
(through the order's reshipment path); or rejected. Each step keeps its time and who did it,
and each step has the script that tells the buyer what happens next."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.accounts.models import User
from kefu.care.models import ReturnKind, ReturnRequest, ReturnStatus, ReturnStep
from kefu.conversations.models import Conversation
from kefu.orders.actions import add_parcel, record_refund
from kefu.orders.config import order_settings
from kefu.orders.models import Order, RefundKind

S = ReturnStatus
# The steps that may follow each status, by kind.
NEXT: dict[str, dict[str, tuple[str, ...]]] = {
    ReturnKind.RETURN: {
        S.REQUESTED: (S.APPROVED, S.REJECTED),
        S.APPROVED: (S.SENT_BACK, S.REJECTED),
        S.SENT_BACK: (S.RECEIVED,),
        S.RECEIVED: (S.REFUNDED,),
    },
    ReturnKind.EXCHANGE: {
        S.REQUESTED: (S.APPROVED, S.REJECTED),
        S.APPROVED: (S.SENT_BACK, S.REJECTED),
        S.SENT_BACK: (S.RECEIVED,),
        S.RECEIVED: (S.REPLACEMENT_SHIPPED,),
    },
}


def next_steps(request: ReturnRequest) -> tuple[str, ...]:
    return NEXT[request.kind].get(request.status, ())


def open_return(
    *,
    actor: User,
    order: Order,
    kind: str,
    reason: str,
    conversation: Conversation | None = None,
) -> ReturnRequest:
    """The buyer asks to return or exchange. ``order`` and ``conversation`` come from the
    access selectors."""
    if actor.shop_id is None or order.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's order")
    if conversation is not None and conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    if kind not in ReturnKind.values:
        raise ValidationError("a return or an exchange", code="kind")
    reason = " ".join(reason.split())
    if not reason or len(reason) > 300:
        raise ValidationError("say why, in 1 to 300 characters", code="reason")
    now = timezone.now()
    try:
        with transaction.atomic():
            made = ReturnRequest.objects.create(
                shop_id=order.shop_id,
                order=order,
                buyer_id=order.buyer_id,
                conversation=conversation,
                kind=kind,
                reason=reason,
                created_by=actor,
                created_at=now,
            )
            ReturnStep.objects.create(
                shop_id=order.shop_id, request=made, status=S.REQUESTED, actor=actor, at=now
            )
    except IntegrityError as exc:
        raise ValidationError("this order already has an open return", code="duplicate") from exc
    return made


@dataclass(frozen=True)
class StepInput:
    status: str
    note: str = ""
    tracking_number: str = ""
    carrier: str = ""
    amount: str = ""


def advance_return(*, actor: User, request: ReturnRequest, step: StepInput) -> ReturnRequest:
    """Take the next step. "sent back" needs the buyer's tracking number; "refunded" records
    the refund on the order (the refund right and limit apply); "replacement shipped" adds
    the reshipment parcel (the yellow duty: send the buyer the new number)."""
    if actor.shop_id is None or request.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's return")
    if step.status not in next_steps(request):
        raise ValidationError(
            f"a {request.get_status_display()} return cannot become {step.status}", code="step"
        )
    note = step.note.strip()[:300]
    now = timezone.now()
    with transaction.atomic():
        locked = ReturnRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != request.status:
            raise ValidationError("the return moved on meanwhile; reload", code="stale")
        order = locked.order
        if step.status == S.SENT_BACK:
            number = step.tracking_number.strip()
            if not number or len(number) > 80:
                raise ValidationError(
                    "the buyer's tracking number, 1-80 characters", code="tracking"
                )
            locked.return_tracking, locked.return_carrier = number, step.carrier.strip()[:80]
            note = note or number
        elif step.status == S.REFUNDED:
            try:
                amount = Decimal(step.amount.strip() or "0")
            except InvalidOperation as exc:
                raise ValidationError("the refund amount is a number", code="amount") from exc
            locked.refund = record_refund(
                actor=actor,
                order=order,
                amount=amount,
                reason=f"return #{locked.pk}: {locked.reason}"[:200],
                kind=RefundKind.RETURN,
            )
            note = note or f"{amount} {order.currency}"
        elif step.status == S.REPLACEMENT_SHIPPED:
            locked.replacement = add_parcel(
                actor=actor,
                order=order,
                tracking_number=step.tracking_number,
                carrier=step.carrier.strip()[:80],
                reshipment=True,
                note=f"exchange #{locked.pk}",
            )
            note = note or step.tracking_number.strip()
        locked.status = step.status
        locked.save()
        ReturnStep.objects.create(
            shop_id=locked.shop_id,
            request=locked,
            status=step.status,
            actor=actor,
            note=note,
            at=now,
        )
    return locked


# --- what the buyer is told at each step (R-30: the whole process, never blame the courier) --

_SCRIPTS: dict[str, dict[str, str]] = {
    S.REQUESTED: {
        "en": "We have your {what} request for order {order}. We will check it and reply "
        "within 24 hours; please keep the item and its packaging for now.",
        "zh": "您好，订单{order}的{what_zh}申请已收到，我们会在24小时内审核回复，"
        "请先保留商品和包装。",
    },
    S.APPROVED: {
        "en": "Your {what} for order {order} is approved. Please send the item back in its "
        "packaging and tell us the tracking number here; the return shipping is covered as "
        "the platform's rules say.",
        "zh": "订单{order}的{what_zh}已同意。请将商品连同包装寄回，并在这里告诉我们快递单号。",
    },
    S.SENT_BACK: {
        "en": "Thank you, we have the tracking number {tracking}. We will tell you as soon as "
        "the parcel reaches us.",
        "zh": "收到快递单号{tracking}，谢谢！包裹到达后我们会第一时间通知您。",
    },
    S.RECEIVED: {
        "en": "Your parcel has arrived and we are checking it now.",
        "zh": "您寄回的包裹已收到，我们正在验收。",
    },
    S.REFUNDED: {
        "en": "The refund for order {order} is done: the money goes back to the way you paid "
        "and usually arrives within {refund_days} business days. Store points used on the "
        "order are returned to your account.",
        "zh": "订单{order}已退款，款项原路退回，一般{refund_days}个工作日内到账；"
        "订单使用的积分会退回您的账户。",
    },
    S.REPLACEMENT_SHIPPED: {
        "en": "Your replacement is on its way: tracking number {replacement}. Thank you for "
        "your patience!",
        "zh": "换新商品已发出，快递单号{replacement}，感谢您的耐心！",
    },
    S.REJECTED: {
        "en": "We are sorry, we cannot accept this {what} for order {order}. Let us find "
        "another way to help you — tell us what would work for you.",
        "zh": "很抱歉，订单{order}的{what_zh}申请暂时无法通过。"
        "我们一起想想其他解决办法，您看怎样更合适？",
    },
}


def buyer_script(request: ReturnRequest, *, language: str) -> str:
    """The message for the buyer at the return's current step, in English or Chinese."""
    lang = "zh" if language.startswith("zh") else "en"
    template = _SCRIPTS[request.status][lang]
    order = request.order
    return template.format(
        what="return" if request.kind == ReturnKind.RETURN else "exchange",
        what_zh="退货" if request.kind == ReturnKind.RETURN else "换货",
        order=order.external_id,
        tracking=request.return_tracking,
        replacement=request.replacement.tracking_number if request.replacement else "",
        refund_days=order_settings(shop=order.shop).refund_days,
    )
