"""Follow-ups (R-33, R-48): the messages the owner's rules send on an order's events — right
after purchase, at delivery, N days after delivery — each once per order, in the buyer's
language, outside the shop's quiet hours, never while a complaint of the buyer is open and
never to a buyer who opted out; every one through the rule guard and the outbox
(`send_system_message`).

Two steps, both idempotent: `plan_follow_ups` writes one row per (order, kind) from the
orders' own timestamps (imports and the order webhook write them; decisions §43 explains why
care reads rather than hooks the order upsert), `send_due_follow_ups` sends the rows that are
due. A row due in quiet hours moves to their end; one whose buyer has an open complaint waits;
one that could not go out within `EXPIRE_AFTER` of being due is dropped, never sent late."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.automation.business_hours import is_open
from kefu.automation.models import ScriptLanguage
from kefu.automation.saved_texts import guard_saved_texts
from kefu.automation.selectors import buyer_language, holidays_of, schedule_of
from kefu.care.complaints import has_open_complaint
from kefu.care.models import (
    FollowUp,
    FollowUpKind,
    FollowUpRule,
    FollowUpSettings,
    FollowUpStatus,
)
from kefu.care.review_invites import invite_to_review
from kefu.care.review_invites import why_not_code as review_invite_code
from kefu.conversations.models import Buyer, Message
from kefu.conversations.outbound import conversation_for_outreach, send_system_message
from kefu.orders.config import order_settings
from kefu.orders.models import Order, OrderStatus
from kefu.orders.rules import in_quiet_hours
from kefu.orders.selectors import visible_orders
from kefu.outreach.models import OptOut
from kefu.outreach.services import render_text

log = logging.getLogger("kefu.care")

# How far back the planner looks for order events: a stopped worker catches up on restart.
LOOKBACK = dt.timedelta(days=3)
# A follow-up that could not go out within this time of being due is dropped.
EXPIRE_AFTER = dt.timedelta(days=7)
MAX_DAYS = 90
MAX_TEXT = 1000
BATCH = 500
ORDER_KINDS = (FollowUpKind.AFTER_PURCHASE, FollowUpKind.AT_DELIVERY, FollowUpKind.AFTER_DAYS)
# An order in these states is not followed up: there is nothing to thank for or to review.
DEAD_STATUSES = (OrderStatus.CLOSED, OrderStatus.REFUNDED)


# --- the owner's rules and quiet hours -----------------------------------------------------


@dataclass(frozen=True)
class RuleInput:
    kind: str
    texts: dict[str, str]
    fallback_language: str = "en"
    days: int = 0
    active: bool = True


def _check_texts(texts: dict[str, str], fallback: str) -> dict[str, str]:
    cleaned = {lang: (text or "").strip() for lang, text in texts.items()}
    cleaned = {lang: text for lang, text in cleaned.items() if text}
    if not cleaned:
        raise ValidationError(_("Write the message in at least one language."), code="texts")
    for lang, text in cleaned.items():
        if lang not in ScriptLanguage.values:
            raise ValidationError(_("unknown language %(code)r") % {"code": lang}, code="language")
        if len(text) > MAX_TEXT:
            raise ValidationError(
                _("A follow-up message is at most %(n)d characters.") % {"n": MAX_TEXT},
                code="length",
            )
        try:
            render_text(text, buyer=Buyer(external_id="x"), shop=Shop(name="x"))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValidationError(
                _("Unknown placeholder in the %(lang)s text (use {name} or {shop}).")
                % {"lang": lang},
                code="placeholder",
            ) from exc
    if fallback not in cleaned:
        raise ValidationError(
            _("The fallback language needs a text: buyers of other languages get it."),
            code="fallback",
        )
    return cleaned


def save_rule(*, actor: User, data: RuleInput, now: dt.datetime | None = None) -> FollowUpRule:
    """Create or change the shop's rule of one kind (a shop setting: owner or settings
    manager). Its texts pass the rule guard before they are saved."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    now = now or timezone.now()
    if data.kind not in FollowUpKind.values:
        raise ValidationError(_("unknown follow-up"), code="kind")
    days = data.days if data.kind == FollowUpKind.AFTER_DAYS else 0
    if data.kind == FollowUpKind.AFTER_DAYS and not 1 <= days <= MAX_DAYS:
        raise ValidationError(
            _("The days after delivery are 1 to %(n)d.") % {"n": MAX_DAYS}, code="days"
        )
    texts = _check_texts(data.texts, data.fallback_language)
    guard_saved_texts(actor=actor, texts=sorted(texts.items()), source="system")
    with transaction.atomic():
        rule = FollowUpRule.objects.select_for_update().filter(shop=shop, kind=data.kind).first()
        if rule is None:
            rule = FollowUpRule(shop=shop, kind=data.kind, active=False, active_since=now)
        if data.active and not rule.active:
            # Switched on now: events before this moment are not followed up.
            rule.active_since = now
        rule.days, rule.texts, rule.active = days, texts, data.active
        rule.fallback_language = data.fallback_language
        rule.save()
    return rule


