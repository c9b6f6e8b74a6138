from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "kefu.care"
    label = "care"
    default_auto_field = "django.db.models.BigAutoField"

    def after_import(self, *, shop: Any) -> str:
        """`kefu.core.after_import`: disputes in an imported file are complaints at once (the
        minute watch catches the order webhook's)."""
        from kefu.care.watch import open_new_disputes

        opened = open_new_disputes(shop=shop)
        return f"{opened} dispute(s) opened as complaints" if opened else ""
