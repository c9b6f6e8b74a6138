"""What a login may do in its shop (R-02). Sub-accounts get owner-only rights only by grant."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from kefu.accounts.models import User


class Capability(StrEnum):
    MANAGE_SETTINGS = "manage_settings"
    MANAGE_AGENTS = "manage_agents"
    ISSUE_REFUNDS = "issue_refunds"
    CREATE_CAMPAIGNS = "create_campaigns"
    SEE_ALL = "see_all"


def has_capability(user: User | AnonymousUser, capability: Capability) -> bool:
    if not user.is_authenticated or not user.is_active or getattr(user, "shop_id", None) is None:
        return False
    if user.is_owner:
        return True
    if capability in (Capability.MANAGE_SETTINGS, Capability.MANAGE_AGENTS):
        return bool(user.can_manage_settings)
    if capability is Capability.ISSUE_REFUNDS:
        return bool(user.can_issue_refunds)
    if capability is Capability.CREATE_CAMPAIGNS:
        return bool(user.can_create_campaigns)
    return False


def require(user: User | AnonymousUser, capability: Capability) -> None:
    if not has_capability(user, capability):
        raise PermissionDenied(f"this account may not {capability.value.replace('_', ' ')}")
