"""Counting requests in Django's cache: fixed-window rate limits and failure lockouts.

One counter per (scope, key, window) where the window is a fixed slice of time: simple, one
atomic `incr` per request on Redis or in the process's memory, and at worst twice the limit
across a window boundary, which is fine for stopping floods. Pages use `rate_limited`; the
signed webhooks call `hit` from their shared auth class. Which cache holds the counters is a
deployment setting (decisions §26).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import monotonic, sleep
from typing import Any, Concatenate, ParamSpec, cast

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from redis.exceptions import BusyLoadingError, NoScriptError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from kefu.core import stamps

P = ParamSpec("P")


@dataclass(frozen=True)
class Limit:
    """At most `count` events per `seconds`."""

    count: int
    seconds: int


class RateLimited(Exception):
    """A limit is reached; `retry_after` whole seconds until the window ends."""

    def __init__(self, retry_after: int, detail: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
        self.detail = detail


def _incr(key: str, timeout: int) -> int:
    # `add` is a no-op when the key exists, so concurrent first hits do not reset each other.
    cache.add(key, 0, timeout=timeout)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def _counter_key(scope: str, key: str, window: int) -> str:
    # Keys come from outside (a buyer id may be 10,000 characters of any script): a long or
    # unusual one is counted under its digest, so every cache backend takes the key.
    if len(key) > 64 or not (key.isascii() and key.isprintable()) or " " in key:
        key = "sha1-" + hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()
    return f"rl:{scope}:{key}:{window}"


def hit(scope: str, key: str, limit: Limit, *, now: float | None = None) -> int | None:
    """Count one event; the seconds to wait if it is over the limit, else None."""
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    count = _incr(_counter_key(scope, key, window), limit.seconds + 1)
    if count <= limit.count:
        return None
    return max(1, math.ceil((window + 1) * limit.seconds - now))


@dataclass(frozen=True)
class Count:
    """One counter a request counts against: `scope` and `key` name it, `limit` bounds it."""

    scope: str
    key: str
    limit: Limit


@dataclass(frozen=True)
class Counted:
    """What `hit_all` did. `over` is the index of the first count over its limit (the counts
    after it were not counted) and `wait` its seconds to wait; both None when all are within.
    `fenced` is True when the fence's stamp had moved: nothing was counted and `stamp` is
    its value now."""

    over: int | None
    wait: int | None
    stamp: str | None = None
    fenced: bool = False


# Count each counter in order, stopping at the first over its limit, exactly as calls of `hit`
# one after the other would; first, when a fence is given, check its stamp and count nothing
# if it moved. One round trip instead of three commands per counter and one for the stamp.
# KEYS: the fence's stamp key (or "") then the counters' keys; ARGV: a fresh token for a
# missing stamp, the expected stamp (or ""), then per counter its limit and its time to live.
_HIT_ALL = """
local stamp = false
if KEYS[1] ~= "" then
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
  stamp = redis.call('GET', KEYS[1])
  if ARGV[2] ~= "" and stamp ~= ARGV[2] then
    return {-1, 0, stamp}
  end
end
for i = 2, #KEYS do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[2 * i]))
  end
  if n > tonumber(ARGV[2 * i - 1]) then
    return {i - 1, n, stamp}
  end
end
return {0, 0, stamp}
"""
_HIT_ALL_SHA = hashlib.sha1(_HIT_ALL.encode(), usedforsecurity=False).hexdigest()


class _OwnConnection(threading.local):
    """Each request thread's own connection to the counters' Redis (decisions §81). Through
    the client, every call took a connection from the shared pool and gave it back under the
    pool's lock, around retry and metrics wrappers: half the CPU of the webhook's one Redis
    round trip on the intake server's 8 threads. Its settings (address, database, password,
    timeouts) are the pool's."""

    pid = 0
    pool: Any = None
    conn: Any = None


_own = _OwnConnection()


