"""Reads of the care domain: the case archive as the actor may see it."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.db.models import Q, QuerySet
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.care.models import Case


def shop_today(shop: Shop) -> dt.date:
    """Today in the shop's time zone: the default date of a new case."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(shop.timezone)).date()


def visible_cases(actor: User, *, query: str = "", outcome: str = "") -> QuerySet[Case]:
    """The owner sees every case; a sub-account its own and those it saved."""
    shop = shop_of(actor)
    qs = Case.objects.filter(shop=shop).select_related("agent", "conversation")
    if not has_capability(actor, Capability.SEE_ALL):
        qs = qs.filter(Q(agent=actor) | Q(created_by=actor))
    if query:
        for word in query.split()[:6]:
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(event__icontains=word)
                | Q(follow_up__icontains=word)
                | Q(outcome__icontains=word)
                | Q(tags__icontains=word)
                | Q(agent_name__icontains=word)
                | Q(buyer_name__icontains=word)
            )
    if outcome:
        qs = qs.filter(outcome_kind=outcome)
    return qs
