"""Changes to the team that move buyers' conversations (R-19)."""

from __future__ import annotations

from django.db import transaction

from kefu.accounts.models import User
from kefu.accounts.services import set_account_active
from kefu.conversations.presence import agent_went_offline


def set_agent_active(*, actor: User | None, agent: User, active: bool) -> User:
    """Disable or re-enable a sub-account; a disabled agent's conversations go to colleagues."""
    with transaction.atomic():
        set_account_active(actor=actor, agent=agent, active=active)
        if not active:
            agent_went_offline(agent=agent, reason="disabled")
    return agent
