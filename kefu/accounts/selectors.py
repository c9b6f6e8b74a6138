"""Reads of shops and their logins, always scoped by the actor's shop."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from kefu.accounts.models import Role, Shop, User
from kefu.accounts.scoping import shop_of


def shop_by_slug(slug: str) -> Shop | None:
    return Shop.objects.filter(slug=slug).first()


def shop_agents(*, shop: Shop) -> QuerySet[User]:
    return User.objects.filter(shop=shop).order_by("role", "username")


def team_of(actor: User) -> QuerySet[User]:
    return shop_agents(shop=shop_of(actor))


def access_member(actor: User, user_id: int) -> User:
    try:
        return team_of(actor).get(pk=user_id)
    except User.DoesNotExist as exc:
        raise Http404("no such account in this shop") from exc


def owner_of(shop: Shop) -> User | None:
    return User.objects.filter(shop=shop, role=Role.OWNER).first()
