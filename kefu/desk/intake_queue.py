"""The intake worker: stores, routes and answers the queued buyer messages (decisions §42, §47).

A lane's messages are processed in id order by one worker at a time: the worker locks the
rows of the lanes it takes (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, up to
``LANES_PER_BATCH`` at once; SQLite takes its one write lock for the whole transaction anyway,
one lane per batch), stores up to a batch of their messages in one transaction and deletes
the rows it stored in that transaction. The batch is set-based (``intake_batch``: one buyer
upsert, one locked read of the conversations, multi-row inserts, agent loads written once);
when it raises, its savepoint rolls back and the same rows go one by one, each in a
savepoint, through the ``receive_buyer_message`` the synchronous webhook calls, so one bad
message costs the batch its speed, not the other messages. A crash before the commit leaves
the rows for the next drain; the beat sweep runs one every few seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import BaseCache, caches
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from kefu.accounts.models import Shop
from kefu.conversations.intake_queue import (
    LANES,
    MAX_ATTEMPTS,
    ensure_lanes,
    message_of,
    waiting_lanes,
)
from kefu.conversations.models import IntakeLane, IntakeMessage
from kefu.conversations.outbound import deliveries_batched
from kefu.core import stagetrace
from kefu.desk.intake import receive_buyer_message
from kefu.desk.intake_batch import process_batch

log = logging.getLogger("kefu.intake")

BATCH = 500
# On SQLite the worker steps aside this long after each batch: the web process's waiting
# INSERTs (one group transaction, retrying BEGIN every millisecond) take the lock in between.
SQLITE_PAUSE = 0.005
# Seconds one message costs in a set-based batch, learned from the batches so far: a batch
# takes as many messages as fit in ``batch_seconds()`` (``batch_size``). On PostgreSQL the
# cost is the worker's own CPU time, on SQLite the wall time (``_batch_cost``, decisions §95).
_per_message = 0.002
MIN_SET_BATCH = 20
# Lanes one PostgreSQL batch takes at most (those no other worker holds). A batch's fixed
# cost (lane locks, the per-batch reads and writes, the commit: ~25 statements) is paid once
# for all of their waiting messages: with a shallow queue one lane holds a few messages and
# that cost was most of a message's (decisions §63). 8 of the 16 lanes leave the other half
# to a second worker.
LANES_PER_BATCH = 8


def batch_seconds() -> float:
    """How long one batch transaction may run before it commits. SQLite has one writer:
    while a batch runs, the webhook's INSERT waits for it, so batches stay short there.
    PostgreSQL writers do not wait for each other, but a message is only visible (and
    pushed) at its batch's commit, so batches stay well under a second there too."""
    return settings.KEFU_INTAKE_BATCH_SECONDS or (
        0.3 if connection.vendor == "postgresql" else 0.05
    )


def batch_size(batch: int, per_message: float, seconds: float) -> int:
    """How many messages a set-based batch asks for: as many as fit in ``seconds`` at
    ``per_message`` each, at most ``batch``, at least MIN_SET_BATCH."""
    return max(MIN_SET_BATCH, min(batch, int(seconds / per_message)))


def learned(per_message: float, cost: float, messages: int) -> float:
    """The per-message estimate after a batch of ``messages`` that cost ``cost`` seconds."""
    return 0.7 * per_message + 0.3 * max(cost / messages, 0.0001)


def _batch_cost(wall: float, cpu: float) -> float:
    """What a batch cost, for sizing the next one: the worker's own CPU on PostgreSQL, the wall
    time on SQLite.

    SQLite's one writer lock is held for the batch's wall time, and the webhook's INSERTs wait
    that long, so its batches are sized in wall time. On PostgreSQL the wall time of a
    CPU-starved machine sized batches down to MIN_SET_BATCH: a batch's fixed part (lane locks,
    the per-batch reads and writes, the commit, ~25 statements each waiting for a CPU) took
    ~0.15 s of its 0.3 s, smaller batches paid it more often, the machine got busier and the
    batches smaller still — two stable states of the same code, 663–745 against 1,244–1,576
    messages/s processed (decisions §95). CPU time does not grow with the wait for a CPU."""
    return cpu if connection.vendor == "postgresql" else wall


