"""The intake queue: buyer messages accepted by the webhook, waiting for the intake worker.

The webhook only checks, inserts and answers 202; storing, routing and the automatic replies
happen in the worker (``kefu.desk.intake_queue``), a batch per transaction. A row is
committed before the webhook answers and deleted in the transaction that stores its message,
so a message answered 2xx is never lost and the table empties itself (decisions §42).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.intake import BuyerMessageIn
from kefu.conversations.models import IntakeLane, IntakeMessage, Message
from kefu.core.db.probe import rows_by_key

# Lanes partition the buyers of all shops; a lane is processed by one worker at a time. More
# lanes than workers so a slow lane (a long batch) does not hold the others up.
LANES = 16
# A message whose processing raised this many times stays in the queue as failed (the
# operator sees it in `kefu intake status`) instead of blocking its lane forever.
MAX_ATTEMPTS = 5


def lane_of(shop_id: int, buyer_external_id: str) -> int:
    """The lane of a buyer: stable across processes and restarts (not Python's hash)."""
    key = f"{shop_id}:{buyer_external_id.strip()}".encode()
    return zlib.crc32(key) % LANES


def payload_of(incoming: BuyerMessageIn) -> dict[str, Any]:
    """A checked message as the JSON the queue keeps."""
    return {
        "buyer": {
            "external_id": incoming.buyer.external_id,
            "name": incoming.buyer.name,
            "language": incoming.buyer.language,
            "country": incoming.buyer.country,
        },
        "text": incoming.text,
        "entry_point": incoming.entry_point,
        "channel": incoming.channel,
        "product_external_id": incoming.product_external_id,
        "order_external_id": incoming.order_external_id,
        "sent_at": incoming.sent_at.isoformat() if incoming.sent_at else None,
    }


def message_of(row: IntakeMessage) -> BuyerMessageIn:
    """A queued row back as the message the webhook checked (``payload_of``'s inverse)."""
    data: dict[str, Any] = row.payload
    buyer = data["buyer"]
    return BuyerMessageIn(
        buyer=BuyerIn(
            external_id=buyer["external_id"],
            name=buyer.get("name", ""),
            language=buyer.get("language", ""),
            country=buyer.get("country", ""),
        ),
        text=data["text"],
        entry_point=data["entry_point"],
        channel=data["channel"],
        external_id=row.external_id,
        product_external_id=data.get("product_external_id"),
        order_external_id=data.get("order_external_id"),
        sent_at=dt.datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else None,
    )


@dataclass(frozen=True)
class Queued:
    """What the webhook answers for one message: its queue id, or the stored message when a
    retry comes after the message was processed."""

    external_id: str
    intake_id: int | None
    duplicate: bool
    message: Message | None = None


def stored_message_ids(*, shop_id: int, external_ids: Sequence[str]) -> dict[str, int]:
    """The shop's stored messages among ``external_ids``: external id -> message id, one
    probe of the ``(shop, external_id)`` index per id (``rows_by_key``, decisions §73)."""
    return dict(
        rows_by_key(
            Message,
            shop_id=shop_id,
            key="external_id",
            values=external_ids,
            columns=("external_id", "pk"),
        )
    )


# --- a database that refuses connections (decisions §119) -----------------------------------
# While PostgreSQL is down or recovering, every webhook request found its thread without a
# connection, tried to open one and answered 503 at once: ~700 attempts a second in the soak,
# each a fork of a PostgreSQL backend that only says "not yet accepting connections", and a
# sender that resends every 503 half a second later kept both cores busy with that while
# PostgreSQL's single recovery process replayed its WAL beside them. Now a request that finds
# the database refusing waits for it, up to REFUSED_WAIT_SECONDS, asleep; one thread of the
# process tries again every REFUSED_PAUSE_SECONDS; once one gets in, the waiting requests
# store their messages and answer 2xx. Only after the wait is the answer 503, as before.
# Until an attempt fails, every thread connects as it always did.
REFUSED_PAUSE_SECONDS = 0.1
REFUSED_WAIT_SECONDS = 2.0
_refused_until = 0.0


def _connect() -> None:
    """Open this thread's connection; while the database refuses connections, wait for it up
    to REFUSED_WAIT_SECONDS (one thread of the process trying every REFUSED_PAUSE_SECONDS),
    then raise the OperationalError that answers 503. Nothing has been written when it
    raises."""
    global _refused_until
    if connection.connection is not None:
        return
    deadline = 0.0
    while True:
        now = time.monotonic()
        until = _refused_until  # read once: another thread may change it
        if until:
            deadline = deadline or now + REFUSED_WAIT_SECONDS
            if now < until:
                if now >= deadline:
                    raise OperationalError("the database refuses connections; waited for it")
                time.sleep(min(until, deadline) - now)
                continue
            # This thread tries again; the others sleep until it knows.
            _refused_until = now + REFUSED_PAUSE_SECONDS
        try:
            connection.ensure_connection()
        except (OperationalError, InterfaceError):
            now = time.monotonic()
            _refused_until = now + REFUSED_PAUSE_SECONDS
            deadline = deadline or now + REFUSED_WAIT_SECONDS
            if now >= deadline:
                raise
            continue
        _refused_until = 0.0
        return


def enqueue_messages(*, shop: Shop, messages: Sequence[BuyerMessageIn]) -> list[Queued]:
    """Insert checked messages into the queue, idempotent on (shop, external_id).

    A message already stored answers its stored row; one already queued answers its queue
    id; both with ``duplicate``. Runs in its own transaction, committed on return: the caller
    answers 2xx only after that.
    """
    _connect()
    ids = [m.external_id for m in messages if m.external_id is not None]
    if len(ids) != len(messages):
        raise ValueError("a queued message needs its external_id")
    found = stored_message_ids(shop_id=shop.pk, external_ids=ids)
    stored = (
        {
            m.external_id: m
            for m in Message.objects.filter(pk__in=list(found.values())).select_related(
                "conversation__assignee"
            )
        }
        if found
        else {}
    )
    fresh: dict[str, BuyerMessageIn] = {}
    for m in messages:
        assert m.external_id is not None  # noqa: S101 - checked above
        if m.external_id not in stored:
            # The same id twice in one batch is one message: the first wins.
            fresh.setdefault(m.external_id, m)
    inserted: dict[str, int] = {}
    with transaction.atomic():
        if fresh:
            inserted = _insert(shop, list(fresh.values()))
        waiting = {
            ext: pk
            for ext, pk in IntakeMessage.objects.filter(
                shop=shop, external_id__in=[e for e in fresh if e not in inserted]
            ).values_list("external_id", "pk")
        }
    answers: list[Queued] = []
    seen: set[str] = set()
    for m in messages:
        ext = m.external_id
        assert ext is not None  # noqa: S101 - checked above
        if ext in stored:
            answers.append(Queued(ext, None, duplicate=True, message=stored[ext]))
        elif ext in inserted and ext not in seen:
            answers.append(Queued(ext, inserted[ext], duplicate=False))
        elif ext in inserted:
            answers.append(Queued(ext, inserted[ext], duplicate=True))
        elif ext in waiting:
            answers.append(Queued(ext, waiting[ext], duplicate=True))
        else:
            # Processed and deleted between our two reads: the message is stored now.
            message = (
                Message.objects.filter(shop=shop, external_id=ext)
                .select_related("conversation__assignee")
                .first()
            )
            answers.append(Queued(ext, None, duplicate=True, message=message))
        seen.add(ext)
    return answers


def enqueue_message(*, shop: Shop, message: BuyerMessageIn) -> Queued:
    """One checked message into the queue: ``enqueue_messages`` for one, in one statement
    when the message is new (the single webhook's usual case).

    The statement inserts the row only if the shop has no stored message with that id and no
    queued row holds it; it commits on return (its own transaction). Anything else (a retry
    of a queued or stored message) takes ``enqueue_messages``' reads for the right answer."""
    ext = message.external_id
    if ext is None:
        raise ValueError("a queued message needs its external_id")
    _connect()
    params: list[Any] = [
        shop.pk,
        ext,
        lane_of(shop.pk, message.buyer.external_id),
        json.dumps(payload_of(message), ensure_ascii=False),
        connection.ops.adapt_datetimefield_value(timezone.now()),
        shop.pk,
        ext,
    ]
    sql = _insert_new_sql()
    if connection.vendor == "postgresql" and connection.get_autocommit():
        row = _group_insert(params, _insert_group_postgresql, leaders=GROUP_LEADERS_POSTGRESQL)
    elif connection.vendor == "sqlite" and connection.get_autocommit():
        row = _group_insert(params, _insert_group_sqlite)
    else:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    if row is not None:
        return Queued(ext, int(row[0]), duplicate=False)
    (queued,) = enqueue_messages(shop=shop, messages=[message])
    return queued


def _autocommit_rows(sql: str, params: list[Any], *, prepare: bool = True) -> list[Any]:
    """One statement in autocommit: its own transaction, no BEGIN/COMMIT round trips.

    The intake server keeps its connections without a health check per request; when the
    kept one turns out dead (PostgreSQL restarted), the INSERT runs once more on a new one.
    That is safe to repeat: had the first one committed before the connection died, the
    second inserts nothing and the retry's reads answer the queued id."""
    try:
        return _run_rows(sql, params, prepare=prepare)
    except (OperationalError, InterfaceError):
        if connection.is_usable():
            raise  # a live connection: the statement itself failed
        connection.close()
    _connect()
    return _run_rows(sql, params, prepare=prepare)


_PREPARE_ONLY_WHEN_ASKED = 2**31


def _run_rows(sql: str, params: list[Any], *, prepare: bool = True) -> list[Any]:
    """The statement's rows. On PostgreSQL a prepared statement of the connection: parsing
    and planning the INSERT took more of PostgreSQL's CPU than running it (0.11–0.2 ms
    against 0.07–0.14 ms, `EXPLAIN ANALYZE` on the loaded machine; decisions §89), and it is
    the same text on every request. Django's cursors bind on the client and cannot prepare,
    so this one cursor binds on the server. With `prepare=False` the statement is still
    bound on the server but planned for its own values each time (decisions §112: the
    group INSERT). Errors are Django's, as through its cursor; with queries logged (DEBUG,
    tests) or execute wrappers installed the statement goes through Django's cursor as
    before."""
    watched = connection.queries_logged or connection.execute_wrappers
    if connection.vendor != "postgresql" or watched:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        # Django's default (None) turns preparing off for the whole connection, `prepare=True`
        # included. Only statements asked to be are prepared with this: Django's own cursors
        # bind on the client and never prepare, and nothing here is prepared by count.
        raw.prepare_threshold = _PREPARE_ONLY_WHEN_ASKED
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=prepare)
        return list(cursor.fetchall())


