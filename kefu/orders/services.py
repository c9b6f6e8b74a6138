"""Every write about orders: upserts from imports and webhooks, tracking, refunds, reshipments,
and the scheduled jobs (payment reminders, late-shipment scan, parcel alerts, incident
broadcasts).

Idempotency: an order is keyed by (shop, platform order id), a parcel by (shop, tracking
number), a tracking event by (parcel, carrier event id); a job's effect is claimed by an
insert or a conditional update before anything is sent, so a job that runs twice or
concurrently acts once.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import logging
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_lazy

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, has_capability, require
from kefu.accounts.scoping import shop_of
from kefu.orders import buyer_texts
from kefu.orders.events import record_order_event
from kefu.orders.models import (
    ImportRun,
    ImportStatus,
    IncidentBroadcast,
    IncidentRecipient,
    LateShipment,
    Order,
    OrderFlag,
    OrderSettings,
    OrderSource,
    OrderStatus,
    Parcel,
    ParcelAlert,
    ParcelAlertKind,
    Refund,
    RefundChannel,
    RefundKind,
    ShipByPolicy,
    TrackingEvent,
    TrackingStatus,
)
from kefu.orders.rules import (
    PLATFORM_PENALTY_RULES,
    PenaltyRule,
    in_quiet_hours,
    late_shipment_penalty,
    tracking_url,
)
from kefu.orders.statuses import map_tracking_status
from kefu.orders.upserts import ItemInput as ItemInput
from kefu.orders.upserts import OrderInput as OrderInput
from kefu.orders.upserts import ParcelInput as ParcelInput
from kefu.orders.upserts import UpsertOutcome as UpsertOutcome
from kefu.orders.upserts import group_inputs
from kefu.orders.upserts import upsert_orders as upsert_orders

log = logging.getLogger("kefu.orders")

# Buyer notes that ask for a new address; matched on normalised text.
ADDRESS_CHANGE_PHRASES = (
    "改地址",
    "修改地址",
    "地址改",
    "换地址",
    "新地址",
    "地址写错",
    "change address",
    "address change",
    "new address",
    "wrong address",
    "изменить адрес",
    "cambiar dirección",
    "cambiar la dirección",
)


# --- settings --------------------------------------------------------------------------------


def order_settings(*, shop: Shop) -> OrderSettings:
    """The shop's settings, created with the platform's defaults on first use."""
    found = OrderSettings.objects.filter(shop=shop).first()
    if found is not None:
        return found
    rule = PLATFORM_PENALTY_RULES.get(shop.platform, PLATFORM_PENALTY_RULES["generic"])
    try:
        with transaction.atomic():
            return OrderSettings.objects.create(
                shop=shop,
                penalty_rate=rule.rate,
                penalty_cap=rule.cap,
                penalty_cap_currency=rule.cap_currency,
                ship_by_hours=72,
            )
    except IntegrityError:
        return OrderSettings.objects.get(shop=shop)


def penalty_rule(settings_: OrderSettings) -> PenaltyRule:
    return PenaltyRule(
        settings_.penalty_rate, settings_.penalty_cap, settings_.penalty_cap_currency
    )


def update_order_settings(*, actor: User, shop: Shop, **values: Any) -> OrderSettings:
    """Change some of the shop's logistics settings; on a refusal nothing is saved."""
    require(actor, Capability.MANAGE_SETTINGS)
    if actor.shop_id != shop.pk:
        raise PermissionDenied("not your shop")
    current = order_settings(shop=shop)
    allowed = {f.name for f in OrderSettings._meta.concrete_fields} - {"id", "shop"}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(f"unknown settings: {', '.join(sorted(unknown))}")
    if "tracking_url_templates" in values:
        values["tracking_url_templates"] = clean_tracking_templates(
            values["tracking_url_templates"]
        )
    if values.get("penalty_cap_currency"):
        values["penalty_cap_currency"] = str(values["penalty_cap_currency"]).strip().upper()
    for name, value in values.items():
        setattr(current, name, value)
    problems = _settings_problems(current)
    if problems:
        raise ValidationError(problems)
    current.full_clean()
    current.save()
    return current


