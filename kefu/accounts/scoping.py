"""Tenant scoping that fails closed.

Every shop-owned read starts from `shop_of(user)`: a user without a shop (anonymous, a
back-office superuser) gets an error, never an unscoped query.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from kefu.accounts.models import Shop, User


class NoShop(PermissionDenied):
    """The request has no shop to scope by."""


def shop_of(user: User | AnonymousUser) -> Shop:
    if not user.is_authenticated or not user.is_active:
        raise NoShop("not signed in")
    shop: Shop | None = getattr(user, "shop", None)
    if shop is None:
        raise NoShop("this login belongs to no shop")
    return shop
