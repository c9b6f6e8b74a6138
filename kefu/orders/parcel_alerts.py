"""Parcel alerts (R-18): a stalled parcel or one waiting for pickup becomes a note, with a
suggested reply, on the buyer's after-sale conversation, once per parcel, kind and episode."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.accounts.models import ServiceGroup, Shop
from kefu.conversations.outbound import conversation_for_outreach
from kefu.conversations.state import add_internal_note
from kefu.orders import buyer_texts, events
from kefu.orders.config import order_settings
from kefu.orders.models import Parcel, ParcelAlert, ParcelAlertKind
from kefu.orders.rules import tracking_url
from kefu.orders.selectors import parcels_needing_alerts


def alert_parcels(*, shop: Shop, now: dt.datetime | None = None) -> int:
    """Note stalled parcels and parcels waiting for pickup on the buyer's after-sale conversation.

    One alert per parcel, kind and episode (`since` = the parcel's last news), claimed by an
    insert of the alert row in the same transaction as the note.
    """
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
            noted = (
                events.parcel_pickup_alert
                if kind == ParcelAlertKind.PICKUP
                else events.parcel_stalled_alert
            )
            noted(parcel.order, parcel_id=parcel.pk, conversation_id=conversation.pk)
    except IntegrityError:
        return False
    return True
