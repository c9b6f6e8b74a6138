"""Bring derived data up to date once an import has stored a shop's rows.

An import (orders, message history) writes raw rows; figures derived from them (the metrics
rollups) live in a higher layer that the importers must not import. A domain offers its
catch-up as an ``after_import(shop=...)`` method of its AppConfig, returning one line for the
seller (or ""); the importers call `after_import` when they finish, so the figures are
current whether or not a worker is running.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.apps import apps

log = logging.getLogger("kefu.imports")


def after_import(*, shop: Any) -> list[str]:
    """Run every installed domain's after-import hook for ``shop`` (an accounts Shop, typed
    loosely because core sits below accounts), in INSTALLED_APPS order.

    A failing hook is logged and reported, never raised: the import itself has succeeded and
    the periodic jobs catch up later."""
    notes: list[str] = []
    for config in apps.get_app_configs():
        hook: Callable[..., str] | None = getattr(config, "after_import", None)
        if hook is None:
            continue
        try:
            note = hook(shop=shop)
        except Exception:
            log.exception("after_import_failed app=%s shop=%s", config.label, shop.pk)
            notes.append(f"{config.label}: not updated now; the periodic job will catch up")
            continue
        if note:
            notes.append(note)
    return notes
