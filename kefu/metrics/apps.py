from __future__ import annotations

import random
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from kefu.accounts.models import Shop


class MetricsConfig(AppConfig):
    name = "kefu.metrics"
    label = "metrics"
    default_auto_field = "django.db.models.BigAutoField"

    def load_demo(self, *, shop: Shop, rng: random.Random) -> None:
        # Imported when called: apps.py is loaded before models are ready.
        from kefu.metrics import demo

        demo.load(shop=shop, rng=rng)

    def after_import(self, *, shop: Shop) -> str:
        """`kefu.core.after_import`: the imported days' figures are current at once."""
        from kefu.metrics import refresh

        return refresh.refresh_after_import(shop=shop)