# --- group commit of the single webhook's INSERT (decisions §62, §72) --------------------
# SQLite has one writer. While the intake worker's batch holds the write lock, every request
# thread of the web process waits; one transaction each after that would give the web one
# message per gap between two worker batches and thread. Instead the thread that gets the
# process's write queue (kefu.core.db.sqlite) first inserts, in its one transaction, the
# rows of every request thread waiting by then; each thread answers only after that commit.
# PostgreSQL: while a process's INSERTs are on their way to the disk (a WAL flush per
# commit, several ms), its other request threads queue behind them; the next one to lead
# inserts all of them in one multi-row statement, one commit (decisions §72). Nobody waits
# for a group to fill: a thread alone inserts alone at once.


@dataclass
class _Job:
    params: list[Any]
    taken: bool = False
    done: bool = False
    # Handed the lead by the leader that finished before it (`_finish_locked`).
    lead: bool = False
    row: Any = None
    error: BaseException | None = None
    # Held while the job's thread waits; released once, by whoever finishes or hands it the
    # lead: the thread that waits is woken alone (decisions §102).
    wake: Any = None


_group = threading.Lock()
_pending: list[_Job] = []
_leading = 0
# Rows in one statement at most; more waiting threads make the next group.
GROUP_MOST = 64
# PostgreSQL: two groups on their way at once, so a thread arriving just after one started
# waits at most for the other's end, not for a whole commit before its own begins; SQLite's
# writer is one at a time whatever the threads do.
GROUP_LEADERS_POSTGRESQL = 2