# A Celery drain whose queue has emptied keeps looking every LOOK_SECONDS for LINGER_SECONDS
# before it returns (decisions §67): in a steady stream the next messages are taken within
# LOOK_SECONDS, not at the web process's next kick window (KICK_SECONDS, up to 0.2 s later).
# A look is one read of an (almost) empty table.
LINGER_SECONDS = 1.0
LOOK_SECONDS = 0.01


def drain(
    *,
    lanes: Iterable[int] | None = None,
    batch: int = BATCH,
    seconds: float = 10.0,
    set_based: bool = True,
    linger: float = 0.0,
) -> int:
    """Process waiting messages until the queue (or the given lanes) is empty, every lane is
    held by another worker, or ``seconds`` have passed. With ``linger``, an empty queue is
    looked at again until it has stayed empty that long (every lane then, not only the given
    ones). The number of messages stored."""
    ensure_lanes()
    wanted = set(lanes) if lanes is not None else None
    deadline = time.monotonic() + seconds
    idle_until = time.monotonic() + linger
    done = 0
    sqlite = connection.vendor == "sqlite"
    while time.monotonic() < deadline:
        if sqlite:
            todo = [n for n in waiting_lanes() if wanted is None or n in wanted]
            groups = [[lane] for lane in todo]
        else:
            # No `SELECT DISTINCT lane` first: without autovacuum it reads every row the
            # queue ever held (dead ones too) each time; an empty lane costs its index probe.
            todo = sorted(wanted) if wanted is not None else list(range(LANES))
            groups = [todo[n : n + LANES_PER_BATCH] for n in range(0, len(todo), LANES_PER_BATCH)]
        progress = 0
        for group in groups:
            did = drain_lanes(group, batch=batch, set_based=set_based)
            progress += did
            if sqlite and did:
                # One writer: step aside after each batch so the webhook's INSERTs, waiting
                # for the lock, get in between two batches (decisions §62).
                time.sleep(SQLITE_PAUSE)
        if progress == 0:
            # Nothing taken: the queue is empty (PostgreSQL looks through every lane), every
            # waiting lane is held by another worker, or only failed rows are left; all of
            # them count as an empty queue, which the drain lingers on.
            if time.monotonic() >= idle_until:
                break
            wanted = None
            time.sleep(LOOK_SECONDS)
            continue
        done += progress
        idle_until = time.monotonic() + linger
    return done


def drain_lanes(lanes: list[int], *, batch: int = BATCH, set_based: bool = True) -> int:
    """One batch of the messages of those of ``lanes`` no other worker holds, in one
    transaction; 0 when another worker holds them all (or they are empty).

    Each held lane's part of the batch is the head of its queue (``_first_ids``), so a
    buyer's messages are stored in order and the rest waits, in order, for the next batch.
    The batch ends at ``batch`` messages or ``batch_seconds()``, whichever comes first."""
    global _per_message
    started = time.monotonic()
    started_cpu = time.thread_time()
    budget = started + batch_seconds()
    if set_based:
        batch = batch_size(batch, _per_message, batch_seconds())
    with transaction.atomic(), deliveries_batched():
        held = list(
            IntakeLane.objects.select_for_update(skip_locked=True)
            .filter(number__in=lanes)
            .values_list("number", flat=True)
        )
        if not held:
            return 0
        rows = _waiting(sorted(held), batch)
        traced = _trace_batch(rows) if stagetrace.ENABLED and rows else None
        if set_based and rows:
            done = _set_based(rows)
            if done:
                cost = _batch_cost(time.monotonic() - started, time.thread_time() - started_cpu)
                _per_message = learned(_per_message, cost, len(rows))
                if traced is not None:
                    transaction.on_commit(traced)
                return len(rows)
        stored: list[int] = []
        handled = 0
        for row in rows:
            if handled and time.monotonic() > budget:
                break
            handled += 1
            try:
                _process(row)
            except ValidationError as exc:
                # Checked before it was queued; a rule that changed since refuses it for good.
                _failed(row, "; ".join(exc.messages), final=True)
            except Exception as exc:
                log.exception("intake_failed shop=%s external_id=%s", row.shop_id, row.external_id)
                _failed(row, f"{type(exc).__name__}: {exc}", final=False)
            else:
                stored.append(row.pk)
        if stored:
            _delete(stored)
        return handled


