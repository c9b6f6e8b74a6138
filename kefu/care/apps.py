from __future__ import annotations

import random
from typing import Any

from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "kefu.care"
    label = "care"
    default_auto_field = "django.db.models.BigAutoField"

    def after_import(self, *, shop: Any) -> str:
        """`kefu.core.after_import`: disputes in an imported file are complaints at once (the
        minute watch catches the order webhook's); its payments and deliveries get their
        follow-ups planned at once (sent by the five-minute task, outside quiet hours)."""
        from kefu.care.followups import plan_follow_ups
        from kefu.care.watch import open_new_disputes

        opened = open_new_disputes(shop=shop)
        planned = plan_follow_ups(shop=shop)
        notes = []
        if opened:
            notes.append(f"{opened} dispute(s) opened as complaints")
        if planned:
            notes.append(f"{planned} follow-up(s) planned")
        return "; ".join(notes)

    def load_demo(self, *, shop: Any, rng: random.Random) -> None:
        from kefu.care import demo

        demo.load(shop=shop, rng=rng)