# Bounds a seller could mean; outside them a typo (minutes typed as hours, 30 for 0.30).
SETTING_BOUNDS: dict[str, tuple[Any, int, int]] = {
    "payment_reminder_delay_minutes": (
        gettext_lazy("The reminder delay (minutes)"),
        5,
        7 * 24 * 60,
    ),
    "payment_reminder_max_age_hours": (
        gettext_lazy("The reminder age limit (hours)"),
        1,
        30 * 24,
    ),
    "risk_window_hours": (gettext_lazy("The risk board window (hours)"), 1, 72),
    "stall_days": (gettext_lazy("Days without news before a parcel is stalled"), 1, 60),
}
MAX_CARRIER_TEMPLATES = 50


def _settings_problems(current: OrderSettings) -> list[str]:
    problems = []
    for name, (label, low, high) in SETTING_BOUNDS.items():
        value = getattr(current, name)
        if not isinstance(value, int) or not low <= value <= high:
            problems.append(
                gettext("%(label)s must be a whole number from %(low)s to %(high)s.")
                % {"label": label, "low": low, "high": high}
            )
    if current.payment_reminder_max_age_hours * 60 <= current.payment_reminder_delay_minutes:
        problems.append(
            gettext(
                "Reminders stop for orders older than the age limit, "
                "so the limit must be longer than the delay."
            )
        )
    if current.ship_by_hours not in ShipByPolicy.values:
        problems.append(gettext("The shipping promise is 24 or 72 hours after payment."))
    rate = Decimal(str(current.penalty_rate))
    if not Decimal("0") <= rate <= Decimal("1"):
        problems.append(gettext("The penalty rate is a share from 0 to 1 (0.30 is 30 %)."))
    if current.penalty_cap is not None and Decimal(str(current.penalty_cap)) < 0:
        problems.append(gettext("The penalty cap cannot be negative."))
    currency = current.penalty_cap_currency or ""
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        problems.append(gettext("The cap currency is a three-letter code such as CNY."))
    return problems


def clean_tracking_templates(raw: Any) -> dict[str, str]:
    """Carrier name → tracking page with `{number}`; names are kept as typed, matched later
    case-insensitively, so two spellings of one carrier are one entry."""
    if not isinstance(raw, dict):
        raise ValidationError(gettext("Tracking links are a list of carrier and link pairs."))
    if len(raw) > MAX_CARRIER_TEMPLATES:
        raise ValidationError(
            gettext("At most %(count)s carriers have a tracking link.")
            % {"count": MAX_CARRIER_TEMPLATES}
        )
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for name, template in raw.items():
        carrier = str(name).strip()
        link = str(template).strip()
        if not carrier or len(carrier) > 80:
            raise ValidationError(gettext("A carrier name is 1 to 80 characters."))
        if carrier.casefold() in seen:
            raise ValidationError(
                gettext("%(carrier)s has two tracking links; keep one.") % {"carrier": carrier}
            )
        seen.add(carrier.casefold())
        if (
            not link.startswith(("https://", "http://"))
            or "{number}" not in link
            or len(link) > 500
            or any(c.isspace() for c in link)
        ):
            raise ValidationError(
                gettext(
                    "The tracking link of %(carrier)s must start with https:// and contain "
                    "{number} where the tracking number goes."
                )
                % {"carrier": carrier}
            )
        cleaned[carrier] = link
    return cleaned


# Order upserts (imports, the order webhook, the demo) live in kefu.orders.upserts and are
# re-exported above: OrderInput, ItemInput, ParcelInput, UpsertOutcome, upsert_orders.


# --- tracking --------------------------------------------------------------------------------


class UnknownParcel(Exception):
    """A tracking event for a number the shop has never shipped."""


@dataclass(frozen=True)
class TrackingInput:
    status: str
    occurred_at: dt.datetime
    description: str = ""
    location: str = ""
    event_id: str = ""

    def dedupe_key(self) -> str:
        if self.event_id:
            return self.event_id[:120]
        digest = hashlib.sha256(
            f"{self.occurred_at.isoformat()}|{self.status}|{self.description}".encode()
        ).hexdigest()
        return f"h:{digest[:60]}"


@dataclass
class TrackingOutcome:
    parcel: Parcel
    stored: int
    duplicates: int
    status_before: str
    status_after: str
    order_status_after: str = ""
    warnings: list[str] = field(default_factory=list)


def resolve_tracking_status(event: TrackingInput) -> str:
    status = map_tracking_status(event.status) or map_tracking_status(event.description)
    if status is None:
        raise ValidationError(f"unknown tracking status {event.status!r}", code="tracking_status")
    return status


