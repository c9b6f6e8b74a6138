"""Which group and which agent a conversation goes to (R-03)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F, QuerySet

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.catalog.models import Product
from kefu.conversations.models import (
    AFTER_SALE_ENTRY_POINTS,
    AgentPresence,
    ConversationStatus,
    PresenceStatus,
    live_presence,
)

ACTIVE = (ConversationStatus.OPEN, ConversationStatus.PENDING)
GROUP_FLAG = {
    ServiceGroup.PRE_SALE: "in_pre_sale",
    ServiceGroup.AFTER_SALE: "in_after_sale",
    ServiceGroup.OUTREACH: "in_outreach",
}


def group_for_entry_point(entry_point: str) -> str:
    if entry_point in AFTER_SALE_ENTRY_POINTS:
        return ServiceGroup.AFTER_SALE.value
    return ServiceGroup.PRE_SALE.value


def _available(*, shop: Shop, group: str, exclude_user_id: int | None = None) -> QuerySet[User]:
    qs = User.objects.filter(
        live_presence(prefix="presence__"),
        shop=shop,
        is_active=True,
        takes_new_chats=True,
        presence__status=PresenceStatus.AVAILABLE,
        **{GROUP_FLAG[ServiceGroup(group)]: True},
    )
    if exclude_user_id is not None:
        qs = qs.exclude(pk=exclude_user_id)
    return qs.order_by(
        "presence__open_load", F("presence__last_assigned_at").asc(nulls_first=True), "pk"
    )


def available_agents(*, shop: Shop, group: str, exclude_user_id: int | None = None) -> list[User]:
    """Logins of the group that take new chats and are at their inbox now — available, with
    an open socket that pinged within the routing grace (a count left by a crashed web
    process goes stale with its pings) — least loaded first, then longest idle."""
    # With its presence: assignment asks whether the chosen agent is available.
    return list(
        _available(shop=shop, group=group, exclude_user_id=exclude_user_id).select_related(
            "presence"
        )
    )


def available_agent_loads(
    *, shop: Shop, group: str, limit: int | None = None, only: int | None = None
) -> list[tuple[int, int, dt.datetime | None]]:
    """The same agents in the same order as (user id, open load, last assigned at): what
    the intake batch ranks by. Plain rows, because a shop with a thousand agents online
    would otherwise build two thousand model instances for every batch of a few messages.
    ``limit``: the first that many only (a batch of n messages reaches at most the first
    n + 1, decisions §83); ``only``: that one agent, if available."""
    # From the presence side, in the order of its `presence_routing_order` index: the first
    # n + 1 are read down the index and the join stops there, where the user side first
    # joined and sorted every online agent of the shop for each batch (decisions §88). A
    # presence row's shop is its user's (set from the user when the row is made), so the
    # user is joined by its key alone: a second `shop_id` condition on it led the planner,
    # without statistics, to walk the shop's users once per presence row.
    qs = AgentPresence.objects.filter(
        live_presence(),
        shop=shop,
        status=PresenceStatus.AVAILABLE,
        user__is_active=True,
        user__takes_new_chats=True,
        **{f"user__{GROUP_FLAG[ServiceGroup(group)]}": True},
    )
    if only is not None:
        qs = qs.filter(user_id=only)
    rows = qs.order_by(
        "open_load", F("last_assigned_at").asc(nulls_first=True), "user_id"
    ).values_list("user_id", "open_load", "last_assigned_at")
    return list(rows if limit is None else rows[:limit])


def choose_agent(
    *, shop: Shop, group: str, product: Product | None, exclude_user_id: int | None = None
) -> tuple[User | None, str]:
    """The agent to assign and why; (None, "no_agent_online") when the group has nobody."""
    candidates = available_agents(shop=shop, group=group, exclude_user_id=exclude_user_id)
    if not candidates:
        return None, "no_agent_online"
    if product is not None and product.owner_id is not None:
        for agent in candidates:
            if agent.pk == product.owner_id:
                return agent, "product_owner"
    return candidates[0], "least_busy"
