"""Incident broadcasts (R-19): the owner's holding message to the buyers of the orders a
carrier or regional incident affects, sent by a task to each buyer once."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import ServiceGroup, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.automation.saved_texts import guard_saved_texts
from kefu.conversations.outbound import conversation_for_outreach, send_system_message
from kefu.orders import events
from kefu.orders.models import IncidentBroadcast, IncidentRecipient, OrderStatus
from kefu.orders.selectors import IncidentCriteria, incident_orders


def create_incident_broadcast(
    *, actor: User, title: str, text: str, criteria: IncidentCriteria
) -> IncidentBroadcast:
    """The owner's holding message for the buyers of the selected orders; sent by a task."""
    if not (actor.is_owner or has_capability(actor, Capability.CREATE_CAMPAIGNS)):
        raise PermissionDenied("only the main account broadcasts to buyers")
    if not text.strip() or not title.strip():
        raise ValidationError(_("a broadcast needs a title and a message"), code="empty")
    # Refused here, where the owner can reword it, rather than blocked per buyer at delivery.
    guard_saved_texts(actor=actor, texts=[("message", text)], source="system")
    if not (criteria.carrier or criteria.region or criteria.placed_from or criteria.placed_to):
        raise ValidationError(
            _("choose the affected orders by carrier, region or date"), code="no_criteria"
        )
    unknown = set(criteria.statuses) - set(OrderStatus.values)
    if unknown:
        raise ValidationError(f"unknown statuses: {', '.join(sorted(unknown))}", code="status")
    shop = shop_of(actor)
    # A broadcast that reaches nobody is a mistake in the criteria, not a message to queue.
    if not incident_orders(shop=shop, criteria=criteria).exists():
        raise ValidationError(_("no order matches the criteria"), code="no_orders")
    return IncidentBroadcast.objects.create(
        shop=shop,
        title=title.strip()[:120],
        text=text.strip(),
        criteria=criteria.as_json(),
        created_by=actor,
        created_at=timezone.now(),
    )


def deliver_incident_broadcast(*, broadcast: IncidentBroadcast) -> int:
    """Send the broadcast to each affected buyer once (safe to run again or concurrently)."""
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
                events.incident_notified(order, broadcast_id=broadcast.pk)
        except IntegrityError:
            continue
        sent += 1
    IncidentBroadcast.objects.filter(pk=broadcast.pk).update(
        finished_at=timezone.now(),
        recipient_count=IncidentRecipient.objects.filter(broadcast=broadcast).count(),
    )
    return sent
