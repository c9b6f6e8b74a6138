"""What the team does from the revisit table (回访, R-34): one click sends the shop's revisit
script in the buyer's language (rule guard and outbox) or creates a call task; the results
(replied, reordered within 7 days) are read back; a revisit that led to a second sale can be
saved to the case archive (R-52)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.care.calls import CLOSING
from kefu.care.complaints import has_open_complaint
from kefu.care.followups import (
    buyer_opted_out,
    follow_up_settings,
    is_quiet,
    next_allowed,
    send_message_to_buyer,
    text_for,
)
from kefu.care.models import (
    CallReason,
    CallTask,
    Case,
    CaseOutcome,
    FollowUpKind,
    FollowUpRule,
    Revisit,
    RevisitWay,
)
from kefu.care.services import CaseInput, save_case
from kefu.catalog.models import Product
from kefu.conversations.models import Direction, Message
from kefu.orders.models import Order, OrderItem
from kefu.orders.selectors import visible_orders

RESULT_WINDOW = dt.timedelta(days=7)


def revisit_subject(actor: User, *, order_id: int, product_id: int) -> tuple[Order, Product]:
    """The delivered order and product of a revisit-table row the actor may see."""
    order = visible_orders(actor).select_related("buyer").filter(pk=order_id).first()
    item = (
        OrderItem.objects.filter(order=order, product_id=product_id)
        .select_related("product")
        .first()
        if order is not None
        else None
    )
    if order is None or item is None or item.product is None:
        raise Http404("no such revisit")
    if order.delivered_at is None:
        raise ValidationError(_("The order is not delivered yet."), code="not_delivered")
    return order, item.product


def _create(revisit: Revisit) -> None:
    try:
        with transaction.atomic():
            revisit.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("This buyer was already revisited for this order."), code="duplicate"
        ) from exc


def send_revisit(
    *, actor: User, order: Order, product: Product, now: dt.datetime | None = None
) -> Revisit:
    """Send the shop's revisit script to the buyer (from `revisit_subject`). Refused when the
    buyer opted out, has an open complaint, it is the shop's quiet hours, or the rule guard
    blocks the text; nothing is stored then."""
    shop = shop_of(actor)
    if order.shop_id != shop.pk or product.shop_id != shop.pk:
        raise PermissionDenied("not your shop's order")
    now = now or timezone.now()
    rule = FollowUpRule.objects.filter(shop=shop, kind=FollowUpKind.REVISIT, active=True).first()
    if rule is None:
        raise ValidationError(
            _("Write the revisit script on the follow-ups page first."), code="no_script"
        )
    buyer = order.buyer
    if buyer_opted_out(buyer.pk):
        raise ValidationError(_("The buyer opted out of messages."), code="opted_out")
    if has_open_complaint(shop=shop, buyer_id=buyer.pk):
        raise ValidationError(_("The buyer has an open complaint."), code="complaint_open")
    conf = follow_up_settings(shop)
    zone = zoneinfo.ZoneInfo(shop.timezone)
    if is_quiet(shop, now, conf):
        raise ValidationError(
            _("Quiet hours: buyers are not messaged before %(when)s (shop time).")
            % {"when": next_allowed(shop, now, conf).astimezone(zone).strftime("%H:%M")},
            code="quiet_hours",
        )
    language, text = text_for(rule, buyer)
    with transaction.atomic():
        revisit = Revisit(
            shop=shop,
            buyer=buyer,
            product=product,
            order=order,
            way=RevisitWay.MESSAGE,
            actor=actor,
            at=now,
        )
        _create(revisit)
        message = send_message_to_buyer(
            shop=shop,
            buyer=buyer,
            text=text,
            automation="revisit",
            dedupe_key=f"revisit:{order.pk}:{product.pk}",
            payload={"revisit": product.pk, "order_id": order.pk, "language": language},
        )
        if message is None:
            raise ValidationError(
                _("The platform rules blocked the revisit script; edit it on the follow-ups page."),
                code="blocked",
            )
        revisit.message = message
        revisit.save(update_fields=["message"])
    return revisit


def call_for_revisit(
    *, actor: User, order: Order, product: Product, now: dt.datetime | None = None
) -> Revisit:
    """Put the buyer on the call group's list instead (phone calls ignore the message
    opt-out: the buyer is asked in person)."""
    shop = shop_of(actor)
    if order.shop_id != shop.pk or product.shop_id != shop.pk:
        raise PermissionDenied("not your shop's order")
    now = now or timezone.now()
    with transaction.atomic():
        revisit = Revisit(
            shop=shop,
            buyer=order.buyer,
            product=product,
            order=order,
            way=RevisitWay.CALL,
            actor=actor,
            at=now,
        )
        _create(revisit)
        task, _created = CallTask.objects.get_or_create(
            shop=shop,
            key=f"revisit:order:{order.pk}:product:{product.pk}",
            defaults={
                "reason": CallReason.REVISIT,
                "order": order,
                "buyer": order.buyer,
                "call_by": now + dt.timedelta(days=1),
                "created_at": now,
            },
        )
        revisit.call_task = task
        revisit.save(update_fields=["call_task"])
    return revisit


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisitResult:
    revisit: Revisit
    replied: bool
    second_order: Order | None


@dataclass(frozen=True)
class RevisitTotals:
    revisits: int
    replied: int
    reordered: int


def revisit_results(
    actor: User, *, since: dt.datetime, limit: int = 300
) -> tuple[list[RevisitResult], RevisitTotals]:
    """Revisits since `since` the actor may see, newest first, each with whether the buyer
    replied (wrote to the shop, or a call reached them) and the first order they placed within
    7 days after it. Reads only."""
    shop = shop_of(actor)
    revisits = list(
        Revisit.objects.filter(
            shop=shop, at__gte=since, order__in=visible_orders(actor).values("pk")
        )
        .select_related("buyer", "product", "order", "call_task", "actor", "case")
        .order_by("-at", "-pk")[:limit]
    )
    if not revisits:
        return [], RevisitTotals(0, 0, 0)
    buyer_ids = {r.buyer_id for r in revisits}
    earliest = min(r.at for r in revisits)
    written: dict[int, list[dt.datetime]] = {}
    for buyer_id, sent_at in Message.objects.filter(
        shop=shop, buyer_id__in=buyer_ids, direction=Direction.BUYER, sent_at__gt=earliest
    ).values_list("buyer_id", "sent_at"):
        written.setdefault(buyer_id, []).append(sent_at)
    orders: dict[int, list[Order]] = {}
    for o in Order.objects.filter(
        shop=shop, buyer_id__in=buyer_ids, placed_at__gt=earliest
    ).order_by("placed_at"):
        orders.setdefault(o.buyer_id, []).append(o)
    rows: list[RevisitResult] = []
    for r in revisits:
        end = r.at + RESULT_WINDOW
        replied = any(r.at < t <= end for t in written.get(r.buyer_id, []))
        if r.call_task is not None and r.call_task.last_outcome in CLOSING:
            replied = True
        second = next((o for o in orders.get(r.buyer_id, []) if r.at < o.placed_at <= end), None)
        rows.append(RevisitResult(r, replied, second))
    totals = RevisitTotals(
        revisits=len(rows),
        replied=sum(1 for x in rows if x.replied),
        reordered=sum(1 for x in rows if x.second_order is not None),
    )
    return rows, totals


def save_revisit_case(*, actor: User, revisit: Revisit) -> Case:
    """Save a revisit that led to a second sale to the case archive, with both orders."""
    if actor.shop_id is None or revisit.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's revisit")
    if revisit.case_id is not None:
        raise ValidationError(_("This revisit is already in the case archive."), code="saved")
    second = (
        Order.objects.filter(
            shop_id=revisit.shop_id,
            buyer_id=revisit.buyer_id,
            placed_at__gt=revisit.at,
            placed_at__lte=revisit.at + RESULT_WINDOW,
        )
        .order_by("placed_at")
        .first()
    )
    if second is None:
        raise ValidationError(
            _("No second order within 7 days of this revisit yet."), code="no_sale"
        )
    way = revisit.get_way_display()
    message = revisit.message
    with transaction.atomic():
        case = save_case(
            actor=actor,
            conversation=message.conversation if message is not None else None,
            data=CaseInput(
                title=_("Revisit of %(product)s led to order %(order)s")
                % {"product": revisit.product.title[:80], "order": second.external_id[:60]},
                event=_("Revisited on %(date)s (%(way)s): order %(first)s was running out.")
                % {
                    "way": way,
                    "date": revisit.at.date().isoformat(),
                    "first": revisit.order.external_id,
                },
                follow_up=message.text if message is not None else "",
                outcome=_("Second order %(order)s placed %(date)s.")
                % {"order": second.external_id, "date": second.placed_at.date().isoformat()},
                outcome_kind=CaseOutcome.RESOLVED,
                tags="revisit",
                agent_id=revisit.actor_id if actor.is_owner else actor.pk,
            ),
        )
        Revisit.objects.filter(pk=revisit.pk).update(case=case, second_order=second)
    return case
