"""Writing the catalogue one product at a time (the products page and the API, R-02, R-21,
R-25, R-34, R-46). Bulk imports and the product webhook write through `catalog.upserts`.

The main account, or a sub-account granted settings, changes the catalogue; every login of
the shop reads it (`catalog.selectors`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import Role, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.catalog.models import Product
from kefu.catalog.selectors import LABELS, access_products
from kefu.catalog.upserts import MAX_REGIONS, MAX_STOCK, products_stored

MAX_PRICE = Decimal("9999999999.99")  # the column's 12 digits, 2 after the point
MAX_REGION_LENGTH = 100
MAX_USAGE_CYCLE_DAYS = 3650
MAX_RELATED = 50
_WEB = URLValidator(schemes=["http", "https"])

# Text fields and their column lengths: what the form and the API may send.
TEXT_LIMITS = {
    "external_id": 80,
    "sku": 80,
    "title": 300,
    "category": 100,
    "url": 200,
    "image_url": 500,
    "shelf_life": 200,
    "suits": 300,
    "ships_from": 200,
    "dispatch_time": 200,
    "differences": 1000,
}


@dataclass
class ProductData:
    """Every field a seller edits. ``related`` is the complete list of related products
    (replacing the old one); ``owner`` None means nobody manages the product."""

    external_id: str
    title: str
    sku: str = ""
    # The seller's own label; the outreach "bought from category" filter matches it.
    category: str = ""
    price: Decimal | str = Decimal("0")
    currency: str = ""
    stock: int = 0
    url: str = ""
    image_url: str = ""
    owner: User | None = None
    is_main_push: bool = False
    free_shipping: bool = True
    # Regions (as the buyer's address names them) the free shipping does not cover.
    free_shipping_excluded_regions: list[str] = field(default_factory=list)
    usage_cycle_days: int | None = None
    related: list[Product] = field(default_factory=list)
    shelf_life: str = ""
    suits: str = ""
    ships_from: str = ""
    dispatch_time: str = ""
    differences: str = ""


def input_of(product: Product) -> ProductData:
    """The product as it stands, to change a few fields of (a PATCH, a form shown again)."""
    return ProductData(
        external_id=product.external_id,
        title=product.title,
        sku=product.sku,
        category=product.category,
        price=product.price,
        currency=product.currency,
        stock=product.stock,
        url=product.url,
        image_url=product.image_url,
        owner=product.owner,
        is_main_push=product.is_main_push,
        free_shipping=product.free_shipping,
        free_shipping_excluded_regions=list(product.free_shipping_excluded_regions or []),
        usage_cycle_days=product.usage_cycle_days,
        related=list(product.related.all()) if product.pk else [],
        shelf_life=product.shelf_life,
        suits=product.suits,
        ships_from=product.ships_from,
        dispatch_time=product.dispatch_time,
        differences=product.differences,
    )


def _clean(actor: User, data: ProductData, product: Product | None) -> ProductData:
    """The input trimmed and checked; every problem named at once, in the reader's language."""
    shop = shop_of(actor)
    problems: list[str] = []
    texts = {name: str(getattr(data, name) or "").strip() for name in TEXT_LIMITS}
    if not texts["external_id"]:
        problems.append(_("Enter the platform product id (external id)."))
    if not texts["title"]:
        problems.append(_("Enter the product title."))
    for name, limit in TEXT_LIMITS.items():
        if len(texts[name]) > limit:
            label = LABELS[name]
            problems.append(
                _("%(field)s is at most %(limit)s characters.") % {"field": label, "limit": limit}
            )
    if texts["url"]:
        try:
            _WEB(texts["url"])
        except ValidationError:
            problems.append(_("The web link must be an http:// or https:// address."))
    if texts["image_url"]:
        try:
            _WEB(texts["image_url"])
        except ValidationError:
            problems.append(_("The main image must be an http:// or https:// address."))
    regions = list(
        dict.fromkeys(r.strip() for r in data.free_shipping_excluded_regions if r.strip())
    )
    if len(regions) > MAX_REGIONS:
        problems.append(_("At most %(max)s excluded regions.") % {"max": MAX_REGIONS})
    if any(len(r) > MAX_REGION_LENGTH for r in regions):
        problems.append(
            _("A region name is at most %(max)s characters.") % {"max": MAX_REGION_LENGTH}
        )

    try:
        price = Decimal(str(data.price).strip() or "0")
        if not price.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        problems.append(_("The price must be a number such as 19.90."))
        price = Decimal("0")
    if price < 0 or price > MAX_PRICE:
        problems.append(_("The price must be between 0 and %(max)s.") % {"max": MAX_PRICE})
    elif price != price.quantize(Decimal("0.01")):
        problems.append(_("The price has at most two decimals."))

    currency = (data.currency or shop.currency).strip().upper()
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        problems.append(_("The currency is a three-letter code such as USD or CNY."))
    if not 0 <= data.stock <= MAX_STOCK:
        problems.append(_("The stock must be between 0 and %(max)s.") % {"max": MAX_STOCK})
    if data.usage_cycle_days is not None and not (
        1 <= data.usage_cycle_days <= MAX_USAGE_CYCLE_DAYS
    ):
        problems.append(
            _("The usage cycle is 1 to %(max)s days, or empty.") % {"max": MAX_USAGE_CYCLE_DAYS}
        )

    owner = data.owner
    if owner is not None and (owner.shop_id != shop.pk or owner.role != Role.AGENT):
        problems.append(_("The owner must be a sub-account of this shop."))
    elif owner is not None and not owner.is_active:
        problems.append(_("The owner's account is disabled: choose an active sub-account."))

    related: list[Product] = []
    for other in data.related:
        if other.shop_id != shop.pk:
            problems.append(_("Related products must be products of this shop."))
            break
        if product is not None and other.pk == product.pk:
            problems.append(_("A product cannot be related to itself."))
            break
        if other not in related:
            related.append(other)
    if len(related) > MAX_RELATED:
        problems.append(_("At most %(max)s related products.") % {"max": MAX_RELATED})

    duplicate = Product.objects.filter(shop=shop, external_id=texts["external_id"])
    if product is not None:
        duplicate = duplicate.exclude(pk=product.pk)
    if texts["external_id"] and duplicate.exists():
        problems.append(
            _("Another product already has the external id %(id)s.") % {"id": texts["external_id"]}
        )
    if texts["sku"]:
        holders = Product.objects.filter(shop=shop, sku=texts["sku"])
        if product is not None:
            holders = holders.exclude(pk=product.pk)
        holder = holders.values_list("external_id", flat=True).first()
        if holder is not None:
            # Order items link to products by SKU: two products with one SKU would be a guess.
            problems.append(
                _("SKU %(sku)s already belongs to product %(other)s.")
                % {"sku": texts["sku"], "other": holder}
            )
    if problems:
        raise ValidationError(problems)
    clean = replace(
        data,
        price=price,
        currency=currency,
        related=related,
        free_shipping_excluded_regions=regions,
    )
    for name, value in texts.items():
        setattr(clean, name, value)
    return clean