def follow_up_settings(shop: Shop) -> FollowUpSettings:
    """Whether follow-ups also keep to business hours; an unsaved default until saved."""
    found = FollowUpSettings.objects.filter(shop=shop).first()
    return found if found is not None else FollowUpSettings(shop=shop)


def save_follow_up_settings(*, actor: User, business_hours_only: bool) -> FollowUpSettings:
    """The quiet hours themselves are the shop's one setting, changed on the order settings
    page (`kefu.orders.config.update_order_settings`)."""
    require(actor, Capability.MANAGE_SETTINGS)
    conf, _created = FollowUpSettings.objects.update_or_create(
        shop=shop_of(actor), defaults={"business_hours_only": business_hours_only}
    )
    return conf


def quiet_hours_of(shop: Shop) -> tuple[dt.time, dt.time]:
    """The shop's one quiet hours setting (shop-local, may wrap midnight): payment reminders,
    review invitations, follow-ups and revisits all keep to it."""
    conf = order_settings(shop=shop)
    return conf.quiet_start, conf.quiet_end


def is_quiet(
    shop: Shop,
    moment: dt.datetime,
    conf: FollowUpSettings | None = None,
    hours: tuple[dt.time, dt.time] | None = None,
) -> bool:
    """Whether `moment` is in the shop's quiet hours (shop-local, wrapping midnight), or
    outside its business hours when follow-ups keep to them. Equal bounds: never quiet."""
    conf = conf or follow_up_settings(shop)
    start, end = hours or quiet_hours_of(shop)
    quiet = in_quiet_hours(moment=moment, timezone_name=shop.timezone, start=start, end=end)
    if quiet or not conf.business_hours_only:
        return quiet
    schedule = schedule_of(shop)
    if not schedule:  # no hours set: the quiet hours alone decide
        return False
    local_day = moment.astimezone(zoneinfo.ZoneInfo(shop.timezone)).date()
    return not is_open(
        moment=moment,
        tz_name=shop.timezone,
        schedule=schedule,
        holidays=holidays_of(shop, around=local_day),
    )


def next_allowed(
    shop: Shop, moment: dt.datetime, conf: FollowUpSettings | None = None
) -> dt.datetime:
    """The first moment at or after `moment` outside the quiet hours (shop-local hours at the
    quiet end's minute, so a window ending 08:30 lets go at 08:30; a week of closed days gives
    up and returns the week's end)."""
    conf = conf or follow_up_settings(shop)
    hours = quiet_hours_of(shop)
    if not is_quiet(shop, moment, conf, hours):
        return moment
    tz = zoneinfo.ZoneInfo(shop.timezone)
    local = moment.astimezone(tz).replace(minute=hours[1].minute, second=0, microsecond=0)
    for step in range(1, 24 * 8):
        candidate = (local + dt.timedelta(hours=step)).astimezone(dt.UTC)
        if not is_quiet(shop, candidate, conf, hours):
            return candidate
    return moment + dt.timedelta(days=7)


# --- planning: one row per (order, kind) ---------------------------------------------------


