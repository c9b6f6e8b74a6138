"""Human labels for timeline events."""

from __future__ import annotations

from django import template

from kefu.conversations.models import EventKind

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