def _trace_batch(rows: list[IntakeMessage]) -> Callable[[], None]:
    """The push bench's stage times of a batch (``stagetrace``): when its rows were read, its
    transaction committed and its push was out. Commit callbacks run in the order they were
    registered: the commit's is registered now, before any event's push; the returned one,
    which writes the record, must be registered after the batch's events (the push's
    callback waits until the pusher has sent it)."""
    marks = {"picked": time.time()}
    transaction.on_commit(lambda: marks.__setitem__("committed", time.time()))

    def pushed() -> None:
        stagetrace.record(
            "batch",
            **marks,
            ids=[r.external_id for r in rows],
            queued=[r.received_at.timestamp() for r in rows],
        )

    return pushed


def _waiting(lanes: list[int], batch: int) -> list[IntakeMessage]:
    """The first waiting messages of the held lanes, with their shops, in id order."""
    if connection.vendor != "postgresql":
        return list(
            IntakeMessage.objects.filter(lane__in=lanes, attempts__lt=MAX_ATTEMPTS)
            .select_related("shop")
            .order_by("id")[:batch]
        )
    return _with_shops(_first_rows(lanes, batch))


def _with_shops(rows: list[IntakeMessage]) -> list[IntakeMessage]:
    """The rows with their shops set, one ``Shop`` per shop of the batch (one statement).

    A ``select_related("shop")`` built a ``Shop`` from its joined columns for every row: the
    queue read cost the worker ~31 µs of CPU a message, a sixth of the batch's (decisions
    §118); a batch holds the messages of one or a few shops. A shop deleted since its rows were
    read took them with it (``CASCADE``): they are left out, as the join would have."""
    if not rows:
        return rows
    shops = Shop.objects.in_bulk({row.shop_id for row in rows})
    cache = IntakeMessage.shop.field
    kept = []
    for row in rows:
        shop = shops.get(row.shop_id)
        if shop is not None:
            cache.set_cached_value(row, shop)
            kept.append(row)
    return kept


# The lane a PostgreSQL batch fills from first, moved on by one each batch (per process).
_next_first = 0


