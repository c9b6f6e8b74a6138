"""The web process's sockets out of the garbage collector's walks (decisions §104, §109).

The lifespan's start-up freezes what start-up built (relay.py). Each socket then builds objects
that live as long as it does (its consumer, scope, session, user, the server's protocol and
tasks), and each full collection walked all of them while every socket's push waited: at 1,000
agents' sockets, full collections of up to 1.1 s in the push bench (§104). So once a new
generation of sockets is up — as many opened since the last freeze as were open then, and
at least ``FIRST_FREEZE_SOCKETS`` — and connections have been quiet for ``QUIET_SECONDS``
(one freeze for a burst of reconnects, not one per socket), the process runs one full
collection and freezes what is left.

Frozen objects are never collected by the cyclic collector (reference counting still frees
them): a frozen socket's objects that form cycles stay once it closes. The rule above makes
freezes follow sockets, not time, and every ``THAW_EVERY``-th freeze first thaws everything,
so that garbage is collected: what frozen garbage holds is at most that many generations of
sockets, at the price of one collection that walks the whole process then.
"""

from __future__ import annotations

import asyncio
import gc
import time

from kefu.core import stagetrace

FIRST_FREEZE_SOCKETS = 64
QUIET_SECONDS = 2.0
# A burst that never goes quiet (steady reconnects) is frozen this long after it was due.
LONGEST_WAIT_SECONDS = 30.0
THAW_EVERY = 8


class SocketFreezer:
    """Counts the process's open sockets and freezes them a generation at a time."""

    def __init__(self) -> None:
        # Off until the web process's lifespan has frozen start-up (tests' sockets stay off).
        self.enabled = False
        self.open = 0
        self.opened_since = 0  # sockets opened since the last freeze
        self.open_at_freeze = 0
        self.freezes = 0
        self._timer: asyncio.TimerHandle | None = None
        self._due_since = 0.0

    def opened(self) -> None:
        """A socket was accepted; call from the process's event loop."""
        if not self.enabled:
            return
        self.open += 1
        self.opened_since += 1
        if self.opened_since < max(FIRST_FREEZE_SOCKETS, self.open_at_freeze):
            return
        now = time.monotonic()
        if self._timer is None:
            self._due_since = now
        elif now - self._due_since < LONGEST_WAIT_SECONDS:
            self._timer.cancel()
        else:
            return  # leave the pending freeze where it is
        self._timer = asyncio.get_running_loop().call_later(QUIET_SECONDS, self.freeze)

    def closed(self) -> None:
        if self.enabled and self.open > 0:
            self.open -= 1

    def freeze(self) -> None:
        self._timer = None
        self.freezes += 1
        thaw = self.freezes % THAW_EVERY == 0
        started = time.perf_counter()
        if thaw:
            gc.unfreeze()
        collected = gc.collect()
        gc.freeze()
        stagetrace.record(
            "freeze",
            sockets=self.open,
            thawed=thaw,
            collected=collected,
            frozen=gc.get_freeze_count(),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        self.open_at_freeze = self.open
        self.opened_since = 0


sockets = SocketFreezer()
