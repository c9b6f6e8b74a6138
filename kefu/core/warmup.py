"""Load what the first buyer message would otherwise wait for, before a web process serves.

Language models take about a second to load on first use; without this the messages that
arrive just after a restart (a deploy during Double 11) queue behind that load. A domain
offers its warm-up as a ``warm_up()`` method of its AppConfig, returning what it loaded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.apps import apps

log = logging.getLogger("kefu.warmup")


def warm_up() -> list[str]:
    """Run every installed domain's warm-up, in INSTALLED_APPS order; returns what was warmed."""
    warmed = []
    for config in apps.get_app_configs():
        hook: Callable[[], str] | None = getattr(config, "warm_up", None)
        if hook is None:
            continue
        started = time.perf_counter()
        name = hook()
        warmed.append(name)
        log.info("warm_up module=%s seconds=%.2f", name, time.perf_counter() - started)
    return warmed
