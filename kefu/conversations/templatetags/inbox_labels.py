"""Human labels for timeline events."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


# What sent an automatic message (`payload.automation`), as the timeline and the inbox say it.
AUTOMATION_LABELS = {
    "welcome": gettext_lazy("welcome reply"),
    "out_of_hours": gettext_lazy("out-of-hours reply"),
    "keyword": gettext_lazy("keyword reply"),
    "payment_reminder": gettext_lazy("payment reminder"),
    "ask_to_pay": gettext_lazy("duty payment request"),
    "incident": gettext_lazy("incident notice"),
    "invitation": gettext_lazy("chat invitation"),
}

# Why a conversation went to an agent or came back (`ConversationEvent.data.reason`). A
# reason is a choice, sometimes after the cause of a move: "offline_least_busy" is "the
# agent went offline" then "least busy agent".
ROUTING_CAUSES = {
    "offline": gettext_lazy("the agent went offline"),
    "away": gettext_lazy("the agent stepped away"),
    "logout": gettext_lazy("the agent logged out"),
    "disabled": gettext_lazy("the agent's login was disabled"),
    "waiting": gettext_lazy("was waiting for an agent"),
}
ROUTING_CHOICES = {
    "product_owner": gettext_lazy("handles this product"),
    "least_busy": gettext_lazy("least busy agent"),
    "no_agent_online": gettext_lazy("no agent online"),
    "manual": gettext_lazy("assigned by hand"),
    "replied": gettext_lazy("answered the buyer"),
    "buyer_message": gettext_lazy("the buyer wrote again"),
    "agent_reply": gettext_lazy("an agent replied"),
    "agent": gettext_lazy("reopened by an agent"),
    "outreach": gettext_lazy("the shop wrote first"),
    "invitation": gettext_lazy("the buyer accepted a chat invitation"),
}


@register.filter
def automation_label(automation: str) -> str:
    label = AUTOMATION_LABELS.get(automation)
    return str(label) if label is not None else automation.replace("_", " ")


@register.filter
def routing_reason_label(reason: str) -> str:
    parts: list[str] = []
    rest = reason
    while True:
        cause = next((c for c in ROUTING_CAUSES if rest.startswith(c + "_")), None)
        if cause is None:
            break
        parts.append(str(ROUTING_CAUSES[cause]))
        rest = rest[len(cause) + 1 :]
    if rest in ROUTING_CHOICES:
        parts.append(str(ROUTING_CHOICES[rest]))
    elif rest in ROUTING_CAUSES:
        parts.append(str(ROUTING_CAUSES[rest]))
    else:
        parts.append(rest.replace("_", " "))
    return " · ".join(parts)
