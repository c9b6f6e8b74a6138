"""A conversation's state as agents change it: read, resolved, reopened, assigned, its order,
notes on its timeline."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.conversations import events, load
from kefu.conversations.assignment import assign_to
from kefu.conversations.marks import resolution_blockers as mark_blockers
from kefu.conversations.models import Conversation, ConversationStatus
from kefu.conversations.text import clean_text


def mark_read(*, actor: User, conversation: Conversation) -> None:
    """Opening a conversation clears its unread count for the agent who holds it."""
    if conversation.unread_count and (
        conversation.assignee_id == actor.pk
        or (conversation.assignee_id is None and actor.is_owner)
    ):
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0


def resolution_blockers(conversation: Conversation) -> list[str]:
    """Duties that must be done before resolving (e.g. a yellow mark's new tracking number)."""
    return mark_blockers(conversation)


def set_conversation_order(
    *, actor: User, conversation: Conversation, order_external_id: str
) -> bool:
    """Name the order the conversation is about; the sidebar highlight, script placeholders
    and mark duties follow it. The orders domain checks the order is the buyer's first.
    Returns False when it already was the conversation's order."""
    if conversation.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's conversation")
    order_external_id = order_external_id.strip()[:80]
    if not order_external_id:
        raise ValidationError(_("choose an order"), code="order")
    with transaction.atomic():
        conv = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        previous = conv.order_external_id
        if previous == order_external_id:
            return False
        conv.order_external_id = order_external_id
        conv.save(update_fields=["order_external_id"])
        events.order_chosen(conv, actor=actor, order=order_external_id, previous=previous)
    conversation.order_external_id = order_external_id
    return True


def resolve_conversation(*, actor: User, conversation: Conversation) -> Conversation:
    if conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    blockers = resolution_blockers(conversation)
    if blockers:
        raise ValidationError(
            _("cannot resolve yet: %(blockers)s") % {"blockers": "; ".join(blockers)},
            code="blocked",
        )
    with transaction.atomic():
        conv = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        if conv.status == ConversationStatus.RESOLVED:
            return conv
        conv.status = ConversationStatus.RESOLVED
        conv.resolved_at = timezone.now()
        conv.waiting_since = None
        conv.unread_count = 0
        conv.save()
        load.shift(conv.assignee_id, -1)
        events.conversation_resolved(conv, actor=actor)
    return conv


def reopen_conversation(*, actor: User, conversation: Conversation) -> Conversation:
    if conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    with transaction.atomic():
        conv = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        if conv.status != ConversationStatus.RESOLVED:
            return conv
        if (
            Conversation.objects.filter(
                shop_id=conv.shop_id, buyer_id=conv.buyer_id, group=conv.group
            )
            .exclude(status=ConversationStatus.RESOLVED)
            .exists()
        ):
            raise ValidationError(
                _("the buyer already has a live conversation in this group"), code="duplicate"
            )
        now = timezone.now()
        conv.status = ConversationStatus.OPEN
        conv.opened_at = now
        conv.resolved_at = None
        conv.save()
        load.shift(conv.assignee_id, +1)
        events.conversation_reopened(conv, actor=actor, reason="agent")
    return conv


def assign_conversation(*, actor: User, conversation: Conversation, agent: User) -> Conversation:
    """The owner assigns to anyone of the shop; an agent may only take it for itself."""
    if conversation.shop_id != actor.shop_id or agent.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop")
    if not actor.is_owner and agent.pk != actor.pk:
        raise PermissionDenied("only the main account assigns to others")
    if not agent.is_active:
        raise ValidationError(_("this account is disabled"), code="inactive")
    if not agent.in_group(conversation.group):
        raise ValidationError(
            _("%(agent)s is not in the %(group)s group")
            % {"agent": agent.username, "group": conversation.get_group_display()},
            code="group",
        )
    with transaction.atomic():
        conv = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("assignee")
            .get(pk=conversation.pk)
        )
        if conv.assignee_id == agent.pk:
            return conv
        assign_to(conv, agent, reason="manual", previous=conv.assignee, actor=actor)
    return conv


def add_internal_note(
    *,
    conversation: Conversation,
    text: str,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
) -> None:
    """A note on the timeline for agents only; never sent to the buyer."""
    events.note_added(conversation, text=clean_text(text), actor=actor, data=data or {})