def record_tracking(
    *,
    shop: Shop,
    tracking_number: str,
    events: Sequence[TrackingInput],
    carrier: str = "",
    order_external_id: str = "",
) -> TrackingOutcome:
    """Store carrier events of a parcel and move the parcel and its order forward.

    A parcel the shop does not know is created when the event names its order; otherwise
    `UnknownParcel`. Every event status must map (else ValidationError and nothing stored).
    """
    statuses = [resolve_tracking_status(e) for e in events]
    now = timezone.now()
    with transaction.atomic():
        parcel = (
            Parcel.objects.select_for_update()
            .select_related("order")
            .filter(shop=shop, tracking_number=tracking_number)
            .first()
        )
        if parcel is None:
            order = (
                Order.objects.select_for_update()
                .filter(shop=shop, external_id=order_external_id)
                .first()
                if order_external_id
                else None
            )
            if order is None:
                raise UnknownParcel(tracking_number)
            first = min((e.occurred_at for e in events), default=now)
            parcel = Parcel.objects.create(
                shop=shop,
                order=order,
                carrier=carrier[:80],
                tracking_number=tracking_number[:80],
                shipped_at=first,
            )
            record_order_event(
                order, "parcel_added", tracking_number=tracking_number, carrier=carrier
            )
            if Parcel.objects.filter(order=order, is_reshipment=False).count() > 1:
                _flag_and_save(order, OrderFlag.SPLIT)
        elif carrier and not parcel.carrier:
            parcel.carrier = carrier[:80]
            parcel.save(update_fields=["carrier"])
        known = set(
            TrackingEvent.objects.filter(
                parcel=parcel, dedupe_key__in=[e.dedupe_key() for e in events]
            ).values_list("dedupe_key", flat=True)
        )
        fresh: list[TrackingEvent] = []
        for event, status in zip(events, statuses, strict=True):
            key = event.dedupe_key()
            if key in known:
                continue
            known.add(key)
            fresh.append(
                TrackingEvent(
                    shop=shop,
                    parcel=parcel,
                    status=status,
                    raw_status=event.status[:80],
                    description=event.description[:500],
                    location=event.location[:160],
                    occurred_at=event.occurred_at,
                    dedupe_key=key,
                )
            )
        TrackingEvent.objects.bulk_create(fresh)
        before = parcel.status
        outcome = TrackingOutcome(
            parcel=parcel,
            stored=len(fresh),
            duplicates=len(events) - len(fresh),
            status_before=before,
            status_after=before,
        )
        if fresh:
            latest = parcel.events.order_by("-occurred_at", "-id").first()
            assert latest is not None  # noqa: S101 - we just stored events
            parcel.status = latest.status
            parcel.last_event_at = latest.occurred_at
            if latest.status == TrackingStatus.DELIVERED and parcel.delivered_at is None:
                parcel.delivered_at = latest.occurred_at
            parcel.save(update_fields=["status", "last_event_at", "delivered_at"])
            outcome.status_after = parcel.status
            if parcel.status != before:
                record_order_event(
                    parcel.order,
                    "parcel_status",
                    parcel_id=parcel.pk,
                    tracking_number=parcel.tracking_number,
                    before=before,
                    after=parcel.status,
                )
            _advance_order_from_parcels(parcel.order, parcel, now=now)
        outcome.order_status_after = parcel.order.status
    return outcome


def _flag_and_save(order: Order, flag: str, *, actor: User | None = None) -> bool:
    if flag in order.flags:
        return False
    order.flags = [*order.flags, flag]
    order.save(update_fields=["flags", "updated_at"])
    record_order_event(order, "flag_added", actor=actor, flag=flag)
    return True


def _advance_order_from_parcels(order: Order, parcel: Parcel, *, now: dt.datetime) -> None:
    order.refresh_from_db()
    live = list(Parcel.objects.filter(order=order, replaced_by__isnull=True))
    fields: set[str] = set()
    old = order.status
    if order.status == OrderStatus.PAID:
        order.status = OrderStatus.SHIPPED
        order.shipped_at = order.shipped_at or min(p.shipped_at for p in live)
        fields |= {"status", "shipped_at"}
    delivered = [p for p in live if p.status == TrackingStatus.DELIVERED]
    if live and len(delivered) == len(live) and order.status == OrderStatus.SHIPPED:
        order.status = OrderStatus.DELIVERED
        order.delivered_at = max(p.delivered_at or now for p in delivered)
        fields |= {"status", "delivered_at"}
    if fields:
        order.save(update_fields=[*sorted(fields), "updated_at"])
        record_order_event(
            order, "status_changed", before=old, after=order.status, reason="tracking"
        )
    # Purple duty: refunded in a logistics dispute, and the parcel arrived after all.
    if (
        parcel.status == TrackingStatus.DELIVERED
        and OrderFlag.LOGISTICS_DISPUTE_REFUND in order.flags
        and Refund.objects.filter(
            order=order, logistics_dispute=True, created_at__lte=parcel.delivered_at or now
        ).exists()
    ):
        _flag_and_save(order, OrderFlag.ASK_BUYER_TO_PAY)


