"""The platform-rule check every saved automation text passes before it is stored (R-29)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.compliance.services import ComplianceBlocked, ensure_saveable


def guard_saved_texts(*, actor: User, texts: list[tuple[str, str]], source: str) -> None:
    """R-29: a saved text that breaks a platform rule is itself a violation: refuse to save it.

    ``texts`` are (label, text) pairs; every blocked one is reported, nothing is written.
    """
    shop = shop_of(actor)
    problems = []
    for label, text in texts:
        if not text.strip():
            continue
        try:
            ensure_saveable(shop=shop, actor=actor, text=text, source=source)
        except ComplianceBlocked as exc:
            problems.append(f"{label}: {exc}")
    if problems:
        raise ValidationError(problems, code="rules")
