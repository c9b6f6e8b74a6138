"""Giving a conversation to an agent (R-03): the writes behind routing's choice.

Callers hold the conversation row locked (``select_for_update``) in their transaction.
"""

from __future__ import annotations

from django.utils import timezone

from kefu.accounts.models import User
from kefu.conversations import events, load
from kefu.conversations.models import AgentPresence, Conversation
from kefu.conversations.routing import choose_agent


def is_available(user: User) -> bool:
    # Intake selects the assignee's presence with the conversation; other callers query it.
    try:
        presence: AgentPresence | None = user.presence
    except AgentPresence.DoesNotExist:
        presence = None
    return bool(
        user.is_active
        and presence is not None
        and presence.is_online
        and presence.status == "available"
    )


def route_conversation(
    conv: Conversation, *, reason_prefix: str = "", exclude_user_id: int | None = None
) -> None:
    """Assign to the agent routing chooses, or leave it waiting when nobody is online."""
    agent, reason = choose_agent(
        shop=conv.shop, group=conv.group, product=conv.product, exclude_user_id=exclude_user_id
    )
    previous = conv.assignee
    if agent is None:
        if previous is not None:
            conv.assignee = None
            conv.save(update_fields=["assignee"])
            load.moved(conv, previous_id=previous.pk, agent_id=None)
            events.conversation_unassigned(conv, previous=previous, reason=reason_prefix + reason)
        return
    assign_to(conv, agent, reason=reason_prefix + reason, previous=previous)


def assign_to(
    conv: Conversation,
    agent: User,
    *,
    reason: str,
    previous: User | None,
    actor: User | None = None,
) -> None:
    previous_id = conv.assignee_id
    conv.assignee = agent
    conv.save(update_fields=["assignee"])
    load.moved(conv, previous_id=previous_id, agent_id=agent.pk)
    AgentPresence.objects.filter(user=agent).update(last_assigned_at=timezone.now())
    events.agent_assigned(conv, agent, reason=reason, previous=previous, actor=actor)
