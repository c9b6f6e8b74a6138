from __future__ import annotations

import random
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from kefu.accounts.models import Shop


class OrdersConfig(AppConfig):
    name = "kefu.orders"
    label = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Catalog sits below orders: it announces stored products and orders re-link the
        # items that waited for them (decisions §34).
        from kefu.catalog.upserts import products_stored
        from kefu.orders.product_links import on_products_stored

        products_stored.connect(on_products_stored, dispatch_uid="orders-relink-items")

    def load_demo(self, *, shop: Shop, rng: random.Random) -> None:
        # Imported when called: apps.py is loaded before models are ready.
        from kefu.orders import demo

        demo.load(shop=shop, rng=rng)
