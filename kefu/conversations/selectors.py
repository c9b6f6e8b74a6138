"""Reads of conversations, scoped to what the actor may see (R-02).

The owner sees every conversation of the shop; a sub-account sees conversations about its own
products and those assigned to it. Pages, the API and jobs all go through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.conversations.models import (
    AgentPresence,
    Conversation,
    ConversationEvent,
    ConversationMark,
    ConversationStatus,
    Message,
    Outbox,
    OutboxStatus,
    PresenceStatus,
    live_presence,
)
from kefu.integrations.channels import Channel

INBOX_PAGE = 50


def visible_conversations(actor: User) -> QuerySet[Conversation]:
    shop = shop_of(actor)
    qs = Conversation.objects.filter(shop=shop)
    if actor.is_owner:
        return qs
    return qs.filter(Q(assignee=actor) | Q(product__owner=actor))


def access_conversation(actor: User, conversation_id: int) -> Conversation:
    try:
        return (
            visible_conversations(actor)
            .select_related("buyer", "assignee", "product", "shop")
            .get(pk=conversation_id)
        )
    except (Conversation.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("no such conversation") from exc


@dataclass(frozen=True)
class InboxFilter:
    view: str = "mine"  # mine | group | all | unassigned
    status: str = "active"  # active | open | pending | resolved | any
    query: str = ""
    group: str = ""
    mark: str = ""
    undelivered: bool = False  # only conversations with a message that did not reach the buyer


def inbox(actor: User, flt: InboxFilter, *, limit: int = INBOX_PAGE) -> list[Conversation]:
    qs = visible_conversations(actor)
    if flt.view == "mine":
        qs = qs.filter(assignee=actor)
    elif flt.view == "group":
        qs = qs.filter(group__in=actor.service_groups)
    elif flt.view == "unassigned":
        qs = qs.filter(assignee__isnull=True)
    if flt.group:
        qs = qs.filter(group=flt.group)
    if flt.mark:
        qs = qs.filter(marks__color=flt.mark, marks__cleared_at__isnull=True).distinct()
    if flt.undelivered:
        qs = qs.filter(pk__in=_undelivered(actor).values("message__conversation_id"))
    if flt.status == "active":
        qs = qs.exclude(status=ConversationStatus.RESOLVED)
    elif flt.status in ConversationStatus.values:
        qs = qs.filter(status=flt.status)
    query = flt.query.strip()
    if query:
        matching_messages = Message.objects.filter(
            shop=shop_of(actor), text__icontains=query
        ).values("conversation_id")
        qs = qs.filter(
            Q(buyer__name__icontains=query)
            | Q(buyer__external_id__icontains=query)
            | Q(order_external_id__icontains=query)
            | Q(pk__in=matching_messages)
        )
    active_marks = Prefetch(
        "marks",
        queryset=ConversationMark.objects.filter(cleared_at__isnull=True),
        to_attr="active_marks",
    )
    return list(
        qs.select_related("buyer", "assignee", "product")
        .prefetch_related(active_marks)
        .order_by("-last_message_at", "-pk")[:limit]
    )


def inbox_counts(actor: User) -> dict[str, int]:
    qs = visible_conversations(actor).exclude(status=ConversationStatus.RESOLVED)
    return {
        "mine": qs.filter(assignee=actor).count(),
        "unread": qs.filter(unread_count__gt=0).count(),
        "undelivered": undelivered_count(actor),
    }


def _undelivered(actor: User) -> QuerySet[Outbox]:
    return Outbox.objects.filter(
        shop=shop_of(actor),
        status=OutboxStatus.NOT_DELIVERED,
        message__conversation__in=visible_conversations(actor),
    )


def undelivered_count(actor: User) -> int:
    """Messages of the conversations ``actor`` sees that did not reach the buyer."""
    return _undelivered(actor).count()


def timeline(conversation: Conversation, *, after_id: int = 0) -> list[Message]:
    return list(
        conversation.messages.filter(pk__gt=after_id)
        .select_related("author", "outbox")
        .order_by("sent_at", "pk")
    )


def access_message(actor: User, conversation_id: int, message_id: int) -> Message:
    """A message of a conversation ``actor`` may open; 404 otherwise."""
    conv = access_conversation(actor, conversation_id)
    message = conv.messages.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise Http404("no such message")
    return message


def events_of(conversation: Conversation) -> list[ConversationEvent]:
    return list(conversation.events.select_related("actor").order_by("-id")[:50])


def buyer_history(conversation: Conversation, actor: User) -> list[Conversation]:
    return list(
        visible_conversations(actor)
        .filter(buyer_id=conversation.buyer_id)
        .exclude(pk=conversation.pk)
        .order_by("-last_message_at")[:10]
    )


def widget_chat_open(*, shop: Shop, buyer_external_id: str) -> bool:
    """Whether this widget buyer has a conversation that is not resolved."""
    return (
        Conversation.objects.filter(
            shop=shop, buyer__external_id=buyer_external_id, channel=Channel.WIDGET
        )
        .exclude(status=ConversationStatus.RESOLVED)
        .exists()
    )


class AgentState(StrEnum):
    AT_INBOX = "at_inbox"  # routing may give it new chats
    NOT_TAKING = "not_taking"  # at the inbox, but opted out of new chats
    AWAY = "away"
    OFFLINE = "offline"


def agent_state(member: User, *, now: datetime | None = None) -> AgentState:
    """Where a login is for routing, by the same rule as `routing.available_agents`."""
    presence = AgentPresence.objects.filter(live_presence(now=now), user=member).first()
    if presence is None:
        return AgentState.OFFLINE
    if presence.status == PresenceStatus.AWAY:
        return AgentState.AWAY
    return AgentState.AT_INBOX if member.takes_new_chats else AgentState.NOT_TAKING