def _first_rows(lanes: list[int], batch: int) -> list[IntakeMessage]:
    """Up to ``batch`` waiting messages of the held lanes, in id order, without their shops
    (``_with_shops``): whole lanes' queues, one
    lane after the other (from a lane that moves on each batch, so none waits behind the
    others), then the first part of the next one. Each lane's part is the head of its queue.

    Whole lanes rather than an equal share of each: the batch's reads and writes are per
    buyer (upsert, locked conversation, today's history), so a deep queue is cheapest one
    lane at a time, as before (its buyers' several messages in one batch); a shallow one
    fills the batch from several lanes and pays the batch's fixed cost once for all of them.
    (An equal share of 8 lanes spread each batch over 5x the buyers with a deep queue: the
    worker's and the database's CPU per message rose by a third and by nearly 2x.)

    Read through the (lane, id) index whatever the planner's statistics say. Autovacuum is
    off on these machines, so the queue table's statistics are whatever the last ANALYZE saw.
    With them PostgreSQL planned a lane's ``ORDER BY id LIMIT n`` as a bitmap scan of every
    waiting row of the lane plus a sort (~30 ms a batch with 20,000 queued, decisions §63), or
    as a walk of the primary key from the oldest row filtering on the lane: all of the
    queue's rows, and the deleted ones not vacuumed, for a lane with nothing waiting. So the
    read leaves the planner one plan for a lane: the lane is a range (``BETWEEN``, which the
    primary key cannot give in ``(lane, id)`` order, where ``=`` would let it), and
    sequential scans, bitmap scans and sorts are switched off for this one statement and
    back to what they were right after (``set_config(…, true)`` would otherwise last until
    the transaction ends, for the batch's own queries too). What is left for each lane is the
    (lane, id) index scan, which stops after ``batch`` rows; the only sort is of those few
    ids. Should the read fail, the transaction's rollback restores the settings.

    The rows' columns come with the ids, in the same statement (a second read by the ids
    sent 500 parameters and built its query each batch), and become instances as the ORM
    makes them (``from_db``: the fields in order, the JSON decoded by its field)."""
    global _next_first
    first = _next_first % len(lanes)
    _next_first += 1
    ordered = lanes[first:] + lanes[:first]
    table = IntakeMessage._meta.db_table
    fields = IntakeMessage._meta.concrete_fields
    columns = ", ".join(f"m.{connection.ops.quote_name(f.column)}" for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_bitmapscan'), "
            "current_setting('enable_sort'), set_config('enable_seqscan', 'off', true), "
            "set_config('enable_bitmapscan', 'off', true), set_config('enable_sort', 'off', true)"
        )
        seqscan, bitmapscan, sort, *_ = cursor.fetchone()
        cursor.execute(
            "SELECT q.* FROM unnest(%s::int[]) WITH ORDINALITY AS l(lane, n) "  # noqa: S608
            f"CROSS JOIN LATERAL (SELECT {columns} FROM {table} m "
            "WHERE m.lane BETWEEN l.lane AND l.lane AND m.attempts < %s "
            "ORDER BY m.lane, m.id LIMIT %s) q ORDER BY l.n, q.id LIMIT %s",
            [ordered, MAX_ATTEMPTS, batch, batch],
        )
        found = cursor.fetchall()
        # Restored even when nothing is waiting: the batch's atomic block may be a savepoint
        # in a caller's transaction (an eager drain inside a test's or a request's), and
        # releasing a savepoint keeps `set_config(…, true)` until that transaction ends. Left
        # off, every later query of it was planned with sorts and scans "disabled", whose
        # huge cost estimates switched on JIT compilation (~0.5 s a query, decisions §79).
        cursor.execute(
            "SELECT set_config('enable_seqscan', %s, true), "
            "set_config('enable_bitmapscan', %s, true), set_config('enable_sort', %s, true)",
            [seqscan, bitmapscan, sort],
        )
    payload = IntakeMessage._meta.get_field("payload")
    at, decode, col = fields.index(payload), payload.from_db_value, payload.get_col(table)
    names = [f.attname for f in fields]
    alias = connection.alias
    db = connections[alias]  # the proxy looks its connection up on every use
    rows = []
    for found_row in found:
        values = list(found_row)
        values[at] = decode(values[at], col, db)
        rows.append(IntakeMessage.from_db(alias, names, values))
    return rows


def _set_based(rows: list[IntakeMessage]) -> bool:
    """The rows as one set-based batch in a savepoint; False (nothing kept) when it raised."""
    try:
        with transaction.atomic(), deliveries_batched():
            result = process_batch(rows)
            for row, error in result.refused:
                # Checked before it was queued; a rule that changed since refuses it for good.
                _failed(row, error, final=True)
            if result.stored:
                _delete(result.stored)
            # Last: the agents' presence rows it locks are held until the commit only.
            result.write_loads()
    except Exception:
        log.exception("intake_batch_failed lane=%s rows=%s, one by one", rows[0].lane, len(rows))
        return False
    return True


def _delete(ids: list[int]) -> None:
    """The queue rows of ``ids`` gone, in the transaction that stored their messages.

    On PostgreSQL one array parameter: the ORM's ``pk__in`` delete of a 500-message batch
    built and sent 500 placeholders, 1.5–4 ms of the worker's CPU a batch against 0.45 ms
    (decisions §118). Nothing points at a queue row, so the ORM's delete was this one
    statement too."""
    if connection.vendor != "postgresql":
        IntakeMessage.objects.filter(pk__in=ids).delete()
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {IntakeMessage._meta.db_table} WHERE id = ANY(%s)",  # noqa: S608
            [ids],
        )


