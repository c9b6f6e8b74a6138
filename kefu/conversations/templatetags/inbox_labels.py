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


@register.filter
def order_state_label(state: str) -> str:
    """The reply box's order state (`kefu.automation.suggest.ORDER_STATES`) as agents read it."""
    from kefu.automation.suggest import ORDER_STATES

    return str(ORDER_STATES.get(state, state.replace("_", " ")))
