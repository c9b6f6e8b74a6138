"""Which product an order item is: by product id, else by SKU (商家编码), else by exact title.

Order exports name products in different ways: the AliExpress export has a product id, many
ERP exports only the seller's 商家编码, the Taobao order export only 宝贝标题. An item links to
the first match; a title two products share links to neither (guessing would show an order to
the wrong sub-account). Items imported before their products stay unlinked until the products
arrive: every stored chunk of products re-links them, in the chunk's transaction, at two
statements per chunk (decisions §34).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q

from kefu.accounts.models import Shop
from kefu.catalog.models import Product
from kefu.core.db.bulk import Table
from kefu.orders.inputs import ItemInput
from kefu.orders.models import OrderItem

_ITEMS = Table(OrderItem)


class ProductIndex:
    """The products the items of a chunk of orders name, looked up once for the chunk."""

    def __init__(self, shop: Shop, items: Iterable[ItemInput]) -> None:
        ids: set[str] = set()
        skus: set[str] = set()
        titles: set[str] = set()
        for item in items:
            if item.product_external_id:
                ids.add(item.product_external_id)
            if item.sku:
                skus.add(item.sku)
            if item.title:
                titles.add(item.title[:300])
        found = Product.objects.filter(shop=shop)
        self.by_id: dict[str, Product] = (
            {p.external_id: p for p in found.filter(external_id__in=ids)} if ids else {}
        )
        self.by_sku: dict[str, Product] = (
            {p.sku: p for p in found.filter(sku__in=skus).exclude(sku="")} if skus else {}
        )
        self.by_title: dict[str, Product] = {}
        if titles:
            by_title: dict[str, list[Product]] = {}
            for p in found.filter(title__in=titles):
                by_title.setdefault(p.title, []).append(p)
            self.by_title = {t: ps[0] for t, ps in by_title.items() if len(ps) == 1}

    def find(self, item: ItemInput) -> Product | None:
        if item.product_external_id and item.product_external_id in self.by_id:
            return self.by_id[item.product_external_id]
        if item.sku and item.sku in self.by_sku:
            return self.by_sku[item.sku]
        if item.title:
            return self.by_title.get(item.title[:300])
        return None


def relink_order_items(*, shop: Shop, product_ids: list[int]) -> int:
    """Link the shop's unlinked order items that name one of `product_ids`; the number linked.

    Two statements per chunk of products whatever the number of items: one SELECT of the
    unlinked items naming these products (by id, SKU or title), one UPDATE per linked item
    sent as a single `executemany`. (A correlated `UPDATE … SET product_id = (SELECT …)` was
    the first version: SQLite planned its SKU lookup on the wrong index and took 13 s for
    10,000 items.)
    """
    unlinked = OrderItem.objects.filter(shop=shop, product__isnull=True)
    # A catalogue imported before any order (or after all are linked) has nothing to do.
    if not unlinked.exists():
        return 0
    keys = list(
        Product.objects.filter(shop=shop, pk__in=product_ids).values_list(
            "id", "external_id", "sku", "title"
        )
    )
    by_id = {k[1]: k[0] for k in keys}
    by_sku = {k[2]: k[0] for k in keys if k[2]}
    unique = set(_unique_titles(shop, {k[3] for k in keys}))
    by_title = {k[3]: k[0] for k in keys if k[3] in unique}
    wanted = Q(product_external_id__in=list(by_id))
    if by_sku:
        wanted |= Q(sku__in=list(by_sku))
    if by_title:
        wanted |= Q(title__in=list(by_title))
    updates: list[tuple[int, int]] = []
    for pk, external_id, sku, title in unlinked.filter(wanted).values_list(
        "id", "product_external_id", "sku", "title"
    ):
        product_id = (
            (by_id.get(external_id) if external_id else None)
            or (by_sku.get(sku) if sku else None)
            or by_title.get(title)
        )
        if product_id is not None:
            updates.append((product_id, pk))
    _ITEMS.update(("product_id",), updates)
    return len(updates)


def _unique_titles(shop: Shop, titles: set[str]) -> list[str]:
    return list(
        Product.objects.filter(shop=shop, title__in=titles)
        .order_by()
        .values("title")
        .annotate(n=Count("id"))
        .filter(n=1)
        .values_list("title", flat=True)
    )


def on_products_stored(sender: Any, *, shop: Shop, product_ids: list[int], **_: Any) -> None:
    """Receiver of `kefu.catalog.upserts.products_stored`: connected in OrdersConfig.ready."""
    relink_order_items(shop=shop, product_ids=product_ids)
