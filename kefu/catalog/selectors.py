"""Reads of the shop's catalog, scoped to the actor's shop."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kefu.accounts.models import Role, Shop, User
from kefu.accounts.scoping import shop_of
from kefu.catalog.models import Product

# The owner filter's value for products nobody manages.
NO_OWNER = "none"


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


def access_product_by_id(actor: User, product_id: int) -> Product:
    """A product of the actor's shop by its Kefu id; another shop's id is unknown (404)."""
    product = (
        Product.objects.filter(shop=shop_of(actor), pk=product_id)
        .select_related("owner")
        .prefetch_related("related")
        .first()
    )
    if product is None:
        raise Http404("no such product")
    return product


def access_products(actor: User, product_ids: Iterable[int]) -> list[Product]:
    """Products of the actor's shop by id, all or none: one unknown id (another shop's, a
    deleted one) is 404, so a bulk change never half-applies to a list the seller did not
    mean."""
    wanted = set(product_ids)
    found = list(Product.objects.filter(shop=shop_of(actor), pk__in=wanted))
    if len(found) != len(wanted):
        raise Http404("no such product")
    return found


def products_of(
    actor: User,
    *,
    query: str = "",
    owner: str = "",
    main_push: bool | None = None,
) -> QuerySet[Product]:
    """The shop's products for the products page and the API, every login of the shop may
    read them. ``query`` searches the title, the external id and the SKU; ``owner`` is a
    sub-account's login, or ``NO_OWNER`` for products nobody manages."""
    products = Product.objects.filter(shop=shop_of(actor)).select_related("owner")
    query = query.strip()
    if query:
        products = products.filter(
            Q(title__icontains=query) | Q(external_id__icontains=query) | Q(sku__icontains=query)
        )
    if owner == NO_OWNER:
        products = products.filter(owner__isnull=True)
    elif owner:
        products = products.filter(owner__username=owner)
    if main_push is not None:
        products = products.filter(is_main_push=main_push)
    return products.order_by("title", "pk")


def categories_of(shop: Shop) -> list[str]:
    """The categories the shop's products carry, sorted, for choosing one (the product form's
    suggestions, the segment page's filter)."""
    return list(
        Product.objects.filter(shop=shop)
        .exclude(category="")
        .order_by("category")
        .values_list("category", flat=True)
        .distinct()
    )


def possible_owners(shop: Shop) -> QuerySet[User]:
    """The logins that may manage products: the shop's sub-accounts (R-02)."""
    return User.objects.filter(shop=shop, role=Role.AGENT).order_by("username")


@dataclass(frozen=True)
class RelatedLookup:
    found: list[Product]
    problems: list[str]


def find_products(shop: Shop, references: Iterable[str]) -> RelatedLookup:
    """Products named by a seller, one per reference: the external id, else the exact title,
    else the one title containing it. A reference matching none or several is a problem that
    names it, so the seller can be more precise."""
    found: list[Product] = []
    problems: list[str] = []
    products = Product.objects.filter(shop=shop)
    for reference in references:
        reference = reference.strip()
        if not reference:
            continue
        exact = products.filter(external_id=reference).first()
        if exact is None:
            titled = list(products.filter(title=reference)[:2])
            if len(titled) != 1:
                titled = list(products.filter(title__icontains=reference)[:2])
            if len(titled) == 1:
                exact = titled[0]
            elif titled:
                problems.append(
                    _("“%(ref)s” matches several products: give the external id.")
                    % {"ref": reference}
                )
                continue
        if exact is None:
            problems.append(_("No product matches “%(ref)s”.") % {"ref": reference})
            continue
        if exact not in found:
            found.append(exact)
    return RelatedLookup(found, problems)


# What the pages and refusals call each field a seller edits.
LABELS = {
    "external_id": gettext_lazy("Platform product id"),
    "sku": gettext_lazy("SKU"),
    "title": gettext_lazy("Title"),
    "category": gettext_lazy("Category"),
    "url": gettext_lazy("Web link"),
    "image_url": gettext_lazy("Main image"),
    "shelf_life": gettext_lazy("Shelf life"),
    "suits": gettext_lazy("Who it suits"),
    "ships_from": gettext_lazy("Ships from"),
    "dispatch_time": gettext_lazy("Dispatch time"),
    "differences": gettext_lazy("How it differs from similar products"),
}
FACT_FIELDS = ("shelf_life", "suits", "ships_from", "dispatch_time", "differences")


@dataclass(frozen=True)
class ProductFacts:
    product: Product
    facts: list[tuple[str, str]]  # (label, value), only the facts the seller filled in


def facts_of(products: Iterable[Product | None]) -> list[ProductFacts]:
    """What the seller wrote about these products that buyers ask about (R-46), for the
    conversation sidebar: a product with no fact filled in is left out."""
    out: list[ProductFacts] = []
    seen: set[int] = set()
    for product in products:
        if product is None or product.pk in seen:
            continue
        seen.add(product.pk)
        facts = [
            (str(LABELS[name]), value.strip())
            for name in FACT_FIELDS
            if (value := getattr(product, name) or "").strip()
        ]
        if facts:
            out.append(ProductFacts(product, facts))
    return out
