"""One call counts a request against all its limits (kefu.core.ratelimit.hit_all): on Redis one
script call, otherwise the cache's counters; the answers are those of `hit` called once per
limit, in order, stopping at the first one over."""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from kefu.core import stamps
from kefu.core.ratelimit import Count, Limit, hit, hit_all

pytestmark = pytest.mark.django_db


def _one_by_one(counts: list[Count]) -> tuple[int | None, int | None]:
    for i, c in enumerate(counts):
        wait = hit(c.scope, c.key, c.limit)
        if wait is not None:
            return i, wait
    return None, None


def test_the_combined_call_answers_what_one_call_per_limit_answers(rate_clock):
    rng = random.Random(7)
    shop_limit, buyer_limit = Limit(12, 60), Limit(3, 60)
    for n in range(40):
        buyer = f"b{rng.randrange(5)}"
        combined = hit_all([Count("t-shop", "s", shop_limit), Count("t-buyer", buyer, buyer_limit)])
        separate = _one_by_one(
            [Count("u-shop", "s", shop_limit), Count("u-buyer", buyer, buyer_limit)]
        )
        assert (combined.over, combined.wait) == separate, n
        if n % 9 == 8:
            rate_clock.advance(20)


def test_over_the_first_limit_the_second_is_not_counted(rate_clock):
    counts = [Count("t-shop", "s", Limit(1, 60)), Count("t-buyer", "b", Limit(1, 60))]
    assert hit_all(counts).over is None
    assert hit_all(counts).over == 0  # the shop is over; the buyer's counter stays at 1
    rate_clock.advance(60)
    assert hit_all([counts[1]]).over is None  # a new window for both
    assert hit_all([Count("t-buyer", "b", Limit(2, 60))]).over is None


def test_the_wait_is_the_rest_of_the_window(rate_clock):
    counts = [Count("t-shop", "s", Limit(1, 60))]
    hit_all(counts)
    rate_clock.advance(15)
    refused = hit_all(counts)
    # The clock stands 16 s into a minute: 44 s are left of it.
    assert rate_clock.now % 60 == 16
    assert (refused.over, refused.wait) == (0, 44)


def test_a_moved_fence_counts_nothing_and_says_where_it_is(rate_clock):
    taken = stamps.current("test-fence")
    counts = [Count("t-shop", "s", Limit(1, 60))]

    stamps.bump("test-fence")
    fenced = hit_all(counts, fence=("test-fence", taken))

    assert fenced.fenced and fenced.over is None
    assert fenced.stamp == stamps.current("test-fence") != taken
    # Nothing was counted: under the stamp as it is now, the one allowed event still passes.
    assert hit_all(counts, fence=("test-fence", fenced.stamp or "")).over is None
    assert hit_all(counts, fence=("test-fence", fenced.stamp or "")).over == 0


def test_a_buyer_id_of_any_length_and_script_is_counted_on_its_own(rate_clock, recwarn):
    """Buyer ids come from outside: 10,000 characters, Thai, spaces. Each is still a counter
    of its own, and no cache backend is handed a key it refuses."""
    from django.core.cache import CacheKeyWarning

    ids = ["y" * 10_000, "y" * 9_999, "ก ำกำ", "ก ำก", "b 1"]
    for buyer in ids:
        counts = [Count("t-buyer", buyer, Limit(2, 60))]
        assert [hit_all(counts).over for _ in range(3)] == [None, None, 0]
        assert hit("u-buyer", buyer, Limit(1, 60)) is None
        assert hit("u-buyer", buyer, Limit(1, 60)) is not None
    assert not [w for w in recwarn if issubclass(w.category, CacheKeyWarning)]


