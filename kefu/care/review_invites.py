"""Review invitations (R-43): once per order, only after delivery, never while a complaint of
the order or its buyer is open, outside the shop's quiet hours for the automatic sweep; sent
through the rule guard and the outbox like every message the shop sends
(`send_system_message` checks the text with `check_outgoing` and stores nothing it blocks)."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Platform, ServiceGroup, Shop, User
from kefu.automation.selectors import buyer_language
from kefu.care.complaints import has_open_complaint
from kefu.care.models import Review, ReviewInvitation
from kefu.care.reviews import review_settings
from kefu.conversations.outbound import conversation_for_outreach, send_system_message
from kefu.orders.config import order_settings
from kefu.orders.models import Order
from kefu.orders.rules import in_quiet_hours

# Tmall counts five stars (R-43: "five-star on Tmall"); other marketplaces get a plain ask.
INVITE_TMALL = {
    "zh-hans": "亲，您的宝贝已经签收啦～用得满意的话，麻烦给我们一个五星好评哦，"
    "您的鼓励是我们最大的动力！有任何问题也欢迎随时联系客服～",
    "en": "Your parcel has arrived! If you are happy with it, a five-star review on Tmall would "
    "mean a lot to us. If anything is not right, just write to us here first.",
}
INVITE_OTHER = {
    "zh-hans": "亲，您的宝贝已经签收啦～方便的话请留下您的评价，有任何问题欢迎随时联系客服～",
    "en": "Your parcel has arrived! When you have a moment, we would be glad of your review. "
    "If anything is not right, just write to us here first.",
}
# Delivered orders older than this are not invited by the sweep any more.
SWEEP_WINDOW = dt.timedelta(days=30)


def invitation_text(*, platform: str, language: str) -> str:
    texts = INVITE_TMALL if platform == Platform.TMALL else INVITE_OTHER
    return texts["zh-hans"] if language.lower().startswith("zh") else texts["en"]


def why_not_code(order: Order) -> str:
    """The once-per-order rule every review invitation keeps, whichever path sends it (an
    agent, the review sweep, the follow-up rule "N days after delivery"): a code for why this
    order's buyer may not be asked now ("not_delivered", "invited", "reviewed",
    "complaint_open"); "" when they may."""
    if order.delivered_at is None:
        return "not_delivered"
    if ReviewInvitation.objects.filter(shop_id=order.shop_id, order=order).exists():
        return "invited"
    if Review.objects.filter(shop_id=order.shop_id, order=order).exists():
        return "reviewed"
    if has_open_complaint(shop=order.shop, buyer_id=order.buyer_id, order_id=order.pk):
        return "complaint_open"
    return ""


def why_not_invite(order: Order) -> str:
    """Why this order's buyer may not be asked for a review now; "" when they may."""
    reasons = {
        "not_delivered": _("The order is not delivered yet."),
        "invited": _("This order's buyer was already invited."),
        "reviewed": _("This order already has a review."),
        "complaint_open": _(
            "A complaint of this buyer is open: no review invitation until it is resolved."
        ),
    }
    code = why_not_code(order)
    return reasons[code] if code else ""


def invite_to_review(
    *,
    order: Order,
    actor: User | None = None,
    text: str = "",
    payload: dict[str, object] | None = None,
) -> ReviewInvitation:
    """Ask the order's buyer for a review (``order`` comes from `access_order` when an agent
    asks). ValidationError says why not (its code is `why_not_code`'s); a text the rule guard
    blocks is refused too. `text`: the follow-up rule's own wording (the shop's invitation
    otherwise); the once-per-order rule and the message's dedupe key are the same for all."""
    if actor is not None and (actor.shop_id is None or actor.shop_id != order.shop_id):
        raise PermissionDenied("not your shop's order")
    code = why_not_code(order)
    if code:
        raise ValidationError(why_not_invite(order) or code, code=code)
    shop = order.shop
    text = text or invitation_text(
        platform=shop.platform, language=buyer_language(order.buyer) or "en"
    )
    with transaction.atomic():
        try:
            with transaction.atomic():
                invitation = ReviewInvitation.objects.create(
                    shop=shop, order=order, sent_by=actor, sent_at=timezone.now()
                )
        except IntegrityError as exc:
            raise ValidationError(_("This order's buyer was already invited."), "invited") from exc
        conversation = conversation_for_outreach(
            shop=shop, buyer=order.buyer, group=ServiceGroup.AFTER_SALE
        )
        message = send_system_message(
            conversation=conversation,
            text=text,
            automation="review_invitation",
            dedupe_key=f"review-invitation:{order.pk}",
            payload={"order_external_id": order.external_id, **(payload or {})},
        )
        if message is None:
            # Blocked by the rule guard (the finding is recorded): nothing is kept, so the
            # order can be invited once the shop's rules allow the text.
            transaction.set_rollback(True)
            raise ValidationError(
                _("The rule guard stopped the invitation: see the compliance findings."),
                code="blocked",
            )
        invitation.message = message
        invitation.save(update_fields=["message"])
    return invitation


def invite_delivered_orders(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """The minute watch's sweep: when the shop turned invitations on, every order delivered
    at least the set days ago (and within 30 days) whose buyer may be asked, outside the
    shop's quiet hours."""
    settings = review_settings(shop)
    if not settings.invite_enabled:
        return 0
    now = now or timezone.now()
    quiet = order_settings(shop=shop)
    if in_quiet_hours(
        moment=now, timezone_name=shop.timezone, start=quiet.quiet_start, end=quiet.quiet_end
    ):
        return 0
    latest = now - dt.timedelta(days=settings.invite_after_days)
    orders = (
        Order.objects.filter(
            shop=shop, delivered_at__lte=latest, delivered_at__gte=now - SWEEP_WINDOW
        )
        .exclude(pk__in=ReviewInvitation.objects.filter(shop=shop).values("order_id"))
        .select_related("shop", "buyer")
        .order_by("delivered_at", "pk")[:200]
    )
    sent = 0
    for order in orders:
        if why_not_invite(order):
            continue
        try:
            invite_to_review(order=order)
        except ValidationError:
            continue
        sent += 1
    return sent
