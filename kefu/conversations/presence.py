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
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.conversations import load
from kefu.conversations.assignment import assign_to, route_conversation
from kefu.conversations.models import AgentPresence, Conversation, ConversationStatus
from kefu.conversations.routing import ACTIVE, choose_agent

log = logging.getLogger("kefu.conversations")


def _presence(user: User) -> AgentPresence:
    presence = AgentPresence.objects.filter(user=user).first()
    if presence is None:
        # Assignments made before the agent's first presence shifted no counter: start true.
        presence, _created = AgentPresence.objects.get_or_create(
            user=user, defaults={"shop_id": user.shop_id, "open_load": load.true_load(user.pk)}
        )
    return presence


def agent_seen(*, user: User) -> None:
    """A login, socket or heartbeat: the agent is online; waiting conversations may flow to it."""
    if user.shop_id is None or not user.is_active:
        return
    presence = _presence(user)
    came_online = not presence.is_online
    AgentPresence.objects.filter(pk=presence.pk).update(is_online=True, last_seen_at=timezone.now())
    if came_online:
        _queue_assign_waiting(user.shop_id)


def agent_socket_opened(*, user: User) -> None:
    """The inbox is open: with its first socket the agent can be routed new chats, so the
    waiting ones may come to it."""
    if user.shop_id is None:
        return
    first = _presence(user).socket_count <= 0
    AgentPresence.objects.filter(user=user).update(socket_count=F("socket_count") + 1)
    agent_seen(user=user)
    if first:
        _queue_assign_waiting(user.shop_id)


def agent_socket_closed(*, user: User) -> None:
    """A closed socket is not yet offline: a network drop gets the grace period to come back."""
    AgentPresence.objects.filter(user=user, socket_count__gt=0).update(
        socket_count=F("socket_count") - 1, last_seen_at=timezone.now()
    )


def set_availability(*, user: User, status: str) -> None:
    """Available or away. New chats follow at once (routing reads the status); the agent's
    open conversations move, or waiting ones arrive, in the worker: with thousands of them
    that is seconds of work no request should wait for."""
    if status not in ("available", "away"):
        raise ValidationError(_("status is available or away"), code="status")
    presence = _presence(user)
    AgentPresence.objects.filter(pk=presence.pk).update(status=status)
    if status == "away":
        _queue_move(user, "away")
    else:
        AgentPresence.objects.filter(pk=presence.pk).update(
            is_online=True, last_seen_at=timezone.now()
        )
        _queue_assign_waiting(user.shop_id)


def set_takes_new_chats(*, user: User, takes: bool) -> None:
    """Whether routing may give this login new chats (the main account starts opted out).
    Opting out keeps the chats it holds; opting in may bring waiting ones."""
    if user.takes_new_chats == takes:
        return
    user.takes_new_chats = takes
    user.save(update_fields=["takes_new_chats"])
    if takes:
        _queue_assign_waiting(user.shop_id)


def agent_went_offline(*, agent: User, reason: str) -> None:
    """Logout or a disabled login: no new chats from now on; its live conversations move to
    colleagues who are online (R-19) in the worker."""
    AgentPresence.objects.filter(user=agent).update(is_online=False, socket_count=0)
    _queue_move(agent, reason)


def _queue_move(agent: User, reason: str) -> None:
    agent_id = agent.pk
    transaction.on_commit(lambda: _enqueue_move(agent_id, reason))


def _enqueue_move(agent_id: int, reason: str) -> None:
    # The task module imports this one: resolved at call time to keep the import one-way.
    from kefu.conversations.tasks import move_conversations_of_absent_agent

    try:
        move_conversations_of_absent_agent.delay(agent_id, reason)
    except Exception:  # the broker is down: do the work here rather than strand the chats
        log.exception("presence_enqueue_failed agent=%s reason=%s", agent_id, reason)
        move_conversations_if_still_absent(agent_id=agent_id, reason=reason)


def _queue_assign_waiting(shop_id: int | None) -> None:
    if shop_id is not None:
        transaction.on_commit(lambda: _enqueue_assign_waiting(shop_id))


def _enqueue_assign_waiting(shop_id: int) -> None:
    from kefu.conversations.tasks import assign_waiting_conversations

    try:
        assign_waiting_conversations.delay(shop_id)
    except Exception:  # the beat sweep assigns them within a minute anyway
        log.exception("presence_enqueue_failed shop=%s reason=waiting", shop_id)


def move_conversations_if_still_absent(*, agent_id: int, reason: str) -> int:
    """Move the agent's live conversations on, unless it came back before the worker got
    here (logged in again, switched back to available, re-enabled)."""
    agent = User.objects.select_related("shop").filter(pk=agent_id).first()
    if agent is None or agent.shop is None:
        return 0
    presence = AgentPresence.objects.filter(user=agent).first()
    if reason == "away":
        absent = presence is not None and presence.status == "away"
    elif reason == "disabled":
        absent = not agent.is_active
    else:
        absent = presence is None or not presence.is_online
    return move_conversations(agent=agent, reason=reason) if absent else 0


def move_conversations(*, agent: User, reason: str) -> int:
    """Move the agent's live conversations to colleagues who are online (R-19)."""
    moved = 0
    with transaction.atomic():
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
        AgentPresence.objects.filter(pk=presence.pk).update(is_online=False, socket_count=0)
        total += move_conversations(agent=presence.user, reason="offline")
    return total


def assign_waiting_conversations(*, shop_id: int | None = None) -> int:
    """Give unassigned live conversations to agents who are online now."""
    qs = Conversation.objects.filter(assignee__isnull=True, status=ConversationStatus.OPEN)
    if shop_id is not None:
        qs = qs.filter(shop_id=shop_id)
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
