"""SQLite with a fair queue for this process's write transactions (the embedded default).

Each ASGI request runs in its own thread with its own connection. When they all want the
write lock, SQLite's busy handler makes the losers sleep and retry, so a newcomer often wins
over a thread that has waited for seconds: at 16 concurrent webhooks the median was 117 ms
and the slowest 11 s. Threads of one process therefore queue on a Python lock before
`BEGIN IMMEDIATE`; other processes (worker, beat) still meet SQLite's own lock.

`BEGIN IMMEDIATE` itself is retried every millisecond rather than left to SQLite's busy
handler, whose sleeps grow to 25 and then 100 ms: the intake worker steps aside for a few
milliseconds between its batches (``kefu.desk.intake_queue``), and a waiter asleep for 25 ms
missed that gap and the next batch took the lock again (decisions §62). The statements
inside a transaction keep SQLite's own timeout.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base

# How often a waiting BEGIN IMMEDIATE asks again (SQLite's own handler: 1, 2, 5 … 100 ms).
BEGIN_RETRY_SECONDS = 0.001
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._holds_write_lock = False

    def _write_lock(self) -> threading.Lock:
        return _lock_for(str(self.settings_dict["NAME"]))

    def _start_transaction_under_autocommit(self) -> None:
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        if not self._write_lock().acquire(timeout=timeout):
            # Same words as SQLite's own: "database is locked" is a bug to fix, not retry.
            raise OperationalError(f"database is locked (waited {timeout:g} s in this process)")
        self._holds_write_lock = True
        try:
            self._begin_polled(timeout)
        except BaseException:
            self._release_write_lock()
            raise

    def _begin_polled(self, timeout: float) -> None:
        if getattr(self, "transaction_mode", None) != "IMMEDIATE":
            super()._start_transaction_under_autocommit()  # type: ignore[misc]
            return
        deadline = time.monotonic() + timeout
        raw = self.connection
        raw.execute("PRAGMA busy_timeout = 0")
        try:
            while True:
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc):
                        raise
                    if time.monotonic() >= deadline:
                        raise OperationalError(
                            f"database is locked (waited {timeout:g} s for BEGIN IMMEDIATE)"
                        ) from exc
                    time.sleep(BEGIN_RETRY_SECONDS)
        finally:
            raw.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    def _commit(self) -> None:
        try:
            super()._commit()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _rollback(self) -> None:
        try:
            super()._rollback()  # type: ignore[misc]
        finally:
            self._release_write_lock()

    def _close(self) -> None:
        try:
            super()._close()  # type: ignore[misc]
        finally:
            self._release_write_lock()
