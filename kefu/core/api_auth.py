"""API authentication: a signed-in session (with CSRF) or a personal bearer token."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer

from kefu.accounts.models import User


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        from kefu.accounts.services import user_for_token

        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class ShopSessionAuth(APIKeyCookie):
    """Django's session cookie; ninja checks CSRF for cookie auth."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "shop_id", None):
            return user
        return None


# Use as `auth=shop_auth` on every router that acts for a signed-in shop user.
shop_auth = [TokenAuth(), ShopSessionAuth()]


def api_user(request: HttpRequest) -> User:
    """The authenticated shop user of an API request (after `shop_auth` ran)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)  # noqa: S101 - auth guarantees it
    return user


def refusal(exc: ValidationError | PermissionDenied) -> HttpError:
    """A service's refusal as an API answer: 403 for a missing right, 400 for bad input."""
    if isinstance(exc, PermissionDenied):
        return HttpError(403, str(exc) or "forbidden")
    return HttpError(400, "; ".join(exc.messages))
