"""Demo data for the metrics domain, called by `kefu demo load` (kefu.demo.seed)."""

from __future__ import annotations

import random
from decimal import Decimal

from kefu.accounts.models import Shop
from kefu.accounts.selectors import owner_of
from kefu.metrics import config, refresh


def load(*, shop: Shop, rng: random.Random) -> None:
    """Exchange rates for the currencies the demo's orders use, then a full rebuild so the
    dashboard has figures before the first refresh runs."""
    owner = owner_of(shop)
    if owner is not None:
        rates = {"CNY": Decimal("0.1389"), "EUR": Decimal("1.0850"), "RUB": Decimal("0.0110")}
        config.set_reporting(actor=owner, rates=rates)
    refresh.rebuild_shop(shop=shop)
