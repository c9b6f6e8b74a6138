"""Which product an order item is: by product id, else by SKU (商家编码), else by exact title.

Order exports name products in different ways: the AliExpress export has a product id, many
ERP exports only the seller's 商家编码, the Taobao order export only 宝贝标题. An item links to
the first match; a title two products share links to neither (guessing would show an order to
the wrong sub-account). Items imported before their products stay unlinked until the products
arrive: every stored chunk of products re-links them, in the chunk's transaction, with three
set-based UPDATEs (decisions §33).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Min, OuterRef, Subquery

from kefu.accounts.models import Shop
from kefu.catalog.models import Product
from kefu.orders.inputs import ItemInput
from kefu.orders.models import OrderItem


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

    Set-based: one UPDATE per way of naming a product, each restricted to the keys of these
    products, so a chunk of a large product import costs three statements.
    """
    unlinked = OrderItem.objects.filter(shop=shop, product__isnull=True)
    # A catalogue imported before any order (or after all are linked) has nothing to do.
    if not unlinked.exists():
        return 0
    products = Product.objects.filter(shop=shop, pk__in=product_ids)
    keys = list(products.values_list("external_id", "sku", "title"))
    ids = {k[0] for k in keys}
    skus = {k[1] for k in keys if k[1]}
    titles = {k[2] for k in keys}
    linked = 0
    if ids:
        linked += unlinked.filter(product_external_id__in=ids).update(
            product_id=Subquery(
                Product.objects.filter(
                    shop=shop, external_id=OuterRef("product_external_id")
                ).values("id")[:1]
            )
        )
    if skus:
        # Runs after the id match: what is still unlinked has no known product id.
        linked += unlinked.filter(sku__in=skus).update(
            product_id=Subquery(
                Product.objects.filter(shop=shop, sku=OuterRef("sku")).values("id")[:1]
            )
        )
    if titles:
        unique = _unique_titles(shop, titles)
        if unique:
            linked += unlinked.filter(title__in=unique).update(
                product_id=Subquery(
                    Product.objects.filter(shop=shop, title=OuterRef("title"))
                    .order_by()
                    .values("title")
                    .annotate(first=Min("id"))
                    .values("first")[:1]
                )
            )
    return linked


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
