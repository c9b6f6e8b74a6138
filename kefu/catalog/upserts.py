"""Product upserts: the one write path of product imports, the product webhook and bulk edits.

Idempotent on (shop, platform product id): the same inputs applied twice leave the second run
"unchanged". Inputs are written in chunks, each in its own transaction, at a fixed number of
statements per chunk whatever its size — one lookup each for its products, owners and SKUs,
then one INSERT and one UPDATE — without model instances, through `kefu.core.db.bulk.Table`
(decisions §17). A row that cannot be stored (no title, an unknown owner login, a SKU another
product holds, a price out of range) is rejected with its reason and the others are stored.

After each chunk, inside its transaction, `products_stored` tells the layers above which
products were stored, so orders re-link their unlinked items in the same transaction
(decisions §34): catalog is below orders and cannot call it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext

from kefu.accounts.models import Role, Shop, User
from kefu.catalog.models import Product
from kefu.core.db.bulk import LoadedRow, Table, model_defaults

CHUNK = 1000
# price is DecimalField(max_digits=12, decimal_places=2)
MAX_PRICE = Decimal("1e10")
MAX_STOCK = 2_000_000_000
MAX_REGIONS = 100

# Sent inside each chunk's transaction with `shop` and `product_ids` (every product the chunk
# created, updated or found unchanged): receivers link what waited for these products.
products_stored = Signal()

_PRODUCTS = Table(Product)
# A web address: scheme, a host with a dot (or localhost), no spaces. Django's URLValidator
# cost a third of a 100k-row import; a page that edits the product validates fully.
_WEB_ADDRESS = re.compile(
    r"^https?://(?:[^\s/?#@]+@)?[^\s/?#.]+(?:\.[^\s/?#.]+)+(?::\d+)?(?:[/?#]\S*)?$", re.I
)

_FACTS = ("shelf_life", "suits", "ships_from", "dispatch_time", "differences")
_TEXT_LIMITS = {f.name: f.max_length for f in Product._meta.concrete_fields if f.max_length}

# The product columns an upsert reads or writes, in the order they are loaded.
_COLUMNS = (
    "id",
    "external_id",
    "sku",
    "title",
    "category",
    "owner_id",
    "price",
    "currency",
    "stock",
    "url",
    "image_url",
    "free_shipping",
    "free_shipping_excluded_regions",
    "is_main_push",
    "usage_cycle_days",
    *_FACTS,
)
_WRITABLE = tuple(c for c in _COLUMNS if c not in ("id", "external_id"))


@dataclass(frozen=True)
class ProductInput:
    """One product as a source describes it. None means "the source does not say": the stored
    value is kept (a new product takes the model's default)."""

    external_id: str
    row: int | None = None
    sku: str | None = None
    title: str | None = None
    category: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    stock: int | None = None
    url: str | None = None
    image_url: str | None = None
    owner_login: str | None = None
    is_main_push: bool | None = None
    free_shipping: bool | None = None
    free_shipping_excluded_regions: tuple[str, ...] | None = None
    usage_cycle_days: int | None = None
    related_external_ids: tuple[str, ...] | None = None
    shelf_life: str | None = None
    suits: str | None = None
    ships_from: str | None = None
    dispatch_time: str | None = None
    differences: str | None = None


@dataclass(frozen=True)
class ProductOutcome:
    external_id: str
    # "created" | "updated" | "unchanged" | "rejected"
    outcome: str
    product_id: int | None = None
    reason: str = ""
    row: int | None = None
    notes: tuple[str, ...] = field(default=())


class _Row(LoadedRow):
    __slots__ = _COLUMNS
    COLUMNS = _COLUMNS
    DEFAULTS = model_defaults(Product, _COLUMNS)

    id: int | None
    external_id: str
    sku: str
    title: str
    category: str
    owner_id: int | None
    price: Decimal
    currency: str
    stock: int
    url: str
    image_url: str
    free_shipping: bool
    free_shipping_excluded_regions: list[str]
    is_main_push: bool
    usage_cycle_days: int | None
    shelf_life: str
    suits: str
    ships_from: str
    dispatch_time: str
    differences: str

    @classmethod
    def new(cls, external_id: str, currency: str) -> _Row:
        # id, owner_id and usage_cycle_days start as None (the model's defaults); the list
        # is a new one per row.
        regions: list[str] = []
        return cls.blank(
            external_id=external_id, currency=currency, free_shipping_excluded_regions=regions
        )


def _check(inp: ProductInput) -> str:
    """Why `inp` cannot be stored whatever the shop holds, or ""."""
    if not inp.external_id.strip():
        return gettext("no product id")
    if len(inp.external_id) > 80:
        return gettext("product id longer than 80 characters")
    if inp.title is not None and not inp.title.strip():
        return gettext("empty title")
    if inp.sku is not None and len(inp.sku) > 80:
        return gettext("SKU longer than 80 characters")
    # Refused, not cut: two long labels cut alike would merge two categories in segments.
    if inp.category is not None and len(inp.category.strip()) > _TEXT_LIMITS["category"]:
        return gettext("category longer than %(limit)s characters") % {
            "limit": _TEXT_LIMITS["category"]
        }
    if inp.price is not None and (
        not inp.price.is_finite() or inp.price < 0 or inp.price >= MAX_PRICE
    ):
        return gettext("price %(price)s is not a price") % {"price": inp.price}
    if inp.stock is not None and not 0 <= inp.stock <= MAX_STOCK:
        return gettext("stock %(stock)s is not a quantity") % {"stock": inp.stock}
    if inp.usage_cycle_days is not None and not 0 < inp.usage_cycle_days <= 3650:
        return gettext("usage cycle %(days)s is not a number of days (1–3650)") % {
            "days": inp.usage_cycle_days
        }
    for name, limit in (("url", _TEXT_LIMITS["url"]), ("image_url", 500)):
        value = getattr(inp, name)
        if value:
            if len(value) > limit:
                return gettext("%(field)s longer than %(limit)s characters") % {
                    "field": name,
                    "limit": limit,
                }
            if not _WEB_ADDRESS.match(value):
                return (
                    gettext("image %(value)r is not a web address (http:// or https://)")
                    if name == "image_url"
                    else gettext("link %(value)r is not a web address (http:// or https://)")
                ) % {"value": value[:80]}
    if (
        inp.free_shipping_excluded_regions is not None
        and len(inp.free_shipping_excluded_regions) > MAX_REGIONS
    ):
        return gettext("more than %(n)s excluded regions") % {"n": MAX_REGIONS}
    return ""


def _apply(row: _Row, inp: ProductInput, owner_id: int | None) -> set[str]:
    changed: set[str] = set()

    def put(name: str, value: object) -> None:
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed.add(name)

    if inp.title is not None:
        put("title", inp.title.strip()[:300])
    if inp.sku is not None:
        put("sku", inp.sku.strip())
    if inp.category is not None:
        put("category", inp.category.strip())
    if inp.price is not None:
        put("price", inp.price.quantize(Decimal("0.01")))
    if inp.currency:
        put("currency", inp.currency.strip().upper()[:3])
    for name in ("stock", "url", "image_url", "is_main_push", "free_shipping", "usage_cycle_days"):
        value = getattr(inp, name)
        if value is not None:
            put(name, value)
    if inp.free_shipping_excluded_regions is not None:
        regions = list(dict.fromkeys(r.strip() for r in inp.free_shipping_excluded_regions))
        put("free_shipping_excluded_regions", [r[:100] for r in regions if r])
    if inp.owner_login is not None:
        put("owner_id", owner_id)
    for name in _FACTS:
        value = getattr(inp, name)
        if value is not None:
            put(name, value.strip()[: _TEXT_LIMITS[name]])
    return changed


def _owners(shop: Shop, logins: Iterable[str]) -> dict[str, int]:
    wanted = {login for login in logins if login}
    if not wanted:
        return {}
    # An owner is a sub-account, as on the products page: the main account sees every
    # product anyway, so naming it would only hide the product from the sub-accounts.
    return dict(
        User.objects.filter(
            shop=shop, username__in=wanted, is_active=True, role=Role.AGENT
        ).values_list("username", "id")
    )


class _Call:
    """What the chunks of one `upsert_products` call share: SKUs already claimed by the call."""

    def __init__(self) -> None:
        self.sku_owner: dict[str, str] = {}  # sku -> external id that claimed it in this call
        self.owners: dict[str, int | None] = {}


def _upsert_chunk(
    *, shop: Shop, inputs: Sequence[ProductInput], source: str, call: _Call
) -> list[ProductOutcome]:
    now = timezone.now()
    outcomes: list[ProductOutcome | None] = [None] * len(inputs)
    valid: list[int] = []
    for n, inp in enumerate(inputs):
        reason = _check(inp)
        if reason:
            outcomes[n] = ProductOutcome(inp.external_id, "rejected", reason=reason, row=inp.row)
        else:
            valid.append(n)

    ids = {inputs[n].external_id.strip() for n in valid}
    existing = {
        row.external_id: row
        for row in map(
            _Row.from_values,
            Product.objects.select_for_update()
            .filter(shop=shop, external_id__in=ids)
            .values_list(*_COLUMNS),
        )
    }
    logins = {(inputs[n].owner_login or "").strip() for n in valid}
    unknown_logins = {login for login in logins if login and login not in call.owners}
    found = _owners(shop, unknown_logins)
    for login in unknown_logins:
        call.owners[login] = found.get(login)
    skus = {(inputs[n].sku or "").strip() for n in valid} - {""}
    held = dict(
        Product.objects.filter(shop=shop, sku__in=skus)
        .exclude(external_id__in=ids)
        .values_list("sku", "external_id")
        if skus
        else ()
    )

    new_rows: dict[str, _Row] = {}
    changed_rows: dict[str, tuple[_Row, set[str]]] = {}
    plan: list[tuple[int, _Row, str]] = []
    for n in valid:
        inp = inputs[n]
        external_id = inp.external_id.strip()
        login = (inp.owner_login or "").strip()
        owner_id = call.owners.get(login) if login else None
        if login and owner_id is None:
            outcomes[n] = ProductOutcome(
                external_id,
                "rejected",
                reason=gettext("no sub-account with login %(login)s in this shop")
                % {"login": login},
                row=inp.row,
            )
            continue
        sku = (inp.sku or "").strip()
        if sku:
            holder = held.get(sku) or call.sku_owner.get(sku)
            if holder is not None and holder != external_id:
                outcomes[n] = ProductOutcome(
                    external_id,
                    "rejected",
                    reason=gettext("SKU %(sku)s already belongs to product %(other)s")
                    % {"sku": sku, "other": holder},
                    row=inp.row,
                )
                continue
        row = existing.get(external_id) or new_rows.get(external_id)
        is_new = row is None
        if row is None:
            if inp.title is None:
                outcomes[n] = ProductOutcome(
                    external_id,
                    "rejected",
                    reason=gettext("a new product needs a title"),
                    row=inp.row,
                )
                continue
            row = _Row.new(external_id, shop.currency)
            new_rows[external_id] = row
        old_sku = row.sku
        changed = _apply(row, inp, owner_id)
        if "sku" in changed:
            call.sku_owner.pop(old_sku, None)
        if row.sku:
            call.sku_owner[row.sku] = external_id
        if is_new:
            plan.append((n, row, "created"))
        else:
            plan.append((n, row, "updated" if changed else "unchanged"))
            if changed and row.id is not None:
                _, before = changed_rows.get(external_id, (row, set()))
                changed_rows[external_id] = (row, before | changed)

    if new_rows:
        _PRODUCTS.insert(
            ("shop_id", "external_id", *_WRITABLE),
            [(shop.pk, r.external_id, *r.values(_WRITABLE)) for r in new_rows.values()],
            now=now,
        )
        stored = dict(
            Product.objects.filter(shop=shop, external_id__in=list(new_rows)).values_list(
                "external_id", "id"
            )
        )
        for external_id, row in new_rows.items():
            row.id = stored[external_id]
    if changed_rows:
        fields = sorted(set().union(*(c for _, c in changed_rows.values())))
        _PRODUCTS.update(fields, [[*r.values(fields), r.id] for r, _ in changed_rows.values()])

    for n, row, outcome in plan:
        outcomes[n] = ProductOutcome(row.external_id, outcome, product_id=row.id, row=inputs[n].row)
    product_ids = sorted({row.id for _, row, _ in plan if row.id is not None})
    if product_ids:
        products_stored.send(sender=Product, shop=shop, product_ids=product_ids, source=source)
    return [o for o in outcomes if o is not None]


def _link_related(
    *, shop: Shop, inputs: Sequence[ProductInput], outcomes: list[ProductOutcome]
) -> list[ProductOutcome]:
    """Set related products (R-21) once every chunk is stored, so a row may name a product
    further down the file. A related id the shop does not have is a note on the row."""
    stored = {o.external_id for o in outcomes if o.outcome != "rejected"}
    wanted = [
        (n, inp)
        for n, inp in enumerate(inputs)
        if inp.related_external_ids is not None and inp.external_id.strip() in stored
    ]
    if not wanted:
        return outcomes
    names = {inp.external_id.strip() for _, inp in wanted} | {
        r.strip() for _, inp in wanted for r in inp.related_external_ids or ()
    }
    ids = dict(
        Product.objects.filter(shop=shop, external_id__in=names).values_list("external_id", "id")
    )
    through = Product.related.through
    result = list(outcomes)
    with transaction.atomic():
        for n, inp in wanted:
            pid = ids[inp.external_id.strip()]
            targets = {r.strip() for r in inp.related_external_ids or () if r.strip()}
            missing = sorted(t for t in targets if t not in ids)
            want = {ids[t] for t in targets if t in ids and ids[t] != pid}
            have = set(
                through.objects.filter(from_product_id=pid).values_list("to_product_id", flat=True)
            )
            if want != have:
                product = Product(pk=pid, shop=shop)
                product.related.set(want)
            out = result[n]
            if out.outcome == "unchanged" and want != have:
                out = ProductOutcome(out.external_id, "updated", out.product_id, row=out.row)
            if missing:
                note = gettext("related product %(ids)s not found") % {
                    "ids": ", ".join(missing[:5])
                }
                out = ProductOutcome(
                    out.external_id,
                    out.outcome,
                    out.product_id,
                    out.reason,
                    out.row,
                    (*out.notes, note),
                )
            result[n] = out
    return result


def upsert_products(
    *, shop: Shop, inputs: Sequence[ProductInput], source: str
) -> list[ProductOutcome]:
    """Create or update products by platform product id; one outcome per input, in order.

    Each chunk of `CHUNK` inputs is one transaction: a failure leaves earlier chunks stored.
    A concurrent writer that creates one of the products first makes the insert fail; the
    chunk then retries once and updates instead. `source` ("import", "webhook", "api", ...)
    reaches the receivers of `products_stored`.
    """
    call = _Call()
    outcomes: list[ProductOutcome] = []
    for start in range(0, len(inputs), CHUNK):
        chunk = inputs[start : start + CHUNK]
        for attempt in range(2):
            try:
                with transaction.atomic():
                    outcomes += _upsert_chunk(shop=shop, inputs=chunk, source=source, call=call)
                break
            except IntegrityError:
                if attempt:
                    raise
    return _link_related(shop=shop, inputs=inputs, outcomes=outcomes)


__all__ = [
    "CHUNK",
    "ProductInput",
    "ProductOutcome",
    "products_stored",
    "upsert_products",
]
