"""Per-stage timestamps of a buyer message on its way to the agents' sockets, for the push
bench (``bench push``; issue 15 item 3, decisions §104).

Off unless ``KEFU_PUSH_TRACE`` names a file prefix: each process then appends one JSON line
per record to ``<prefix>.<pid>`` (the intake worker per batch, the web process per bundle an
owner's socket takes), and the bench joins them with its own send, answer and receive times
by external id and message id. Off, a record is one attribute test.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import IO, Any

from django.conf import settings

ENABLED: bool = bool(settings.KEFU_PUSH_TRACE)
_lock = threading.Lock()
_out: IO[str] | None = None
_pid = 0
_collections: list[dict[str, Any]] = []


def record(stage: str, **fields: Any) -> None:
    """One line: the stage, the wall clock now (comparable across processes on one machine)
    and the fields given."""
    if not ENABLED:
        return
    global _out, _pid
    line = json.dumps({"stage": stage, "t": time.time(), **fields})
    while _collections:  # the slow collections since the last record, with when they ended
        line = json.dumps(_collections.pop(0)) + "\n" + line
    with _lock:
        if _out is None or _pid != os.getpid():  # a forked child writes a file of its own
            _pid = os.getpid()
            _out = open(f"{settings.KEFU_PUSH_TRACE}.{_pid}", "a", buffering=1)  # noqa: SIM115
            _watch_collections()
        _out.write(line + "\n")


def _watch_collections() -> None:
    """A record for each garbage collection of this process that took over 20 ms."""
    import gc

    started = [0.0]

    def collected(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = (time.perf_counter() - started[0]) * 1000
        if took > 20:
            # Not written here: a collection can start inside a write.
            _collections.append(
                {
                    "stage": "gc",
                    "t": time.time(),
                    "generation": info.get("generation"),
                    "ms": round(took, 1),
                }
            )

    gc.callbacks.append(collected)


_watched = 0


def watch_process() -> None:
    """In the web process, once: a record for each time its event loop woke over 50 ms late
    (what holds every socket's push at once). Call from a coroutine of the process's loop."""
    global _watched
    if not ENABLED or _watched == os.getpid():
        return
    _watched = os.getpid()
    import asyncio

    async def ticks() -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(0.01)
            late = (time.perf_counter() - before - 0.01) * 1000
            if late > 50:
                record("loop_late", ms=round(late, 1))

    _ticker.append(asyncio.get_running_loop().create_task(ticks()))


_ticker: list[Any] = []  # the ticker task, kept referenced