def _process(row: IntakeMessage) -> None:
    m = message_of(row)
    # A savepoint per message: one that fails rolls back alone and the batch goes on.
    with transaction.atomic():
        receive_buyer_message(
            shop=row.shop,
            buyer=m.buyer,
            text=m.text,
            entry_point=m.entry_point,
            channel=m.channel,
            external_id=m.external_id,
            product_external_id=m.product_external_id,
            order_external_id=m.order_external_id,
            sent_at=m.sent_at,
        )


def _failed(row: IntakeMessage, error: str, *, final: bool) -> None:
    attempts = MAX_ATTEMPTS if final else row.attempts + 1
    IntakeMessage.objects.filter(pk=row.pk).update(attempts=attempts, last_error=error[:300])


# --- the polling worker (SQLite) -----------------------------------------------------------
# On SQLite the Celery broker is kombu's SQLAlchemy transport on a journalled SQLite file of
# its own: a kick there is a write with its fsyncs, and the webhook's threads queued on it
# (58 % of the intake server's threads' time at 89 answers/s, decisions §62). The worker
# reads the queue table instead: a read in WAL mode takes no lock and costs well under a
# millisecond, so the web process writes nothing but the message itself.


def polling() -> bool:
    """True when the intake worker polls the queue and the web processes send no kicks."""
    return settings.KEFU_INTAKE_POLL_SECONDS > 0


