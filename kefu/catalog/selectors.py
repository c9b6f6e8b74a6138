"""Reads of the shop's catalog, scoped to the actor's shop."""

from __future__ import annotations

from django.http import Http404

from kefu.accounts.models import User
from kefu.accounts.scoping import shop_of
from kefu.catalog.models import Product


def access_product(actor: User, external_id: str) -> Product:
    """A product of the actor's shop by its platform id; any other shop's product is 404.

    Every agent of the shop may recommend any of its products (R-21): the catalog is what
    buyers see anyway, so a sub-account is not narrowed to the products it manages.
    """
    external_id = (external_id or "").strip()
    product = (
        Product.objects.filter(shop=shop_of(actor), external_id=external_id).first()
        if external_id
        else None
    )
    if product is None:
        raise Http404("no such product")
    return product
