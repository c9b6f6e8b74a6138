"""Human labels for timeline events."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

EVENT_LABELS = {
    "created": _("Conversation started"),
    "assigned": _("Assigned"),
    "reassigned": _("Reassigned"),
    "unassigned": _("Unassigned"),
    "reopened": _("Reopened"),
    "resolved": _("Resolved"),
    "message_received": _("Buyer wrote"),
    "reply_sent": _("Reply sent"),
    "auto_message": _("Automatic message"),
    "note": _("Note"),
    "delivery_failed": _("Delivery attempt failed"),
    "marked": _("Marked"),
    "unmarked": _("Mark cleared"),
    "mark_duty_done": _("Mark duty done"),
    "order_chosen": _("Order chosen"),
}


@register.filter
def event_label(kind: str) -> str:
    return str(EVENT_LABELS.get(kind, kind.replace("_", " ")))


# The reply box's order states (kefu.automation.suggest.ORDER_STATES) as agents read them.
ORDER_STATE_LABELS = {
    "unpaid": _("Unpaid"),
    "awaiting_shipment": _("Paid, to ship"),
    "shipped_late": _("Shipped late"),
    "oversold": _("Out of stock"),
    "info_received": _("Info received"),
    "in_transit": _("In transit"),
    "stalled": _("Stalled"),
    "at_customs": _("At customs"),
    "available_for_pickup": _("Waiting for pickup"),
    "out_for_delivery": _("Out for delivery"),
    "delivery_failed": _("Delivery attempt failed"),
    "split_parcels": _("Split into several parcels"),
    "delivered": _("Delivered"),
    "refund_pending": _("Refund in progress"),
    "refunded": _("Refunded"),
}


@register.filter
def order_state_label(state: str) -> str:
    return str(ORDER_STATE_LABELS.get(state, state.replace("_", " ")))
