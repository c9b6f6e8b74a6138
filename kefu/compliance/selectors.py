"""Reads of the rule guard shared by the findings page and the API."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.compliance.models import ComplianceFinding, ShippingPolicy
from kefu.compliance.packs import pack_for
from kefu.compliance.rules import RulePack


def day_bounds(shop: Shop, day: date) -> tuple[datetime, datetime]:
    """The shop's calendar day as an aware half-open interval."""
    tz = zoneinfo.ZoneInfo(shop.timezone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, start + timedelta(days=1)


def visible_findings(
    user: User, *, day: date | None = None, agent_login: str | None = None
) -> QuerySet[ComplianceFinding]:
    """Findings the user may see: the whole shop for the owner, only their own for an agent.

    An agent asking for another agent's findings is refused, not shown an empty list.
    """
    shop = shop_of(user)
    findings = ComplianceFinding.objects.filter(shop=shop).select_related("actor")
    if not has_capability(user, Capability.SEE_ALL):
        if agent_login and agent_login != user.username:
            raise PermissionDenied("a sub-account sees only its own findings")
        findings = findings.filter(actor=user)
    elif agent_login:
        findings = findings.filter(actor__username=agent_login)
    if day is not None:
        start, end = day_bounds(shop, day)
        findings = findings.filter(created_at__gte=start, created_at__lt=end)
    return findings


@dataclass(frozen=True, slots=True)
class AgentDay:
    login: str
    name: str
    warned: int
    blocked: int
    overridden: int


def per_agent_summary(findings: QuerySet[ComplianceFinding]) -> list[AgentDay]:
    rows = (
        findings.order_by()
        .values("actor__username", "actor__display_name")
        .annotate(
            warned=Count("id", filter=Q(severity="warn")),
            blocked=Count("id", filter=Q(blocked=True)),
            overridden=Count("id", filter=Q(overridden=True)),
        )
        .order_by("actor__username")
    )
    return [
        AgentDay(
            login=row["actor__username"] or "",
            name=row["actor__display_name"] or row["actor__username"] or "",
            warned=row["warned"],
            blocked=row["blocked"],
            overridden=row["overridden"],
        )
        for row in rows
    ]


def pack_of(user: User) -> RulePack:
    return pack_for(shop_of(user).platform)


def shipping_policy_of(shop: Shop) -> ShippingPolicy:
    """The shop's shipping policy; an unsaved default (no promise) until the shop sets one."""
    return ShippingPolicy.objects.filter(shop=shop).first() or ShippingPolicy(shop=shop)
