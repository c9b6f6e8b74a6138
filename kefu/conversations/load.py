"""How many live conversations each agent holds, kept on its presence row (R-03, R-41).

Routing reads one counter per agent instead of counting every open conversation of the group
on each decision, so its cost follows the number of agents, not of conversations. The writes
that change a load (assign, unassign, resolve, reopen) shift the counter in the same
transaction; `recount_loads` in the minute sweep puts right what a crash or a presence row
created late left off.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, F

from kefu.conversations.models import AgentPresence, Conversation, ConversationStatus

log = logging.getLogger("kefu.conversations")

LIVE = (ConversationStatus.OPEN, ConversationStatus.PENDING)


def is_live(conv: Conversation) -> bool:
    return conv.status in LIVE


def shift(user_id: int | None, delta: int) -> None:
    """Add ``delta`` to an agent's load (nothing for no agent, or one never present: its row
    is created with the true count)."""
    if user_id is not None and delta:
        AgentPresence.objects.filter(user_id=user_id).update(open_load=F("open_load") + delta)


def moved(conv: Conversation, *, previous_id: int | None, agent_id: int | None) -> None:
    """A live conversation changed hands."""
    if is_live(conv) and previous_id != agent_id:
        shift(previous_id, -1)
        shift(agent_id, +1)


def true_load(user_id: int) -> int:
    return Conversation.objects.filter(assignee_id=user_id, status__in=LIVE).count()


def recount_loads(*, shop_id: int | None = None) -> int:
    """Set every counter that drifted to the true count; returns how many were wrong."""
    counts = dict(
        Conversation.objects.filter(status__in=LIVE, assignee__isnull=False)
        .filter(**({"shop_id": shop_id} if shop_id is not None else {}))
        .values_list("assignee_id")
        .annotate(n=Count("pk"))
        .values_list("assignee_id", "n")
    )
    presences = AgentPresence.objects.all()
    if shop_id is not None:
        presences = presences.filter(shop_id=shop_id)
    fixed = 0
    for user_id, stored in presences.values_list("user_id", "open_load"):
        if stored == counts.get(user_id, 0):
            continue
        # Confirmed under the row's lock: a shift in flight either committed before (and is
        # in the count) or waits for this write and lands on top of it.
        with transaction.atomic():
            row = AgentPresence.objects.select_for_update().filter(user_id=user_id).first()
            if row is None:
                continue
            actual = true_load(user_id)
            if row.open_load != actual:
                AgentPresence.objects.filter(pk=row.pk).update(open_load=actual)
                log.warning(
                    "agent_load_recounted agent=%s stored=%s actual=%s",
                    user_id,
                    row.open_load,
                    actual,
                )
                fixed += 1
    return fixed
