"""Writes of the care domain: saving a case to the archive (案例备份, R-35)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.care.models import Case, CaseOutcome
from kefu.care.selectors import shop_today
from kefu.conversations.models import Conversation


@dataclass(frozen=True)
class CaseInput:
    title: str
    event: str
    date: dt.date | None = None
    follow_up: str = ""
    outcome: str = ""
    outcome_kind: str = CaseOutcome.RESOLVED
    tags: str = ""
    agent_id: int | None = None


def save_case(*, actor: User, data: CaseInput, conversation: Conversation | None = None) -> Case:
    """Save a training case. ``conversation`` must come from `access_conversation(actor, …)`."""
    shop = actor.shop
    if shop is None:
        raise PermissionDenied("no shop")
    if conversation is not None and conversation.shop_id != shop.pk:
        raise PermissionDenied("not your shop's conversation")
    title, event = data.title.strip(), data.event.strip()
    if not title or len(title) > 200:
        raise ValidationError(_("a case needs a title of 1-200 characters"), code="title")
    if not event:
        raise ValidationError(_("describe the event"), code="event")
    if data.outcome_kind not in CaseOutcome.values:
        raise ValidationError(_("unknown outcome"), code="outcome")
    agent: User | None = None
    if data.agent_id is not None:
        agent = User.objects.filter(shop=shop, pk=data.agent_id).first()
        if agent is None:
            raise ValidationError(_("no such agent in this shop"), code="agent")
    elif conversation is not None and conversation.assignee_id is not None:
        agent = conversation.assignee
    if not actor.is_owner and agent is not None and agent.pk != actor.pk:
        raise PermissionDenied("a sub-account saves cases of its own conversations")
    return Case.objects.create(
        shop=shop,
        conversation=conversation,
        date=data.date or shop_today(shop),
        agent=agent,
        agent_name=agent.name_for_buyers if agent else "",
        buyer_name=str(conversation.buyer) if conversation is not None else "",
        title=title,
        event=event,
        follow_up=data.follow_up.strip(),
        outcome=data.outcome.strip(),
        outcome_kind=data.outcome_kind,
        tags=data.tags.strip()[:200],
        created_by=actor,
    )