def work(
    *,
    poll: float | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """The polling intake worker (`kefu intake-worker`): drain while messages wait, look
    again every ``poll`` seconds when the queue is empty, until ``should_stop()``. A message
    waits at most ``poll`` seconds for the worker to see it; one a dead web process left
    behind is found the same way, so no sweep is needed. The number of messages stored."""
    interval = poll if poll is not None else (settings.KEFU_INTAKE_POLL_SECONDS or 0.05)
    done = 0
    while not should_stop():
        try:
            stored = drain(seconds=5.0)
        except Exception:
            # The database is locked beyond its timeout or gone for a moment: the rows stay
            # queued (nothing was committed) and the next look retries them.
            log.exception("intake_poll_failed")
            stored = 0
            time.sleep(1.0)
        done += stored
        if not stored:
            time.sleep(interval)
    return done


# --- waking the worker from the webhook ---------------------------------------------------
# A drain task per accepted message would cost the broker and the worker more than the
# message itself at Double 11 rates. Each web process sends at most one task every
# KICK_SECONDS, whatever the lanes (a Celery message costs the web process ~1 ms of CPU; one
# per lane and window was ~80 a second per process at 1,000 requests/s, a tenth of the
# server's CPU). A message that arrives inside the window gets one deferred task at the
# window's end, which starts after the message committed and so sees it; the deferred task
# drains every waiting lane, so it covers the lanes of every message of its window. The beat
# sweep only catches what a dead process left behind.
#
# With Redis, a task is sent only when none is pending (decisions §80): the kick sets
# DRAIN_PENDING_KEY with NX and sends only if it set it; the drain deletes it before its first
# read of the queue. Windows alone still sent ~5 tasks a second per web process while each
# running drain takes far longer than 0.2 s (it drains, then lingers 1 s): at 1,000
# messages/s hundreds of drains piled up in the broker and each, once started, lingered its
# second on an empty queue. Why a skipped kick loses no message: a kick that finds the flag
# set runs after its message committed, and the flag's drain has not started yet (it deletes
# the flag before its first read), so that drain's reads come after the commit. A deferred
# kick that finds the flag set marks its window covered, so the window's later kicks skip
# without asking Redis: their messages commit before the window's end, at most KICK_SECONDS
# after the failed claim, and the flag's drain, starting after that claim, keeps looking at
# every lane for LINGER_SECONDS > KICK_SECONDS after it starts. A flag whose task was lost (a
# worker killed with it prefetched, the broker restarted) expires after
# DRAIN_PENDING_SECONDS; the beat sweep (``sweep``) then sends a drain, as it does for the
# messages of a web process that died between its commit and its kick.
KICK_SECONDS = 0.2
DRAIN_PENDING_KEY = "intake:drain-pending"
# How long a lost drain task can hold the kicks up. A pending drain that waits longer for a
# worker slot (the running ones drain for up to 10 s each, then linger) gets one more drain
# sent beside it per expiry: still bounded.
DRAIN_PENDING_SECONDS = 10
_kick_lock = threading.Lock()
_next_kick = 0.0
_deferred_until = 0.0

if LINGER_SECONDS <= KICK_SECONDS:  # pragma: no cover - a guard on the constants above
    raise RuntimeError("a skipped deferred kick relies on LINGER_SECONDS > KICK_SECONDS")


def _pending_flag() -> BaseCache | None:
    """The cache holding the drain-pending flag: Redis, shared by the web processes and the
    workers; None without Redis (one process's memory cannot tell another's drain started)."""
    return caches["default"] if settings.REDIS_URL else None


def claim_drain() -> bool:
    """True when the caller should send a drain task: it set the pending flag (or there is no
    flag to set, or Redis did not answer: a task too many is safe, one too few is not)."""
    flag = _pending_flag()
    if flag is None:
        return True
    try:
        return bool(flag.add(DRAIN_PENDING_KEY, 1, DRAIN_PENDING_SECONDS))
    except Exception:
        log.exception("intake_drain_flag_failed")
        return True


def release_drain_claim() -> None:
    """Take the pending flag away, so that kicks from now on send a task: by a drain before its
    first read of the queue, and by a sender whose task the broker refused."""
    flag = _pending_flag()
    if flag is None:
        return
    try:
        flag.delete(DRAIN_PENDING_KEY)
    except Exception:
        # Left set, it expires after DRAIN_PENDING_SECONDS; the sweep drains meanwhile.
        log.exception("intake_drain_flag_failed")


def kick(lanes: Iterable[int]) -> None:
    """Make sure a drain of these lanes starts after the caller's commit."""
    global _next_kick, _deferred_until
    from kefu.desk.tasks import drain_intake

    wanted = sorted(set(lanes))
    if settings.CELERY_TASK_ALWAYS_EAGER:
        drain_intake.delay(wanted)
        return
    if polling():
        # The worker looks at the queue itself (``work``): nothing to send.
        return
    now = time.monotonic()
    send_now = defer = False
    with _kick_lock:
        allowed = _next_kick
        if now >= allowed:
            send_now = True
            _next_kick = now + KICK_SECONDS
        elif _deferred_until < allowed:
            defer = True
            _deferred_until = allowed
    if not (send_now or defer):
        return
    flagged = _pending_flag() is not None
    if not claim_drain():
        # A drain is pending and has not started: its reads come after this commit. A skipped
        # immediate kick leaves the window's deferred task to the window's next kick, which
        # asks again; a skipped deferred one covers the window (see above).
        return
    try:
        if send_now:
            # Every lane when flagged: kicks skipped while this task waits may be in others.
            drain_intake.delay(None if flagged else wanted)
        else:
            # Every waiting lane: later messages of this window may be in other lanes.
            drain_intake.apply_async((None,), countdown=max(allowed - now, 0.01))
    except Exception:
        # The broker is down: the messages are committed and the sweep will find them; the
        # flag goes, or no kick would send a task until it expired.
        release_drain_claim()
        log.exception("intake_kick_failed lanes=%s", wanted)


def sweep() -> bool:
    """The beat sweep: a drain of every lane unless one is pending; True when it sent one."""
    from kefu.desk.tasks import drain_intake

    if not claim_drain():
        return False
    try:
        drain_intake.delay(None)
    except Exception:
        release_drain_claim()
        raise
    return True