def _due_orders(rule: FollowUpRule, now: dt.datetime) -> list[tuple[Order, dt.datetime]]:
    since = max(rule.active_since, now - LOOKBACK)
    base = Order.objects.filter(shop_id=rule.shop_id).exclude(status__in=DEAD_STATUSES)
    base = base.exclude(pk__in=FollowUp.objects.filter(kind=rule.kind).values("order_id"))
    if rule.kind == FollowUpKind.AFTER_PURCHASE:
        # Purchase = payment (an unpaid order gets the payment reminder, not thanks).
        rows = base.filter(paid_at__gte=since, paid_at__lte=now).order_by("paid_at")[:BATCH]
        return [(o, o.paid_at) for o in rows if o.paid_at]
    if rule.kind == FollowUpKind.AT_DELIVERY:
        rows = base.filter(delivered_at__gte=since, delivered_at__lte=now).order_by("delivered_at")[
            :BATCH
        ]
        return [(o, o.delivered_at) for o in rows if o.delivered_at]
    shift = dt.timedelta(days=rule.days)
    rows = base.filter(delivered_at__gte=since - shift, delivered_at__lte=now - shift).order_by(
        "delivered_at"
    )[:BATCH]
    return [(o, o.delivered_at + shift) for o in rows if o.delivered_at]


def plan_follow_ups(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Write the follow-ups the shop's active rules call for; a re-run writes nothing twice
    (unique per order and kind)."""
    now = now or timezone.now()
    planned = 0
    for rule in FollowUpRule.objects.filter(shop=shop, active=True, kind__in=ORDER_KINDS):
        rows = [
            FollowUp(
                shop=shop,
                kind=rule.kind,
                order=order,
                buyer_id=order.buyer_id,
                due_at=due,
                created_at=now,
            )
            for order, due in _due_orders(rule, now)
        ]
        if rows:
            FollowUp.objects.bulk_create(rows, ignore_conflicts=True)
            planned += len(rows)
    return planned


# --- sending --------------------------------------------------------------------------------


def text_for(rule: FollowUpRule, buyer: Buyer) -> tuple[str, str]:
    """(language, text): the buyer's language (agent override, detected, or the buyer's
    field), its base language ("es-MX" → "es"), else the rule's fallback."""
    lang = (buyer_language(buyer) or "").lower()
    for candidate in (lang, lang.split("-")[0]):
        if candidate and candidate in rule.texts:
            return candidate, str(rule.texts[candidate])
    return rule.fallback_language, str(rule.texts[rule.fallback_language])


def buyer_opted_out(buyer_id: int) -> bool:
    """The buyer asked for no more messages (an opt-out word, kefu.outreach)."""
    return OptOut.objects.filter(buyer_id=buyer_id).exists()


def send_message_to_buyer(
    *,
    shop: Shop,
    buyer: Buyer,
    text: str,
    automation: str,
    dedupe_key: str,
    payload: dict[str, object],
) -> Message | None:
    """Send a care message in the buyer's after-sale conversation: the rule guard, then the
    outbox (`send_system_message`). None when the guard blocked it or it was sent before."""
    conversation = conversation_for_outreach(shop=shop, buyer=buyer, group=ServiceGroup.AFTER_SALE)
    return send_system_message(
        conversation=conversation,
        text=render_text(text, buyer=buyer, shop=shop),
        automation=automation,
        dedupe_key=dedupe_key,
        payload=payload,
    )


def _skip(f: FollowUp, reason: str) -> None:
    FollowUp.objects.filter(pk=f.pk, status=FollowUpStatus.PENDING).update(
        status=FollowUpStatus.SKIPPED, reason=reason
    )


def _send_one(f: FollowUp, rule: FollowUpRule, now: dt.datetime) -> bool:
    language, text = text_for(rule, f.buyer)
    with transaction.atomic():
        # Claim the row: a parallel run that got here first leaves nothing to send.
        claimed = FollowUp.objects.filter(pk=f.pk, status=FollowUpStatus.PENDING).update(
            status=FollowUpStatus.SENT, sent_at=now, language=language, reason=""
        )
        if not claimed:
            return False
        if f.kind == FollowUpKind.AFTER_DAYS:
            return _send_review_invitation(f, text, language)
        message = send_message_to_buyer(
            shop=f.shop,
            buyer=f.buyer,
            text=text,
            automation="follow_up",
            dedupe_key=f"follow_up:{f.order_id}:{f.kind}",
            payload={"follow_up": f.kind, "order_id": f.order_id, "language": language},
        )
        if message is None:
            FollowUp.objects.filter(pk=f.pk).update(
                status=FollowUpStatus.SKIPPED, reason="blocked", sent_at=None
            )
            return False
        FollowUp.objects.filter(pk=f.pk).update(message=message)
    return True