_COLUMNS = [f.name for f in fields(ProductData) if f.name != "related"]


def _write(product: Product, data: ProductData) -> Product:
    for name in _COLUMNS:
        setattr(product, name, getattr(data, name))
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:
        # Another request took the external id between the check and the save.
        raise ValidationError(
            _("Another product already has the external id %(id)s.") % {"id": data.external_id}
        ) from exc
    product.related.set(data.related)
    # As after an import: order items waiting for this product id, SKU or title link to it.
    products_stored.send(sender=Product, shop=product.shop, product_ids=[product.pk], source="page")
    return product


def create_product(*, actor: User, data: ProductData) -> Product:
    require(actor, Capability.MANAGE_SETTINGS)
    clean = _clean(actor, data, None)
    with transaction.atomic():
        return _write(Product(shop=shop_of(actor)), clean)


def update_product(*, actor: User, product: Product, data: ProductData) -> Product:
    require(actor, Capability.MANAGE_SETTINGS)
    if product.shop_id != shop_of(actor).pk:
        raise ValidationError(_("Not a product of your shop."), code="shop")
    clean = _clean(actor, data, product)
    with transaction.atomic():
        return _write(product, clean)


def delete_product(*, actor: User, product: Product) -> None:
    """Remove a product. Its order items keep their title and product id as the export said
    them and lose only the link; its conversations and marks lose only the link too."""
    require(actor, Capability.MANAGE_SETTINGS)
    if product.shop_id != shop_of(actor).pk:
        raise ValidationError(_("Not a product of your shop."), code="shop")
    product.delete()


def bulk_assign_owner(*, actor: User, product_ids: Iterable[int], owner: User | None) -> int:
    """Give products to one sub-account (or to nobody); returns how many were changed. One id
    that is not the shop's refuses the whole list (404)."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    products = access_products(actor, product_ids)
    if owner is not None and (owner.shop_id != shop.pk or owner.role != Role.AGENT):
        raise ValidationError(_("The owner must be a sub-account of this shop."))
    if owner is not None and not owner.is_active:
        raise ValidationError(_("The owner's account is disabled: choose an active sub-account."))
    owner_id = owner.pk if owner is not None else None
    return (
        Product.objects.filter(pk__in=[p.pk for p in products])
        .exclude(owner_id=owner_id)
        .update(owner=owner)
    )


def set_main_push(*, actor: User, product_ids: Iterable[int], flag: bool) -> int:
    """Mark products as main-push (主推款, suggested first, R-21) or unmark them."""
    require(actor, Capability.MANAGE_SETTINGS)
    products = access_products(actor, product_ids)
    return (
        Product.objects.filter(pk__in=[p.pk for p in products])
        .exclude(is_main_push=flag)
        .update(is_main_push=flag)
    )
