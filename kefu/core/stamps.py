"""Stamps: a value every process can read cheaply that changes whenever something it guards
changes, so a process may keep its own copy of rarely changing rows and know when to drop it.

A stamp is a random token, replaced on every change (``bump``). Where the cache is Redis
(PostgreSQL deployments, any number of nodes) it lives in Redis beside the rate-limit counters,
so the webhook reads it in the same round trip as its counters (``ratelimit.hit_all``). On the
embedded SQLite default, where the cache is each process's own memory, it is a small file in
``KEFU_DATA_DIR``: every process of the one machine reads the same file. A missing stamp (a
Redis restart without persistence, a new data directory) is created with a fresh token, so a
copy taken before can never match it again.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

log = logging.getLogger("kefu.stamps")

_lock = threading.Lock()
_client: Any = None
_client_pid = 0


def new_token() -> str:
    return secrets.token_hex(8)


def redis_client(backend: Any = None) -> Any | None:
    """The cache's Redis client, one per process (Django builds a new client object, with its
    table of response callbacks, on every cache call); None when the cache is not Redis.
    `backend`: the cache backend the caller already looked up (each use of the `cache` proxy
    looks it up again, in a thread-local table)."""
    global _client, _client_pid
    backend = getattr(backend if backend is not None else cache, "_cache", None)
    if backend is None or not hasattr(backend, "get_client"):
        return None
    pid = os.getpid()
    if _client is None or _client_pid != pid:
        with _lock:
            if _client is None or _client_pid != pid:
                _client = backend.get_client(write=True)
                _client_pid = pid
    return _client


def redis_key(name: str, backend: Any = None) -> str:
    """The Redis key of a stamp: inside the cache's key prefix, so a cache flush drops it."""
    return str((backend if backend is not None else cache).make_key(f"stamp:{name}"))


def _path(name: str) -> os.PathLike[str]:
    path: os.PathLike[str] = settings.DATA_DIR / f"stamp-{name}"
    return path


def current(name: str) -> str:
    """The stamp as it is now (created when missing)."""
    client = redis_client()
    if client is not None:
        key = redis_key(name)
        client.set(key, new_token(), nx=True)
        value = client.get(key)
        return value.decode() if isinstance(value, bytes) else str(value)
    path = _path(name)
    try:
        with open(path, encoding="ascii") as handle:
            value = handle.read().strip()
    except FileNotFoundError:
        value = ""
    if not value:
        _write(path, new_token())
        with open(path, encoding="ascii") as handle:
            value = handle.read().strip()
    return value


def _write(path: os.PathLike[str], token: str) -> None:
    # Written aside and renamed over: a reader sees the old token or the new, never half.
    temporary = f"{os.fspath(path)}.{os.getpid()}.{threading.get_ident()}"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(token)
    os.replace(temporary, path)


def _replace(name: str) -> None:
    client = redis_client()
    try:
        if client is not None:
            client.set(redis_key(name), new_token())
        else:
            _write(_path(name), new_token())
    except Exception:
        # The change itself is saved; copies expire on their own (KEFU_SHOP_CACHE_SECONDS).
        log.exception("stamp_bump_failed name=%s", name)


def bump(name: str) -> None:
    """Something the stamp guards changed: replace it now and again when the transaction
    commits. Now, so no process keeps a copy under the old stamp; at the commit, because a
    process that read the new stamp before the commit may have copied the old rows."""
    _replace(name)
    transaction.on_commit(lambda: _replace(name))