# --- a Redis that refuses connections (decisions §122) --------------------------------------
# Restarted, Redis refuses connections for a moment (or answers LOADING while it reads its
# data back): every webhook request found its connection closed, could not open another and
# answered 503 at once, ~1,000-2,800 of them in the soak's second of restart, each sent again
# half a second later. Now a request whose counting call finds Redis refusing waits for it,
# up to REFUSED_WAIT_SECONDS, asleep; one thread of the process tries again every
# REFUSED_PAUSE_SECONDS; once it gets in, the waiting requests count and go on. The limits
# still limit: no request passes uncounted. After the wait the answer is 503, as before
# (fail closed, not open: an open limiter would let a looping connector or a flood through
# for as long as Redis is away, and a 503 already tells the sender to send again).
# Only a refusal is waited for: a connect refused or a LOADING reply, where the script did
# not run. A connection lost after the script was sent is not resent (it may have counted).
# The wait reads `monotonic`, not `time.time`: the windows' clock, which tests hold still.
REFUSED_PAUSE_SECONDS = 0.1
REFUSED_WAIT_SECONDS = 2.0
_refused_until = 0.0


class _Refused(Exception):
    """Redis refused the call before counting anything; `__cause__` is its error."""


def _own_connection(client: Any) -> Any:
    """This thread's connection to the counters' Redis, checked as redis-py's pool checks a
    connection it hands out: one Redis closed (a restart, a timeout) reads as readable; it
    starts again before sending, never resends after."""
    own, pool, pid = _own, client.connection_pool, os.getpid()
    if own.conn is None or own.pool is not pool or own.pid != pid:
        # A new thread, another Redis (tests), or a forked child: never a parent's socket.
        own.conn, own.pool, own.pid = pool.connection_class(**pool.connection_kwargs), pool, pid
    conn = own.conn
    try:
        if conn.is_connected and conn.can_read():
            conn.disconnect()
    except (RedisConnectionError, RedisTimeoutError, OSError):
        conn.disconnect()
    return conn


def _hit_all_once(client: Any, keys: list[str], args: list[object]) -> Any:
    """The script's reply, one try; `_Refused` when Redis refused it before it ran."""
    conn = _own_connection(client)
    if not conn.is_connected:
        try:
            conn.connect()
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            conn.disconnect()
            raise _Refused from exc
    try:
        conn.send_command("EVALSHA", _HIT_ALL_SHA, len(keys), *keys, *args)
        try:
            return conn.read_response()
        except NoScriptError:
            # Redis restarted (or its scripts were flushed): load the script, run it again.
            conn.send_command("SCRIPT", "LOAD", _HIT_ALL)
            conn.read_response()
            conn.send_command("EVALSHA", _HIT_ALL_SHA, len(keys), *keys, *args)
            return conn.read_response()
    except BusyLoadingError as exc:
        # Redis is reading its data back: it refused the script, which did not run.
        conn.disconnect()
        raise _Refused from exc
    except BaseException:
        # A reply half read would be the next call's: the connection starts again.
        conn.disconnect()
        raise


def _run_hit_all(client: Any, keys: list[str], args: list[object]) -> Any:
    """The script's reply to `keys` and `args`, on this thread's own connection; while Redis
    refuses, waits for it up to REFUSED_WAIT_SECONDS (one thread of the process trying every
    REFUSED_PAUSE_SECONDS), then raises Redis's error, which answers 503. Nothing has been
    counted when it raises that."""
    global _refused_until
    deadline = 0.0
    while True:
        now = monotonic()
        until = _refused_until  # read once: another thread may change it
        if until:
            deadline = deadline or now + REFUSED_WAIT_SECONDS
            if now < until:
                if now >= deadline:
                    raise RedisConnectionError("Redis refuses connections; waited for it")
                sleep(min(until, deadline) - now)
                continue
            # This thread tries again; the others sleep until it knows.
            _refused_until = now + REFUSED_PAUSE_SECONDS
        try:
            reply = _hit_all_once(client, keys, args)
        except _Refused as refused:
            now = monotonic()
            _refused_until = now + REFUSED_PAUSE_SECONDS
            deadline = deadline or now + REFUSED_WAIT_SECONDS
            if now >= deadline:
                raise refused.__cause__ or RedisConnectionError("Redis refused") from None
            continue
        if until or _refused_until:
            _refused_until = 0.0
        return reply


