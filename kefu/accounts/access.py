"""Who may reach a page or an API operation: `shop_view` for pages, `shop_auth`, `api_user` and
`needs` for the API. Every shop-facing entry point goes through one of them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from ninja.operation import Operation
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import contribute_operation_callback

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, has_capability, require
from kefu.accounts.scoping import shop_of
from kefu.accounts.tokens import user_for_token

P = ParamSpec("P")
F = TypeVar("F", bound=Callable[..., Any])

# The attribute `shop_view` leaves on a page so a test can prove no page goes without it.
SHOP_VIEW_RULE = "kefu_shop_view"


class ShopRequest(HttpRequest):
    """A request `shop_view` let through: `user` is an active login that belongs to a shop."""

    user: User


@dataclass(frozen=True)
class ShopViewRule:
    capability: Capability | None
    post_capability: Capability | None


def shop_view(
    capability: Capability | None = None, *, post_capability: Capability | None = None
) -> Callable[
    [Callable[Concatenate[ShopRequest, P], HttpResponseBase]],
    Callable[Concatenate[HttpRequest, P], HttpResponseBase],
]:
    """A page for a shop's login: anonymous visitors go to the login page; a login without a
    shop, a disabled one or one without `capability` gets 403. `post_capability` is needed only
    to POST (the page itself is for every member of the shop)."""

    def decorate(
        view: Callable[Concatenate[ShopRequest, P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
        @functools.wraps(view)
        def checked(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
            user = request.user
            if not isinstance(user, User):
                raise PermissionDenied("sign in first")
            shop_of(user)
            if capability is not None:
                require(user, capability)
            if post_capability is not None and request.method == "POST":
                require(user, post_capability)
            return view(cast(ShopRequest, request), *args, **kwargs)

        guarded = cast(
            "Callable[Concatenate[HttpRequest, P], HttpResponseBase]", login_required(checked)
        )
        setattr(guarded, SHOP_VIEW_RULE, ShopViewRule(capability, post_capability))
        return guarded

    return decorate


# ------------------------------------------------------------------ API


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
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


def needs(capability: Capability, refusal: str | None = None) -> Callable[[F], F]:
    """An API operation only for logins with `capability` (403 otherwise, via kefu.api, saying
    `refusal` if given).

    Checked after authentication and input validation, as a hand-written `require` at the top
    of the operation would be; put it under or over `@router.<method>`.
    """

    def guard(operation: Operation) -> None:
        inner = operation.view_func

        @functools.wraps(inner)
        def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = api_user(request)
            if refusal is None:
                require(user, capability)
            elif not has_capability(user, capability):
                raise PermissionDenied(refusal)
            return inner(request, *args, **kwargs)

        # Wrapping the operation's call, not the function ninja reads: its signature and the
        # module its annotations resolve in stay the operation's own.
        operation.view_func = checked

    def mark(view_func: F) -> F:
        operation = getattr(view_func, "_ninja_operation", None)
        if isinstance(operation, Operation):
            guard(operation)
        else:
            contribute_operation_callback(view_func, guard)
        return view_func

    return mark
