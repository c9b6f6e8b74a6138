"""Keep `kefu run`'s processes up: a child that dies is logged and started again.

One crashed process used to stop them all, and the shop was down until someone restarted it.
A child that keeps dying waits longer each time (up to a minute), so a broken deploy does not
spin; one that ran a while starts again at once.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger("kefu.supervisor")

STEADY_SECONDS = 60.0  # a child that ran this long counts as healthy again
MAX_BACKOFF_SECONDS = 60.0


@dataclass
class Child:
    name: str
    command: Sequence[str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    failures: int = 0  # in a row
    restart_at: float | None = None
    restarts: int = 0

    def start(self, now: float) -> None:
        self.proc = subprocess.Popen(self.command, env=self.env)  # noqa: S603 - our own commands
        self.started_at = now
        self.restart_at = None

    def backoff(self) -> float:
        return min(MAX_BACKOFF_SECONDS, 2.0 ** max(self.failures - 1, 0))


def until_signalled() -> Callable[[], bool]:
    """A ``should_stop`` that turns true on SIGTERM or SIGINT (installed now), so a
    long-running command finishes its current step and stops cleanly."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return lambda: stopping


def supervise(
    children: Sequence[Child],
    *,
    should_stop: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Run until ``should_stop()``; then stop every child (terminate, kill after 10 s)."""
    for child in children:
        child.start(clock())
    while not should_stop():
        now = clock()
        for child in children:
            if child.proc is not None and child.restart_at is None:
                code = child.proc.poll()
                if code is None:
                    continue
                ran = now - child.started_at
                child.failures = 1 if ran >= STEADY_SECONDS else child.failures + 1
                child.restart_at = now + (0.0 if ran >= STEADY_SECONDS else child.backoff())
                log.error(
                    "child_exited name=%s code=%s ran_seconds=%.1f restart_in_seconds=%.1f",
                    child.name,
                    code,
                    ran,
                    child.restart_at - now,
                )
                print(
                    f"kefu: {child.name} exited with {code}; "
                    f"restarting in {child.restart_at - now:.0f} s",
                    flush=True,
                )
            if child.restart_at is not None and now >= child.restart_at:
                child.restarts += 1
                child.start(now)
                log.info("child_restarted name=%s restarts=%d", child.name, child.restarts)
        sleep(0.25)
    stop_all(children)


def stop_all(children: Sequence[Child]) -> None:
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        proc.terminate()
    for proc in running:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