def hit_all(
    counts: Sequence[Count], *, fence: tuple[str, str] | None = None, now: float | None = None
) -> Counted:
    """Count one event against each of `counts`, in order, stopping at the first over its
    limit; with `fence` (a stamp's name and the value the caller's copy was taken under),
    count nothing when the stamp moved. On Redis one atomic script call does it all."""
    now = time.time() if now is None else now
    windows = [int(now // c.limit.seconds) for c in counts]
    keys = [_counter_key(c.scope, c.key, w) for c, w in zip(counts, windows, strict=True)]
    backend = caches[DEFAULT_CACHE_ALIAS]  # once: each use of the `cache` proxy looks it up
    client = stamps.redis_client(backend)
    if client is not None:
        args: list[object] = [stamps.new_token(), fence[1] if fence else ""]
        for c in counts:
            args += [c.limit.count, c.limit.seconds + 1]
        stamp_key = stamps.redis_key(fence[0], backend) if fence else ""
        index, _, raw = _run_hit_all(
            client, [stamp_key, *(backend.make_key(k) for k in keys)], args
        )
        stamp = raw.decode() if isinstance(raw, bytes) else None
        if index == -1:
            return Counted(None, None, stamp=stamp, fenced=True)
        if index == 0:
            return Counted(None, None, stamp=stamp)
        over = int(index) - 1
    else:
        stamp = stamps.current(fence[0]) if fence else None
        if fence and stamp != fence[1]:
            return Counted(None, None, stamp=stamp, fenced=True)
        for i, (c, key) in enumerate(zip(counts, keys, strict=True)):
            if _incr(key, c.limit.seconds + 1) > c.limit.count:
                over = i
                break
        else:
            return Counted(None, None, stamp=stamp)
    seconds = counts[over].limit.seconds
    wait = max(1, math.ceil((windows[over] + 1) * seconds - now))
    return Counted(over, wait, stamp=stamp)


def _too_many(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    """The 429 a page answers: the reason as plain text (the widget shows it) and when to retry."""
    response = HttpResponse(exc.detail, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(exc.retry_after)
    return response


@dataclass(frozen=True)
class Rule:
    """One limit on a view. `key` names whose counter a request counts against (None: this
    request is not counted); `limit` reads the limit that applies (often the shop's own);
    `detail` words the refusal for the person who hit it, given the seconds to wait."""

    scope: str
    key: Callable[[HttpRequest, str], str | None]
    limit: Callable[[HttpRequest, str], Limit]
    detail: Callable[[int], str]


def rate_limited(
    *rules: Rule,
) -> Callable[
    [Callable[Concatenate[HttpRequest, str, P], HttpResponseBase]],
    Callable[Concatenate[HttpRequest, str, P], HttpResponseBase],
]:
    """A page view taking the shop slug: each rule counts the request, in order; the first
    one over its limit answers 429 with `Retry-After` and the view does not run."""

    def decorate(
        view: Callable[Concatenate[HttpRequest, str, P], HttpResponseBase],
    ) -> Callable[Concatenate[HttpRequest, str, P], HttpResponseBase]:
        @functools.wraps(view)
        def limited(
            request: HttpRequest, slug: str, *args: P.args, **kwargs: P.kwargs
        ) -> HttpResponseBase:
            for rule in rules:
                key = rule.key(request, slug)
                if key is None:
                    continue
                wait = hit(rule.scope, key, rule.limit(request, slug))
                if wait is not None:
                    return _too_many(request, RateLimited(wait, rule.detail(wait)))
            return view(request, slug, *args, **kwargs)

        return cast("Callable[Concatenate[HttpRequest, str, P], HttpResponseBase]", limited)

    return decorate


# ------------------------------------------------------------------ lockouts


def locked_for(scope: str, key: str, *, now: float | None = None) -> int | None:
    """Seconds left of a lockout, or None when `key` is not locked."""
    until = cache.get(f"lock:{scope}:{key}")
    if until is None:
        return None
    now = time.time() if now is None else now
    left = math.ceil(float(until) - now)
    return left if left > 0 else None


def count_failure(scope: str, key: str, *, threshold: int, cooloff: int) -> bool:
    """Count a failure; at `threshold` failures, each within `cooloff` seconds of the last,
    lock `key` for `cooloff` seconds. Whether this failure locked it."""
    counter = f"fail:{scope}:{key}"
    failures = _incr(counter, cooloff)
    cache.touch(counter, cooloff)
    if failures < threshold:
        return False
    cache.set(f"lock:{scope}:{key}", time.time() + cooloff, timeout=cooloff)
    cache.delete(counter)
    return True


def forget_failures(scope: str, key: str) -> None:
    """A success clears the failures counted so far (not a lockout already in force)."""
    cache.delete(f"fail:{scope}:{key}")
