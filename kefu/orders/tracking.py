"""Carrier tracking: store a parcel's events once each, and move the parcel and its order on
(the purple ask-to-pay duty when a parcel refunded in a logistics dispute arrives after all)."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.orders import events as order_events
from kefu.orders.actions import add_flag
from kefu.orders.models import (
    Order,
    OrderFlag,
    OrderStatus,
    Parcel,
    Refund,
    TrackingEvent,
    TrackingStatus,
)
from kefu.orders.statuses import map_tracking_status


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
            order_events.parcel_added(order, tracking_number=tracking_number, carrier=carrier)
            if Parcel.objects.filter(order=order, is_reshipment=False).count() > 1:
                add_flag(order=order, flag=OrderFlag.SPLIT)
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
                order_events.parcel_status(
                    parcel.order,
                    parcel_id=parcel.pk,
                    tracking_number=parcel.tracking_number,
                    before=before,
                    after=parcel.status,
                )
            _advance_order_from_parcels(parcel.order, parcel, now=now)
        outcome.order_status_after = parcel.order.status
    return outcome


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
        order_events.status_changed(order, before=old, after=order.status, reason="tracking")
    # Purple duty: refunded in a logistics dispute, and the parcel arrived after all.
    if (
        parcel.status == TrackingStatus.DELIVERED
        and OrderFlag.LOGISTICS_DISPUTE_REFUND in order.flags
        and Refund.objects.filter(
            order=order, logistics_dispute=True, created_at__lte=parcel.delivered_at or now
        ).exists()
    ):
        add_flag(order=order, flag=OrderFlag.ASK_BUYER_TO_PAY)
