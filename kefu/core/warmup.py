"""Load what the first buyer message would otherwise wait for, before a web process serves.

Language models take about a second to load on first use; without this the messages that
arrive just after a restart (a deploy during Double 11) queue behind that load.
"""

from __future__ import annotations

import logging
import time

from kefu.core.modules import optional_module

log = logging.getLogger("kefu.warmup")

# Modules that expose `warm_up()`; a domain that is not installed is skipped.
WARM_UP_MODULES = ("kefu.automation.language", "kefu.compliance.scanner")


def warm_up() -> list[str]:
    """Run every installed domain's warm-up; returns the modules warmed."""
    warmed = []
    for name in WARM_UP_MODULES:
        hook = getattr(optional_module(name), "warm_up", None)
        if hook is None:
            continue
        started = time.perf_counter()
        hook()
        warmed.append(name)
        log.info("warm_up module=%s seconds=%.2f", name, time.perf_counter() - started)
    return warmed