def _group_insert(
    params: list[Any], run: Callable[[Callable[[], list[_Job]]], None], *, leaders: int = 1
) -> Any:
    """Insert `params`' row together with the other threads waiting to insert; the row the
    INSERT returned (None: not inserted), once its transaction committed.

    At most `leaders` groups are on their way at once; a thread arriving while they all are
    waits for the next group. `run(take)` inserts a group: it calls `take()` when it is ready
    to write (SQLite: with the write lock held, so everyone who queued while it waited comes
    along) and sets each taken job's `row`, or raises, which fails every job it took.

    A waiting thread sleeps on a lock of its own, released only when its row is committed
    (or failed) or when it is handed the lead: a group's end wakes its own threads and at
    most one other, not every waiting thread of the process (decisions §102)."""
    global _leading
    job = _Job(params)
    with _group:
        _pending.append(job)
        if _leading < leaders:
            _leading += 1
            job.lead = True
        else:
            job.wake = threading.Lock()
            job.wake.acquire()
    if not job.lead:
        job.wake.acquire()  # until `_finish_locked` releases it: done, or leading now
        if job.done:
            if job.error is not None:
                raise job.error
            return job.row
    jobs: list[_Job] = []
    if leaders > 1:
        # Taken as it leads: another thread may become a leader as soon as the lock is
        # let go, and must not find these still waiting.
        with _group:
            _take_locked(job, jobs)

    def take() -> list[_Job]:
        if not jobs:
            with _group:
                _take_locked(job, jobs)
        return jobs

    error: BaseException | None = None
    try:
        run(take)
    except BaseException as exc:
        error = exc
    finally:
        with _group:
            woken = _finish_locked(job, jobs, error)
        for each in woken:
            each.wake.release()
    if error is not None:
        raise error
    if job.error is not None:
        raise job.error  # its row alone failed (``_insert_group_postgresql``)
    return job.row