# --- agents' actions on an order -------------------------------------------------------------


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
        raise ValidationError("unknown refund channel or kind", code="refund_channel")
    if amount <= 0:
        raise ValidationError("a refund amount is positive", code="refund_amount")
    if not reason.strip():
        raise ValidationError("say why the buyer is refunded", code="refund_reason")
    if not actor.is_owner and actor.refund_limit is not None and amount > actor.refund_limit:
        raise PermissionDenied(f"refunds above {actor.refund_limit} need the main account")
    with transaction.atomic():
        locked = Order.objects.select_for_update().get(pk=order.pk)
        ceiling = locked.paid_amount or locked.total_amount
        if locked.refunded_amount + amount > ceiling:
            raise ValidationError(
                f"refunds would total more than the {ceiling} {locked.currency} paid",
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
        record_order_event(
            locked,
            "refund_recorded",
            actor=actor,
            refund_id=refund.pk,
            amount=str(amount),
            currency=locked.currency,
            channel=channel,
            refund_kind=kind,
            logistics_dispute=logistics_dispute,
        )
        if before != locked.status:
            record_order_event(
                locked,
                "status_changed",
                actor=actor,
                before=before,
                after=locked.status,
                reason="refund",
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
        raise ValidationError("a tracking number is 1-80 characters", code="tracking_number")
    if replaces is not None and replaces.order_id != order.pk:
        raise ValidationError("the replaced parcel belongs to another order", code="replaces")
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
        record_order_event(
            locked,
            "parcel_added",
            actor=actor,
            tracking_number=number,
            carrier=carrier,
            reshipment=reshipment,
            replaces=replaces.pk if replaces else None,
        )
        if reshipment:
            _flag_and_save(locked, OrderFlag.RESHIPMENT, actor=actor)
            _flag_and_save(locked, OrderFlag.SEND_NEW_TRACKING, actor=actor)
        elif Parcel.objects.filter(order=locked, is_reshipment=False).count() > 1:
            _flag_and_save(locked, OrderFlag.SPLIT, actor=actor)
        if locked.status == OrderStatus.PAID:
            late = locked.ship_by is not None and now > locked.ship_by
            locked.status = OrderStatus.SHIPPED
            locked.shipped_at = now
            locked.save(update_fields=["status", "shipped_at", "updated_at"])
            record_order_event(
                locked,
                "status_changed",
                actor=actor,
                before=OrderStatus.PAID,
                after=OrderStatus.SHIPPED,
                reason="parcel_added",
                late=late,
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
        record_order_event(locked, "flag_cleared", actor=actor, flag=flag)
    order.refresh_from_db()
    return True


# --- jobs: payment reminders (R-16) ----------------------------------------------------------


def send_payment_reminders(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Remind buyers of unpaid orders once, after the delay, never in the shop's quiet hours.

    The claim is a conditional UPDATE on `payment_reminded_at` in the same transaction as
    the message and its outbox row: two runs at once send one reminder.
    """
    now = now or timezone.now()
    settings_ = order_settings(shop=shop)
    if not settings_.payment_reminder_enabled:
        return 0
    if in_quiet_hours(
        moment=now,
        timezone_name=shop.timezone,
        start=settings_.quiet_start,
        end=settings_.quiet_end,
    ):
        return 0
    due_before = now - dt.timedelta(minutes=settings_.payment_reminder_delay_minutes)
    too_old = now - dt.timedelta(hours=settings_.payment_reminder_max_age_hours)
    candidates = list(
        Order.objects.filter(
            shop=shop,
            status=OrderStatus.PLACED,
            paid_at__isnull=True,
            payment_reminded_at__isnull=True,
            placed_at__lte=due_before,
            placed_at__gte=too_old,
        ).values_list("pk", flat=True)[:500]
    )
    sent = 0
    for order_id in candidates:
        if _remind_order(shop=shop, order_id=order_id, now=now):
            sent += 1
    return sent


def _remind_order(*, shop: Shop, order_id: int, now: dt.datetime) -> bool:
    from kefu.conversations.outbound import conversation_for_outreach, send_system_message

    with transaction.atomic():
        claimed = Order.objects.filter(
            pk=order_id, shop=shop, status=OrderStatus.PLACED, payment_reminded_at__isnull=True
        ).update(payment_reminded_at=now)
        if not claimed:
            return False
        order = Order.objects.select_related("buyer").get(pk=order_id)
        conversation = conversation_for_outreach(
            shop=shop, buyer=order.buyer, group=ServiceGroup.PRE_SALE
        )
        language = buyer_texts.buyer_language(language=order.buyer.language, shop=shop)
        text = buyer_texts.render(
            buyer_texts.PAYMENT_REMINDER,
            language=language,
            name=order.buyer.name or order.receiver_name or "",
            order=order.external_id,
        )
        message = send_system_message(
            conversation=conversation,
            text=text,
            automation="payment_reminder",
            dedupe_key=f"payment-reminder:{order.pk}",
            payload={"order_id": order.pk, "order_external_id": order.external_id},
        )
        record_order_event(
            order,
            "payment_reminded",
            conversation_id=conversation.pk,
            message_id=message.pk if message else None,
            language=language,
        )
    log.info("payment_reminder_sent shop=%s order=%s", shop.pk, order_id)
    return message is not None


# --- jobs: late-shipment risk (R-17) ---------------------------------------------------------


@dataclass(frozen=True)
class ScanResult:
    at_risk: int
    missed: int


def scan_late_shipments(*, shop: Shop, now: dt.datetime | None = None) -> ScanResult:
    """Record paid, unshipped orders past their ship-by (once each, with the penalty)."""
    from kefu.orders.selectors import risk_board

    now = now or timezone.now()
    settings_ = order_settings(shop=shop)
    rule = penalty_rule(settings_)
    board = risk_board(shop=shop, now=now)
    missed = 0
    for row in board:
        if not row.missed:
            continue
        order = row.order
        with transaction.atomic():
            try:
                with transaction.atomic():
                    LateShipment.objects.create(
                        shop=shop,
                        order=order,
                        ship_by=order.ship_by or now,
                        penalty=late_shipment_penalty(
                            amount=order.paid_amount or order.total_amount,
                            currency=order.currency,
                            rule=rule,
                        ),
                        currency=order.currency,
                        recorded_at=now,
                    )
            except IntegrityError:
                continue
            _flag_and_save(order, OrderFlag.LATE_SHIPMENT)
            record_order_event(
                order,
                "ship_by_missed",
                ship_by=(order.ship_by or now).isoformat(),
                penalty=str(row.exposure),
                currency=order.currency,
            )
        missed += 1
    return ScanResult(at_risk=sum(1 for r in board if not r.missed), missed=missed)


# --- jobs: stalled parcels and parcels waiting for pickup (R-18) -----------------------------


def alert_parcels(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Note stalled parcels and parcels waiting for pickup on the buyer's after-sale conversation.

    One alert per parcel, kind and episode (`since` = the parcel's last news), claimed by an
    insert of the alert row in the same transaction as the note.
    """
    from kefu.orders.selectors import parcels_needing_alerts

    now = now or timezone.now()
    created = 0
    for parcel, kind in parcels_needing_alerts(shop=shop, now=now):
        if _alert_parcel(shop=shop, parcel=parcel, kind=kind, now=now):
            created += 1
    return created


def suggested_holding_message(*, shop: Shop, parcel: Parcel, kind: str, now: dt.datetime) -> str:
    settings_ = order_settings(shop=shop)
    buyer = parcel.order.buyer
    language = buyer_texts.buyer_language(language=buyer.language, shop=shop)
    days = max(0, (now - parcel.quiet_since).days)
    table = (
        buyer_texts.PICKUP_HOLDING
        if kind == ParcelAlertKind.PICKUP
        else buyer_texts.STALLED_HOLDING
    )
    return buyer_texts.render(
        table,
        language=language,
        name=buyer.name or parcel.order.receiver_name or "",
        number=parcel.tracking_number,
        carrier=parcel.carrier or "-",
        days=days,
        link=tracking_url(
            templates=settings_.tracking_url_templates,
            carrier=parcel.carrier,
            number=parcel.tracking_number,
        ),
    )


def _alert_parcel(*, shop: Shop, parcel: Parcel, kind: str, now: dt.datetime) -> bool:
    from kefu.conversations.outbound import conversation_for_outreach
    from kefu.conversations.state import add_internal_note

    suggestion = suggested_holding_message(shop=shop, parcel=parcel, kind=kind, now=now)
    try:
        with transaction.atomic():
            alert = ParcelAlert.objects.create(
                shop=shop,
                parcel=parcel,
                kind=kind,
                since=parcel.quiet_since,
                created_at=now,
                suggested_reply=suggestion,
            )
            conversation = conversation_for_outreach(
                shop=shop, buyer=parcel.order.buyer, group=ServiceGroup.AFTER_SALE
            )
            days = max(0, (now - parcel.quiet_since).days)
            headline = (
                f"Parcel {parcel.tracking_number} is waiting for pickup 待取件"
                if kind == ParcelAlertKind.PICKUP
                else f"Parcel {parcel.tracking_number}: no tracking update for {days} days 物流停滞"
            )
            add_internal_note(
                conversation=conversation,
                text=(
                    f"{headline} (order {parcel.order.external_id}). Suggested reply: {suggestion}"
                ),
                data={
                    "alert": f"parcel_{kind}",
                    "order_id": parcel.order_id,
                    "parcel_id": parcel.pk,
                    "tracking_number": parcel.tracking_number,
                    "suggested_reply": suggestion,
                },
            )
            alert.conversation_id = conversation.pk
            alert.save(update_fields=["conversation_id"])
            record_order_event(
                parcel.order,
                f"parcel_{kind}_alert",
                parcel_id=parcel.pk,
                conversation_id=conversation.pk,
            )
    except IntegrityError:
        return False
    return True


# --- incidents (R-19) ------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentCriteria:
    carrier: str = ""
    region: str = ""
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    statuses: tuple[str, ...] = (OrderStatus.PAID, OrderStatus.SHIPPED)

    def as_json(self) -> dict[str, Any]:
        return {
            "carrier": self.carrier,
            "region": self.region,
            "placed_from": self.placed_from.isoformat() if self.placed_from else None,
            "placed_to": self.placed_to.isoformat() if self.placed_to else None,
            "statuses": list(self.statuses),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IncidentCriteria:
        return cls(
            carrier=data.get("carrier") or "",
            region=data.get("region") or "",
            placed_from=dt.date.fromisoformat(data["placed_from"])
            if data.get("placed_from")
            else None,
            placed_to=dt.date.fromisoformat(data["placed_to"]) if data.get("placed_to") else None,
            statuses=tuple(data.get("statuses") or ()),
        )


def create_incident_broadcast(
    *, actor: User, title: str, text: str, criteria: IncidentCriteria
) -> IncidentBroadcast:
    """The owner's holding message for the buyers of the selected orders; sent by a task."""
    if not (actor.is_owner or has_capability(actor, Capability.CREATE_CAMPAIGNS)):
        raise PermissionDenied("only the main account broadcasts to buyers")
    if not text.strip() or not title.strip():
        raise ValidationError("a broadcast needs a title and a message", code="empty")
    if not (criteria.carrier or criteria.region or criteria.placed_from or criteria.placed_to):
        raise ValidationError(
            "choose the affected orders by carrier, region or date", code="no_criteria"
        )
    unknown = set(criteria.statuses) - set(OrderStatus.values)
    if unknown:
        raise ValidationError(f"unknown statuses: {', '.join(sorted(unknown))}", code="status")
    return IncidentBroadcast.objects.create(
        shop=shop_of(actor),
        title=title.strip()[:120],
        text=text.strip(),
        criteria=criteria.as_json(),
        created_by=actor,
        created_at=timezone.now(),
    )


def deliver_incident_broadcast(*, broadcast: IncidentBroadcast) -> int:
    """Send the broadcast to each affected buyer once (safe to run again or concurrently)."""
    from kefu.conversations.outbound import conversation_for_outreach, send_system_message
    from kefu.orders.selectors import incident_orders

    shop = broadcast.shop
    criteria = IncidentCriteria.from_json(broadcast.criteria)
    sent = 0
    for order in incident_orders(shop=shop, criteria=criteria):
        try:
            with transaction.atomic():
                recipient = IncidentRecipient.objects.create(
                    shop=shop,
                    broadcast=broadcast,
                    buyer_id=order.buyer_id,
                    order=order,
                    created_at=timezone.now(),
                )
                conversation = conversation_for_outreach(
                    shop=shop, buyer=order.buyer, group=ServiceGroup.AFTER_SALE
                )
                message = send_system_message(
                    conversation=conversation,
                    text=broadcast.text,
                    automation="incident",
                    dedupe_key=f"incident:{broadcast.pk}:buyer:{order.buyer_id}",
                    payload={"broadcast_id": broadcast.pk, "order_id": order.pk},
                )
                recipient.message_id = message.pk if message else None
                recipient.save(update_fields=["message_id"])
                record_order_event(order, "incident_notified", broadcast_id=broadcast.pk)
        except IntegrityError:
            continue
        sent += 1
    IncidentBroadcast.objects.filter(pk=broadcast.pk).update(
        finished_at=timezone.now(),
        recipient_count=IncidentRecipient.objects.filter(broadcast=broadcast).count(),
    )
    return sent


def shops_with_orders() -> Iterable[Shop]:
    """Shops a scheduled job walks: those that have any order (unscoped on purpose: a job)."""
    return Shop.objects.filter(pk__in=Order.objects.values("shop_id").distinct()).order_by("pk")


# --- imports (R-15) --------------------------------------------------------------------------

IMPORT_CHUNK = 1000
MAX_REJECTIONS_KEPT = 200


@dataclass
class ImportSummary:
    file_format: str = ""
    encoding: str = ""
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejections: list[tuple[int, str]] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)

    def reject(self, row: int, reason: str) -> None:
        self.rejected += 1
        if len(self.rejections) < MAX_REJECTIONS_KEPT:
            self.rejections.append((row, reason))


ProgressCallback = Any  # Callable[[int, int, ImportSummary], None]


class _CreatedOrders:
    """The ids of the orders an import created: a later row of one of them counts as neither
    updated nor unchanged. Kept as a sorted array of 8-byte ints, because a set of order-id
    strings grew by ~100 bytes per order; new ids come from the database's sequence, so
    they arrive in order and are appended."""

    def __init__(self) -> None:
        self._ids = array("q")

    def add(self, order_id: int) -> None:
        if not self._ids or order_id > self._ids[-1]:
            self._ids.append(order_id)
        else:
            bisect.insort(self._ids, order_id)

    def __contains__(self, order_id: int) -> bool:
        at = bisect.bisect_left(self._ids, order_id)
        return at < len(self._ids) and self._ids[at] == order_id


def import_orders(
    *,
    shop: Shop,
    path: Any,
    file_format: str | None = None,
    overrides: dict[str, str] | None = None,
    progress: ProgressCallback = None,
    chunk_size: int = IMPORT_CHUNK,
) -> ImportSummary:
    """Import a seller-centre export, streaming: memory stays flat whatever the file size
    (but for 8 bytes per created order, to count an order whose rows span chunks once).

    A bad row is rejected with its row number and reason; good rows are stored in chunks of
    `chunk_size` (one transaction each). Raises `ImportFileError` / `MappingError` when the
    file as a whole cannot be read; nothing is stored then.
    """
    from pathlib import Path

    from kefu.orders.importers.mapping import (
        ColumnMap,
        RowContext,
        RowError,
        build_column_map,
        record_to_input,
    )
    from kefu.orders.importers.readers import open_source

    source = open_source(Path(path), wanted_format=file_format)
    summary = ImportSummary(file_format=source.file_format, encoding=source.encoding)
    ctx = RowContext(
        tz=__import__("zoneinfo").ZoneInfo(shop.timezone), default_currency=shop.currency
    )
    columns: ColumnMap | None = None
    pending: list[OrderInput] = []
    created = _CreatedOrders()
    assert source.rows is not None  # noqa: S101 - open_source sets it

    def flush() -> None:
        if not pending:
            return
        groups = group_inputs(pending)
        for outcome in _upsert_or_isolate(shop=shop, groups=groups, summary=summary):
            if outcome.outcome == "created":
                summary.created += 1
                created.add(outcome.order_id)
            elif outcome.order_id in created:
                continue  # more rows of an order this file created: still one created order
            elif outcome.outcome == "updated":
                summary.updated += 1
            else:
                summary.unchanged += 1
        pending.clear()
        if progress is not None:
            progress(source.progress.done, source.progress.total, summary)

    for row, record, problem in source.rows:
        if record is not None and "__headers__" in record:
            columns = build_column_map(record["__headers__"], overrides)
            summary.unknown_columns = columns.unknown
            summary.columns = dict(columns.by_header)
            continue
        summary.rows += 1
        if record is None:
            summary.reject(row, problem)
            continue
        try:
            pending.append(record_to_input(record, columns, row=row, ctx=ctx))
        except RowError as exc:
            summary.reject(row, str(exc))
            continue
        if len(pending) >= chunk_size:
            flush()
    flush()
    if progress is not None:
        progress(source.progress.total, source.progress.total, summary)
    log.info(
        "orders_imported shop=%s format=%s rows=%s created=%s updated=%s rejected=%s",
        shop.pk,
        summary.file_format,
        summary.rows,
        summary.created,
        summary.updated,
        summary.rejected,
    )
    return summary


def _upsert_or_isolate(
    *, shop: Shop, groups: list[tuple[OrderInput, list[OrderInput]]], summary: ImportSummary
) -> list[UpsertOutcome]:
    """Upsert a chunk's orders; if the database refuses the chunk, halve it until the refused
    orders are found and reject their rows with the database's reason. The good orders are
    stored, and one bad order costs about 2·log2(chunk) extra transactions, not one per order.
    """
    from django.db import DatabaseError

    inputs = [inp for _, group in groups for inp in group]
    try:
        return upsert_orders(shop=shop, inputs=inputs, source=OrderSource.IMPORT)
    except DatabaseError as exc:
        if len(groups) == 1:
            for inp in inputs:
                summary.reject(inp.row or 0, f"the database refused the order: {exc}"[:200])
            return []
        log.warning("orders_chunk_failed shop=%s size=%s; isolating rows", shop.pk, len(groups))
    half = len(groups) // 2
    return _upsert_or_isolate(
        shop=shop, groups=groups[:half], summary=summary
    ) + _upsert_or_isolate(shop=shop, groups=groups[half:], summary=summary)


def import_orders_for_run(*, run: ImportRun) -> ImportSummary:
    """An upload's import: the run's counters follow each chunk so the page can show them.

    A file-level problem (not a spreadsheet, no order-id column) fails the run with that
    sentence; nothing is stored then.
    """
    from kefu.orders.importers.mapping import MappingError
    from kefu.orders.importers.readers import ImportFileError

    def progress(done: int, total: int, summary: ImportSummary) -> None:
        ImportRun.objects.filter(pk=run.pk).update(
            done_bytes=done,
            total_bytes=total,
            rows=summary.rows,
            created=summary.created,
            updated=summary.updated,
            unchanged=summary.unchanged,
            rejected=summary.rejected,
        )

    try:
        summary = import_orders(
            shop=run.shop,
            path=run.path,
            file_format=run.file_format or None,
            overrides=run.mapping or None,
            progress=progress,
        )
    except (ImportFileError, MappingError) as exc:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        return ImportSummary()
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.DONE,
        file_format=summary.file_format,
        rows=summary.rows,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
        rejected=summary.rejected,
        finished_at=timezone.now(),
        rejections=[{"row": r, "reason": why} for r, why in summary.rejections],
    )
    return summary


def start_import(
    *,
    actor: User,
    filename: str,
    data: Any,
    mapping: dict[str, str] | None = None,
    file_format: str | None = None,
) -> ImportRun:
    """Store an uploaded export and queue its import (owner or settings-granted sub-account).

    `data` is an iterable of byte chunks (an UploadedFile's `chunks()`); it is written to
    KEFU_DATA_DIR/imports and deleted after the import.
    """
    import uuid

    from django.conf import settings as django_settings

    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    folder = django_settings.DATA_DIR / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{shop.pk}-{uuid.uuid4().hex}"
    size = 0
    with target.open("wb") as out:
        for chunk in data:
            size += len(chunk)
            out.write(chunk)
    run = ImportRun.objects.create(
        shop=shop,
        filename=filename[:255],
        path=str(target),
        file_format=file_format or "",
        mapping=mapping or {},
        total_bytes=size,
        created_by=actor,
    )
    from kefu.orders.tasks import run_import

    language = translation.get_language() or ""
    transaction.on_commit(lambda: run_import.delay(run.pk, language))
    return run
