"""Human labels for timeline events."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

from kefu.conversations.models import DeliveryReason, EventKind
from kefu.conversations.selectors import AgentState

register = template.Library()


@register.filter
def event_label(kind: str) -> str:
    if kind in EventKind.values:
        return str(EventKind(kind).label)
    return kind.replace("_", " ")


@register.filter
def order_state_label(state: str) -> str:
    """The reply box's order state (`kefu.automation.suggest.ORDER_STATES`) as agents read it."""
    from kefu.automation.suggest import ORDER_STATES

    return str(ORDER_STATES.get(state, state.replace("_", " ")))


@register.filter
def delivery_reason_label(reason: str) -> str:
    """Why a message is not delivered, as a seller reads it (a reason code otherwise)."""
    if reason in DeliveryReason.values:
        return str(DeliveryReason(reason).label)
    return reason.replace("_", " ")


@register.filter
def agent_state_label(state: str) -> str:
    """Where a colleague is, beside its name in the assign control."""
    return {
        AgentState.AT_INBOX: _("at the inbox"),
        AgentState.NOT_TAKING: _("not taking new chats"),
        AgentState.AWAY: _("away"),
        AgentState.OFFLINE: _("offline"),
    }.get(AgentState(state), state)