def _finish_locked(job: _Job, jobs: list[_Job], error: BaseException | None) -> list[_Job]:
    """A leader's end (`_group` held): its taken jobs done (failed with `error`, if any), the
    lead handed to the longest-waiting job; the waiting jobs to wake."""
    global _leading
    _leading -= 1
    if not jobs:
        # Nothing was taken (the lock was not had: a timeout): this job fails, the others
        # wait on.
        _pending.remove(job)
    woken = []
    for each in jobs:
        each.done = True
        if error is not None:
            each.error = error
            each.row = None
        if each is not job:
            woken.append(each)
    # The lead goes to one waiting job, and only if no leader is yet to take its group: one
    # that is will take every job waiting by then, as one statement (not two halves).
    waiting = [each for each in _pending if not each.lead]
    if waiting and len(waiting) == len(_pending):
        _leading += 1
        waiting[0].lead = True
        woken.append(waiting[0])
    return woken


def _take_locked(job: _Job, jobs: list[_Job]) -> None:
    """Into `jobs`: `job` first, then whoever waits, up to GROUP_MOST rows (`_group` held)."""
    others = [j for j in _pending if j is not job and not j.lead][: GROUP_MOST - 1]
    jobs[:] = [job, *others]
    for each in jobs:
        each.taken = True
        _pending.remove(each)