def test_counts_from_many_threads_share_one_counter(rate_clock):
    """Each thread counts on a connection of its own (decisions §81): the limit still holds
    over all of them, exactly."""
    limit = Limit(100, 60)
    outcomes: list[int | None] = []
    lock = threading.Lock()

    def count() -> None:
        for _ in range(25):
            over = hit_all([Count("t-threads", "s", limit)]).over
            with lock:
                outcomes.append(over)

    threads = [threading.Thread(target=count) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert outcomes.count(None) == 100 and outcomes.count(0) == 100


def test_a_redis_that_lost_its_scripts_and_connections_still_counts(rate_clock):
    """A Redis restarted between two calls has neither the script nor the thread's
    connection: the call reconnects, loads the script again and counts."""
    client = stamps.redis_client()
    if client is None:
        pytest.skip("the counters are in the process's memory without Redis")
    counts = [Count("t-restart", "s", Limit(2, 60))]
    assert hit_all(counts).over is None

    # This thread's own connection only: the Redis server is shared with other processes.
    from kefu.core.ratelimit import _own

    _own.conn.send_command("CLIENT", "ID")
    client.client_kill_filter(_id=_own.conn.read_response())
    client.script_flush()

    assert hit_all(counts).over is None
    assert hit_all(counts).over == 0


@contextlib.contextmanager
def _refusing_redis(monkeypatch) -> Iterator[tuple[list[int], Callable[[], None]]]:
    """While inside: every connection to the counters' Redis, of any thread, is made to a port
    nobody listens on (a Redis that is down: the system refuses it), this thread's connection
    closed. Yields a list counting every connection attempt, and the call that makes Redis
    accept connections again (done on the way out in any case)."""
    from kefu.core import ratelimit

    client = stamps.redis_client()
    if client is None:
        pytest.skip("the counters are in the process's memory without Redis")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    attempts: list[int] = []
    down = threading.Event()
    down.set()
    cls = client.connection_pool.connection_class
    original = cls._connect  # the socket's connect, under every way of connecting

    def counted(self):
        attempts.append(1)
        if not down.is_set():
            return original(self)
        real_port, self.port = self.port, closed_port
        try:
            return original(self)
        finally:
            self.port = real_port

    monkeypatch.setattr(cls, "_connect", counted)
    if ratelimit._own.conn is not None:
        ratelimit._own.conn.disconnect()
    try:
        yield attempts, down.clear
    finally:
        down.clear()
        ratelimit._refused_until = 0.0


def test_counts_wait_for_a_redis_that_refuses_connections_and_still_limit(rate_clock, monkeypatch):
    """Redis restarting (decisions §122): a webhook's counting call waits for it instead of
    failing at once (which answered 503), one thread tries again every pause while the others
    sleep, and once Redis accepts every waiting request is counted: the limit still holds."""
    from kefu.core import ratelimit

    limit = Limit(5, 60)
    outcomes: dict[int, object] = {}

    def count(n: int) -> None:
        try:
            outcomes[n] = hit_all([Count("t-refused", "s", limit)]).over
        except Exception as exc:  # the assertion below names it
            outcomes[n] = exc

    with _refusing_redis(monkeypatch) as (attempts, accept):
        threads = [threading.Thread(target=count, args=(n,)) for n in range(8)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.5)
        accept()
        for t in threads:
            t.join(timeout=10)
        took = time.monotonic() - started

    assert sorted(outcomes) == list(range(8))
    assert all(not isinstance(o, Exception) for o in outcomes.values()), outcomes
    # Every request was counted: five within the limit, three over it.
    assert sorted(outcomes.values(), key=str) == [0, 0, 0, None, None, None, None, None]
    assert 0.5 <= took < ratelimit.REFUSED_WAIT_SECONDS
    # Refused for 0.5 s: the threads' first tries, then one every 0.1 s at most (not each
    # thread in a loop), then a connection each.
    assert len(attempts) <= 8 + 0.5 / ratelimit.REFUSED_PAUSE_SECONDS + 2 + 8


def test_a_count_refused_past_its_wait_raises_the_error_that_answers_503(rate_clock, monkeypatch):
    """Redis still down after REFUSED_WAIT_SECONDS: the call ends with Redis's ConnectionError
    (UnavailableMiddleware answers it 503; the request is refused, never let through
    uncounted) after the wait and a bounded number of attempts; with Redis back the next call
    counts, and the refused one was not counted."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from kefu.core import ratelimit

    monkeypatch.setattr(ratelimit, "REFUSED_WAIT_SECONDS", 0.4)
    counts = [Count("t-refused-long", "s", Limit(1, 60))]
    with _refusing_redis(monkeypatch) as (attempts, _):
        started = time.monotonic()
        with pytest.raises(RedisConnectionError):
            hit_all(counts)
        took = time.monotonic() - started
    assert 0.4 <= took < 1.5
    assert 2 <= len(attempts) <= 0.4 / ratelimit.REFUSED_PAUSE_SECONDS + 2
    assert hit_all(counts).over is None
    assert hit_all(counts).over == 0
