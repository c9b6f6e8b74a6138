"""Template context shared by every workbench page."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def workbench(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    shop = getattr(user, "shop", None) if user is not None and user.is_authenticated else None
    return {"current_shop": shop}