def _send_review_invitation(f: FollowUp, text: str, language: str) -> bool:
    """The "N days after delivery" rule asks for a review: through `invite_to_review`, so
    that its once-per-order rule holds whichever path (this rule, the review sweep, an agent)
    comes first. Called with the row claimed, inside its transaction."""
    try:
        invitation = invite_to_review(
            order=f.order,
            text=render_text(text, buyer=f.buyer, shop=f.shop),
            payload={"follow_up": f.kind, "language": language},
        )
    except ValidationError as exc:
        reason = "blocked" if exc.code == "blocked" else str(exc.code or "invited")
        FollowUp.objects.filter(pk=f.pk).update(
            status=FollowUpStatus.SKIPPED, reason=reason[:20], sent_at=None
        )
        return False
    FollowUp.objects.filter(pk=f.pk).update(message=invitation.message)
    return True


def send_due_follow_ups(*, shop: Shop, now: dt.datetime | None = None) -> dict[str, int]:
    """Send the shop's follow-ups that are due, or say why each waits or was dropped."""
    now = now or timezone.now()
    conf = follow_up_settings(shop)
    rules = {r.kind: r for r in FollowUpRule.objects.filter(shop=shop)}
    tally = {"sent": 0, "deferred": 0, "skipped": 0}
    due = (
        FollowUp.objects.filter(shop=shop, status=FollowUpStatus.PENDING, due_at__lte=now)
        .select_related("order", "buyer", "shop")
        .order_by("due_at", "pk")[:BATCH]
    )
    quiet = is_quiet(shop, now, conf)
    for f in due:
        rule = rules.get(f.kind)
        reason = ""
        if rule is None or not rule.active:
            reason = "rule_off"
        elif now - f.due_at > EXPIRE_AFTER:
            reason = "expired"
        elif f.order.status in DEAD_STATUSES:
            reason = "order_closed"
        elif buyer_opted_out(f.buyer_id):
            reason = "opted_out"
        elif f.kind == FollowUpKind.AFTER_DAYS and review_invite_code(f.order) in (
            "invited",
            "reviewed",
        ):
            # Once per order whichever path asks: the review sweep or an agent came first.
            reason = review_invite_code(f.order)
        if reason:
            _skip(f, reason)
            tally["skipped"] += 1
            continue
        assert rule is not None  # noqa: S101 - checked above
        if has_open_complaint(shop=shop, buyer_id=f.buyer_id, order_id=f.order_id):
            # Waits for the complaint to close (or expires): never sent while it is open.
            FollowUp.objects.filter(pk=f.pk).update(reason="complaint_open")
            tally["deferred"] += 1
            continue
        if quiet:
            FollowUp.objects.filter(pk=f.pk).update(
                due_at=next_allowed(shop, now, conf), reason="quiet_hours"
            )
            tally["deferred"] += 1
            continue
        if _send_one(f, rule, now):
            tally["sent"] += 1
        else:
            tally["skipped"] += 1
    return tally


def run_follow_ups(*, shop: Shop, now: dt.datetime | None = None) -> dict[str, int]:
    """The periodic step for one shop: plan from the orders, then send what is due."""
    now = now or timezone.now()
    planned = plan_follow_ups(shop=shop, now=now)
    return {"planned": planned, **send_due_follow_ups(shop=shop, now=now)}


def shops_with_follow_ups() -> list[int]:
    """Shops with an active order rule or a follow-up waiting."""
    ids = set(
        FollowUpRule.objects.filter(active=True, kind__in=ORDER_KINDS).values_list(
            "shop_id", flat=True
        )
    )
    ids |= set(
        FollowUp.objects.filter(status=FollowUpStatus.PENDING).values_list("shop_id", flat=True)
    )
    return sorted(ids)


def visible_follow_ups(actor: User, *, limit: int = 200) -> list[FollowUp]:
    """The latest follow-ups of orders the actor may see, newest due first. Reads only."""
    return list(
        FollowUp.objects.filter(shop=shop_of(actor), order__in=visible_orders(actor).values("pk"))
        .select_related("order", "buyer")
        .order_by("-due_at", "-pk")[:limit]
    )
