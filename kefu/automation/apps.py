from __future__ import annotations

import random
from typing import TYPE_CHECKING

from django.apps import AppConfig

if TYPE_CHECKING:
    from kefu.accounts.models import Shop


class AutomationConfig(AppConfig):
    name = "kefu.automation"
    label = "automation"
    default_auto_field = "django.db.models.BigAutoField"

    # Hooks import their module when called: apps.py is loaded before models are ready.

    def warm_up(self) -> str:
        """Load the language models before the first buyer waits for them (decisions §18)."""
        from kefu.automation import language

        language.warm_up()
        return language.__name__

    def load_demo(self, *, shop: Shop, rng: random.Random) -> None:
        from kefu.automation import demo

        demo.load(shop=shop, rng=rng)
