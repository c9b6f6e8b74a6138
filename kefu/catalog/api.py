"""The catalogue over the API: list, read, create, change, delete products, and give many
products an owner or the main-push flag at once. Every login of the shop reads; the main
account or a sub-account granted settings writes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja.responses import Status
from pydantic import Field

from kefu.accounts.access import api_user, needs
from kefu.accounts.access import shop_auth as auth
from kefu.accounts.models import User
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.catalog import selectors, services
from kefu.catalog.models import Product
from kefu.catalog.upserts import MAX_STOCK
from kefu.core.schema_types import ErrorOut

router = Router(auth=auth, tags=["catalog"])

ProductId = Annotated[int, Field(ge=1, le=2**31 - 1)]
Text80 = Annotated[str, Field(max_length=80)]


class ProductOut(Schema):
    id: int
    external_id: str
    sku: str
    title: str
    category: str = Field(description="the seller's category label; empty when none")
    price: Decimal = Field(description="a decimal string such as 19.90; 0 when unknown")
    currency: str
    stock: int
    url: str
    image_url: str
    owner: str | None = Field(description="the managing sub-account's login, or null")
    is_main_push: bool
    free_shipping: bool
    free_shipping_excluded_regions: list[str]
    usage_cycle_days: int | None
    related: list[str] = Field(description="external ids of the related products")
    shelf_life: str
    suits: str
    ships_from: str
    dispatch_time: str
    differences: str
    created_at: dt.datetime


def _out(product: Product) -> ProductOut:
    return ProductOut(
        id=product.pk,
        external_id=product.external_id,
        sku=product.sku,
        title=product.title,
        category=product.category,
        price=product.price,
        currency=product.currency,
        stock=product.stock,
        url=product.url,
        image_url=product.image_url,
        owner=product.owner.username if product.owner else None,
        is_main_push=product.is_main_push,
        free_shipping=product.free_shipping,
        free_shipping_excluded_regions=list(product.free_shipping_excluded_regions or []),
        usage_cycle_days=product.usage_cycle_days,
        related=sorted(p.external_id for p in product.related.all()),
        shelf_life=product.shelf_life,
        suits=product.suits,
        ships_from=product.ships_from,
        dispatch_time=product.dispatch_time,
        differences=product.differences,
        created_at=product.created_at,
    )


class ProductPatch(Schema):
    """Fields to change; a field left out keeps its value."""

    external_id: str | None = Field(default=None, max_length=80)
    sku: str | None = Field(default=None, max_length=80, description="the seller's code, 商家编码")
    title: str | None = Field(default=None, max_length=300)
    category: str | None = Field(
        default=None, max_length=100, description='the seller\'s category label; "" clears it'
    )
    price: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, max_length=3)
    stock: int | None = Field(default=None, ge=0, le=MAX_STOCK)
    url: str | None = Field(default=None, max_length=200)
    image_url: str | None = Field(default=None, max_length=500, description="the main image")
    owner: str | None = Field(default=None, max_length=150, description="a sub-account's login")
    is_main_push: bool | None = None
    free_shipping: bool | None = None
    free_shipping_excluded_regions: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None,
        max_length=100,
        description="regions free shipping does not cover, as buyers' addresses name them",
    )
    usage_cycle_days: int | None = Field(
        default=None, ge=1, le=services.MAX_USAGE_CYCLE_DAYS, description="null: no cycle"
    )
    related: list[Text80] | None = Field(
        default=None,
        max_length=services.MAX_RELATED,
        description="external ids of the related products; replaces the list",
    )
    shelf_life: str | None = Field(default=None, max_length=200)
    suits: str | None = Field(default=None, max_length=300)
    ships_from: str | None = Field(default=None, max_length=200)
    dispatch_time: str | None = Field(default=None, max_length=200)
    differences: str | None = Field(default=None, max_length=1000)


class ProductIn(ProductPatch):
    external_id: str = Field(max_length=80)
    title: str = Field(max_length=300)


def _owner(actor: User, login: str | None) -> User | None:
    if not login:
        return None
    owner = selectors.possible_owners(shop_of(actor)).filter(username=login).first()
    if owner is None:
        raise ValidationError(
            _("No sub-account of this shop has the login %(login)s.") % {"login": login}
        )
    return owner


def _related(actor: User, external_ids: list[str]) -> list[Product]:
    wanted = list(dict.fromkeys(e.strip() for e in external_ids if e.strip()))
    found = list(Product.objects.filter(shop=shop_of(actor), external_id__in=wanted))
    missing = sorted(set(wanted) - {p.external_id for p in found})
    if missing:
        raise ValidationError(
            _("No product of this shop has the external id %(ids)s.") % {"ids": ", ".join(missing)}
        )
    return found


def _apply(actor: User, data: services.ProductData, given: dict[str, Any]) -> services.ProductData:
    changes: dict[str, Any] = {}
    for name, value in given.items():
        if name == "owner":
            changes["owner"] = _owner(actor, value)
        elif name == "related":
            changes["related"] = _related(actor, value or [])
        elif value is None and name not in ("usage_cycle_days",):
            continue  # null for a field that cannot be empty: left as it is
        else:
            changes[name] = value
    for name, value in changes.items():
        setattr(data, name, value)
    return data


class ProductQuery(Schema):
    q: str = Field(default="", max_length=100, description="part of the title, external id or SKU")
    owner: str = Field(
        default="",
        max_length=150,
        description='a sub-account\'s login, or "none" for products nobody manages',
    )
    main_push: bool | None = None
    limit: int = Field(default=50, ge=1, le=200)
    offset: int = Field(default=0, ge=0, le=1_000_000)


@router.get("/products", response=list[ProductOut], summary="The shop's products")
def list_products(request: HttpRequest, filters: Query[ProductQuery]) -> list[ProductOut]:
    found = selectors.products_of(
        api_user(request), query=filters.q, owner=filters.owner, main_push=filters.main_push
    ).prefetch_related("related")
    return [_out(p) for p in found[filters.offset : filters.offset + filters.limit]]


@router.post("/products", response={201: ProductOut}, summary="Add a product")
@needs(Capability.MANAGE_SETTINGS)
def create_product(request: HttpRequest, body: ProductIn) -> Status[ProductOut]:
    user = api_user(request)
    data = _apply(
        user,
        services.ProductData(external_id=body.external_id, title=body.title),
        body.dict(exclude_unset=True),
    )
    product = services.create_product(actor=user, data=data)
    return Status(201, _out(selectors.access_product_by_id(user, product.pk)))


# Before the routes of one product: "owner" is not a product id.
class OwnerIn(Schema):
    product_ids: list[ProductId] = Field(min_length=1, max_length=1000)
    owner: str | None = Field(
        max_length=150, description="a sub-account's login; null: nobody manages them"
    )


class MainPushIn(Schema):
    product_ids: list[ProductId] = Field(min_length=1, max_length=1000)
    main_push: bool


class ChangedOut(Schema):
    changed: int = Field(description="how many products changed (those already so are not)")


@router.post(
    "/products/owner",
    response={200: ChangedOut, 404: ErrorOut},
    summary="Give products to a sub-account",
    description="All or nothing: an id that is not the shop's product answers 404.",
)
@needs(Capability.MANAGE_SETTINGS)
def assign_owner(request: HttpRequest, body: OwnerIn) -> ChangedOut:
    user = api_user(request)
    # The products first: another shop's id is unknown (404) whatever the owner says.
    selectors.access_products(user, body.product_ids)
    changed = services.bulk_assign_owner(
        actor=user, product_ids=body.product_ids, owner=_owner(user, body.owner)
    )
    return ChangedOut(changed=changed)


@router.post(
    "/products/main-push",
    response={200: ChangedOut, 404: ErrorOut},
    summary="Set or unset main-push on products",
    description="All or nothing: an id that is not the shop's product answers 404.",
)
@needs(Capability.MANAGE_SETTINGS)
def assign_main_push(request: HttpRequest, body: MainPushIn) -> ChangedOut:
    user = api_user(request)
    changed = services.set_main_push(actor=user, product_ids=body.product_ids, flag=body.main_push)
    return ChangedOut(changed=changed)


@router.get("/products/{product_id}", response=ProductOut, summary="One product")
def get_product(request: HttpRequest, product_id: int) -> ProductOut:
    return _out(selectors.access_product_by_id(api_user(request), product_id))


@router.patch("/products/{product_id}", response=ProductOut, summary="Change a product")
@needs(Capability.MANAGE_SETTINGS)
def patch_product(request: HttpRequest, product_id: int, body: ProductPatch) -> ProductOut:
    user = api_user(request)
    product = selectors.access_product_by_id(user, product_id)
    data = _apply(user, services.input_of(product), body.dict(exclude_unset=True))
    services.update_product(actor=user, product=product, data=data)
    return _out(selectors.access_product_by_id(user, product_id))


@router.delete("/products/{product_id}", response={204: None}, summary="Delete a product")
@needs(Capability.MANAGE_SETTINGS)
def delete_product(request: HttpRequest, product_id: int) -> Status[None]:
    """Its order items keep their titles and lose the link to it."""
    user = api_user(request)
    services.delete_product(actor=user, product=selectors.access_product_by_id(user, product_id))
    return Status(204, None)
