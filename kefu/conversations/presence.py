"""Who is online to take conversations (R-03, R-19), and moving work when someone leaves.

Online means a heartbeat (login, socket connect, pings) within the grace period; socket counts
are kept but not trusted (decisions §7).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.conversations.assignment import assign_to, route_conversation
from kefu.conversations.models import AgentPresence, Conversation, ConversationStatus
from kefu.conversations.routing import ACTIVE, choose_agent

log = logging.getLogger("kefu.conversations")


def _presence(user: User) -> AgentPresence:
    presence, _ = AgentPresence.objects.get_or_create(user=user, defaults={"shop_id": user.shop_id})
    return presence


def agent_seen(*, user: User) -> None:
    """A login, socket or heartbeat: the agent is online; waiting conversations may flow to it."""
    if user.shop_id is None or not user.is_active:
        return
    presence = _presence(user)
    came_online = not presence.is_online
    AgentPresence.objects.filter(pk=presence.pk).update(is_online=True, last_seen_at=timezone.now())
    if came_online:
        assign_waiting_conversations(shop=user.shop)


def agent_socket_opened(*, user: User) -> None:
    if user.shop_id is None:
        return
    _presence(user)
    AgentPresence.objects.filter(user=user).update(socket_count=F("socket_count") + 1)
    agent_seen(user=user)


def agent_socket_closed(*, user: User) -> None:
    """A closed socket is not yet offline: a network drop gets the grace period to come back."""
    AgentPresence.objects.filter(user=user, socket_count__gt=0).update(
        socket_count=F("socket_count") - 1, last_seen_at=timezone.now()
    )


def set_availability(*, user: User, status: str) -> None:
    if status not in ("available", "away"):
        raise ValidationError("status is available or away", code="status")
    presence = _presence(user)
    AgentPresence.objects.filter(pk=presence.pk).update(status=status)
    if status == "away":
        agent_went_offline(agent=user, reason="away", keep_online=True)
    else:
        agent_seen(user=user)
        assign_waiting_conversations(shop=user.shop)


def agent_went_offline(*, agent: User, reason: str, keep_online: bool = False) -> int:
    """Move the agent's live conversations to colleagues who are online (R-19)."""
    moved = 0
    with transaction.atomic():
        if not keep_online:
            AgentPresence.objects.filter(user=agent).update(is_online=False, socket_count=0)
        convs = list(
            Conversation.objects.select_for_update(of=("self",))
            .filter(shop=agent.shop, assignee=agent, status__in=ACTIVE)
            .select_related("shop", "product", "assignee")
        )
        for conv in convs:
            route_conversation(conv, reason_prefix=f"{reason}_", exclude_user_id=agent.pk)
            moved += 1
    if moved:
        log.info("agent_offline_reassigned agent=%s reason=%s moved=%d", agent.pk, reason, moved)
    return moved


def reassign_offline_agents(*, now: datetime | None = None) -> int:
    """Agents silent past the grace period are offline; their conversations move on."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.KEFU_PRESENCE_GRACE_SECONDS)
    stale = list(
        AgentPresence.objects.filter(is_online=True, last_seen_at__lt=cutoff).select_related("user")
    )
    total = 0
    for presence in stale:
        total += agent_went_offline(agent=presence.user, reason="offline")
    return total


def assign_waiting_conversations(*, shop: Shop | None = None) -> int:
    """Give unassigned live conversations to agents who are online now."""
    qs = Conversation.objects.filter(assignee__isnull=True, status=ConversationStatus.OPEN)
    if shop is not None:
        qs = qs.filter(shop=shop)
    assigned = 0
    for conv_id in list(qs.order_by("last_message_at").values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            conv = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("shop", "product")
                .filter(pk=conv_id, assignee__isnull=True)
                .first()
            )
            if conv is None:
                continue
            agent, reason = choose_agent(shop=conv.shop, group=conv.group, product=conv.product)
            if agent is None:
                continue
            assign_to(conv, agent, reason="waiting_" + reason, previous=None)
            assigned += 1
    return assigned
