"""One call counts a request against all its limits (kefu.core.ratelimit.hit_all): on Redis one
script call, otherwise the cache's counters; the answers are those of `hit` called once per
limit, in order, stopping at the first one over."""

from __future__ import annotations

import random

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
    import threading

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
