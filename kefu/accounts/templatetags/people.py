"""How a login is named on pages: its display name, else its login, else a dash."""

from __future__ import annotations

from django import template

from kefu.accounts.models import User

register = template.Library()


@register.filter
def person(user: User | None) -> str:
    """Safe for a conversation nobody holds yet or a message whose author was removed."""
    return "—" if user is None else user.name_for_buyers