def _insert_group_sqlite(take: Callable[[], list[_Job]]) -> None:
    """The group in one transaction, a statement per row, once the write lock is ours."""
    sql = _insert_new_sql()
    with transaction.atomic(), connection.cursor() as cursor:
        for each in take():
            cursor.execute(sql, each.params)
            each.row = cursor.fetchone()


def _insert_group_postgresql(take: Callable[[], list[_Job]]) -> None:
    """The group in one statement in autocommit (one transaction, one WAL flush). Should it
    fail for a reason other than the connection (one row PostgreSQL refuses), each row is
    inserted alone, so only that row's request fails."""
    jobs = take()
    if len(jobs) == 1:
        (only,) = jobs
        rows = _autocommit_rows(_insert_new_sql(), only.params)
        only.row = rows[0] if rows else None
        return
    params = [value for each in jobs for value in each.params[:5]]
    try:
        # Not prepared (decisions §112). Prepared, PostgreSQL's plan cache settled on one
        # generic plan per connection after five runs, and with the messages table still
        # small (a new shop, a new install, the soak's first seconds) that plan was a hash
        # anti-join over a sequential scan of every stored message. It stays for the
        # connection's life, until an ANALYZE of the table replaces it: 134 → 940 buffers
        # and 0.8 → 21.5 ms a 3-row group over the soak's first minute (25–32 ms and 1,471
        # buffers at 50,000 messages, reproduced), against 52 buffers and 0.22 ms, plus
        # ~0.5 ms of planning, planned for the values it runs with. The single row's
        # statement keeps its prepared plan: its check is a lookup by the unique key, not a
        # join, whatever the table's size.
        returned = _autocommit_rows(_insert_group_sql(len(jobs)), params, prepare=False)
    except DatabaseError:
        if not connection.is_usable():
            raise
        for each in jobs:
            try:
                rows = _autocommit_rows(_insert_new_sql(), each.params)
                each.row = rows[0] if rows else None
            except DatabaseError as exc:
                each.error = exc
        return
    ids = {(int(shop_id), ext): pk for pk, shop_id, ext in returned}
    for each in jobs:
        # The same (shop, external_id) twice in a group: the first row is the one inserted;
        # the others find it queued (``enqueue_messages``), as a retry would.
        pk = ids.pop((int(each.params[0]), each.params[1]), None)
        each.row = (pk,) if pk is not None else None


_sql: dict[str, str] = {}


def _insert_new_sql() -> str:
    """The single message's INSERT, built once per process and database kind."""
    vendor = connection.vendor
    if vendor not in _sql:
        cast = "::jsonb" if vendor == "postgresql" else ""
        _sql[vendor] = (
            f"INSERT INTO {IntakeMessage._meta.db_table} "  # noqa: S608 - names from models
            "(shop_id, external_id, lane, payload, received_at, attempts, last_error) "
            f"SELECT %s, %s, %s, %s{cast}, %s, 0, '' "
            f"WHERE NOT EXISTS (SELECT 1 FROM {Message._meta.db_table} "
            "WHERE shop_id = %s AND external_id = %s) "
            "ON CONFLICT (shop_id, external_id) DO NOTHING RETURNING id"
        )
    return _sql[vendor]


def _insert_group_sql(n: int) -> str:
    """``_insert_new_sql`` for n rows at once on PostgreSQL, built once per size."""
    key = f"group-{n}"
    if key not in _sql:
        values = ", ".join(["(%s::bigint, %s::text, %s::int, %s::text, %s::timestamptz)"] * n)
        _sql[key] = (
            f"INSERT INTO {IntakeMessage._meta.db_table} "  # noqa: S608 - names from models
            "(shop_id, external_id, lane, payload, received_at, attempts, last_error) "
            "SELECT v.shop_id, v.external_id, v.lane, v.payload::jsonb, v.received_at, 0, '' "
            f"FROM (VALUES {values}) AS v (shop_id, external_id, lane, payload, received_at) "
            f"WHERE NOT EXISTS (SELECT 1 FROM {Message._meta.db_table} m "
            "WHERE m.shop_id = v.shop_id AND m.external_id = v.external_id) "
            "ON CONFLICT (shop_id, external_id) DO NOTHING RETURNING id, shop_id, external_id"
        )
    return _sql[key]


def _insert(shop: Shop, messages: list[BuyerMessageIn]) -> dict[str, int]:
    """One multi-row INSERT … ON CONFLICT DO NOTHING RETURNING: the ids of the new rows."""
    table = IntakeMessage._meta.db_table
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows: list[Any] = []
    for m in messages:
        assert m.external_id is not None  # noqa: S101 - enqueue_messages checked it
        rows += [
            shop.pk,
            m.external_id,
            lane_of(shop.pk, m.buyer.external_id),
            json.dumps(payload_of(m), ensure_ascii=False),
            now,
            0,
            "",
        ]
    values = ", ".join([f"(%s, %s, %s, %s{cast}, %s, %s, %s)"] * len(messages))
    sql = (
        f"INSERT INTO {table} "  # noqa: S608 - table name from the model, values bound
        "(shop_id, external_id, lane, payload, received_at, attempts, last_error) "
        f"VALUES {values} ON CONFLICT (shop_id, external_id) DO NOTHING "
        "RETURNING id, external_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, rows)
        return {ext: pk for pk, ext in cursor.fetchall()}


def ensure_lanes() -> None:
    """The lane rows workers lock; created on first use (a flushed test database too)."""
    if IntakeLane.objects.count() < LANES:
        IntakeLane.objects.bulk_create(
            [IntakeLane(number=n) for n in range(LANES)], ignore_conflicts=True
        )


def waiting_lanes() -> list[int]:
    """Lanes with messages still to process (failed ones left aside)."""
    return sorted(
        IntakeMessage.objects.filter(attempts__lt=MAX_ATTEMPTS)
        .values_list("lane", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class QueueState:
    waiting: int
    failed: int
    oldest_age_seconds: float | None


def queue_state() -> QueueState:
    """How much is waiting, how much has failed and how old the oldest message is."""
    waiting = IntakeMessage.objects.filter(attempts__lt=MAX_ATTEMPTS)
    oldest = waiting.order_by("id").values_list("received_at", flat=True).first()
    return QueueState(
        waiting=waiting.count(),
        failed=IntakeMessage.objects.filter(attempts__gte=MAX_ATTEMPTS).count(),
        oldest_age_seconds=(timezone.now() - oldest).total_seconds() if oldest else None,
    )


@dataclass(frozen=True)
class IntakeStatus:
    external_id: str
    status: str  # queued, failed, processed or unknown
    intake_id: int | None = None
    message: Message | None = None
    error: str = ""


def intake_statuses(*, shop: Shop, external_ids: Sequence[str]) -> list[IntakeStatus]:
    """Where each of the shop's messages is: still queued, failed, or stored and routed."""
    queued = {
        row.external_id: row
        for row in IntakeMessage.objects.filter(shop=shop, external_id__in=external_ids)
    }
    stored = {
        m.external_id: m
        for m in Message.objects.filter(shop=shop, external_id__in=external_ids).select_related(
            "conversation__assignee"
        )
    }
    out: list[IntakeStatus] = []
    for ext in external_ids:
        if ext in stored:
            out.append(IntakeStatus(ext, "processed", message=stored[ext]))
        elif ext in queued:
            row = queued[ext]
            failed = row.attempts >= MAX_ATTEMPTS
            out.append(
                IntakeStatus(
                    ext,
                    "failed" if failed else "queued",
                    intake_id=row.pk,
                    error=row.last_error if failed else "",
                )
            )
        else:
            out.append(IntakeStatus(ext, "unknown"))
    return out
