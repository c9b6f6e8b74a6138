"""The queued message webhook (issue 15): 202 once committed to the intake queue, stored and
routed by the intake worker; idempotent, in order per buyer, never lost, and storing exactly
what the synchronous webhook stores."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.test import Client

from kefu.accounts.models import Shop, User
from kefu.accounts.services import create_agent, create_shop
from kefu.automation.config import settings_for_update
from kefu.automation.starter import install_starter_set
from kefu.cli import main as kefu
from kefu.conversations.intake_queue import LANES, ensure_lanes, lane_of, queue_state
from kefu.conversations.models import (
    Conversation,
    ConversationEvent,
    IntakeMessage,
    Message,
    Outbox,
)
from kefu.desk import intake_queue
from kefu.desk.intake_queue import MIN_SET_BATCH as MIN_BATCH
from kefu.desk.tasks import drain_intake
from kefu.integrations.signing import signed_headers
from tests.conftest import PASSWORD
from tests.helpers import online, post_signed, routing_of, synchronous_intake


def message(n: int, buyer: str = "b-1", **over: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "external_id": f"m-{buyer}-{n}",
        "buyer": {"external_id": buyer, "name": "Olga", "language": "en"},
        "entry_point": "product_page",
        "text": f"question {n} about the lamp",
    }
    data.update(over)
    return data


def post_batch(shop: Shop, messages: list[Any], *, client: Client | None = None):
    body = json.dumps({"messages": messages}).encode()
    return (client or Client()).post(
        "/api/v1/inbound/messages/batch",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
    )


@pytest.fixture
def no_worker(monkeypatch):
    """The web process answers and then dies before any worker hears of the message: the
    only way left to the message is the sweep."""
    # The webhook's module imported first: imported after the patch below, it would bind the
    # patched `kick` by name, and monkeypatch would "restore" that no-op for every later test.
    import kefu.integrations.api as inbound_api

    monkeypatch.setattr(intake_queue, "kick", lambda lanes: None)
    monkeypatch.setattr(inbound_api, "kick", lambda lanes: None)


@pytest.mark.django_db
def test_queued_message_is_answered_202_then_stored_and_routed(shop, pre_agent):
    online(pre_agent)
    response = post_signed(Client(), shop, message(1))
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["duplicate"] is False
    assert isinstance(body["id"], int)
    routed = routing_of(shop, "m-b-1-1")
    assert routed["status"] == "processed"
    assert routed["group"] == "pre_sale"
    assert routed["assigned_agent"] == "lily"
    assert Message.objects.get(pk=routed["message_id"]).text == "question 1 about the lamp"
    assert not IntakeMessage.objects.exists()  # processed rows leave the queue


@pytest.mark.django_db
def test_a_duplicate_answers_the_same_id_and_is_stored_once(shop, pre_agent, no_worker):
    online(pre_agent)
    first = post_signed(Client(), shop, message(1))
    again = post_signed(Client(), shop, message(1, text="a retry with other text"))
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicate"] is True
    assert IntakeMessage.objects.count() == 1
    assert routing_of(shop, "m-b-1-1")["status"] == "queued"

    assert drain_intake() == 1
    late = post_signed(Client(), shop, message(1))
    assert late.status_code == 200
    assert late.json()["duplicate"] is True
    assert late.json()["message_id"] == routing_of(shop, "m-b-1-1")["message_id"]
    assert Message.objects.filter(shop=shop, external_id="m-b-1-1").count() == 1
    assert Message.objects.get(external_id="m-b-1-1").text == "question 1 about the lamp"
    assert Conversation.objects.get().unread_count == 1
    assert not IntakeMessage.objects.exists()


@pytest.mark.django_db
def test_answered_then_crashed_message_is_stored_by_the_sweep(shop, pre_agent, no_worker, capsys):
    online(pre_agent)
    answers = [post_signed(Client(), shop, message(n, f"b-{n % 3}")) for n in range(6)]
    assert [a.status_code for a in answers] == [202] * 6
    # Nothing processed it: the rows wait, committed, and the status says so.
    assert not Message.objects.exists()
    assert intake_cli(capsys)[:2] == (0, 6)
    assert routing_of(shop, "m-b-1-1")["status"] == "queued"

    # The beat's sweep is the worker task with no lanes: it finds every waiting lane.
    assert drain_intake() == 6
    assert Message.objects.filter(shop=shop).count() == 6
    assert queue_state().waiting == 0
    assert routing_of(shop, "m-b-1-1")["assigned_agent"] == "lily"


@pytest.mark.django_db
def test_the_polling_worker_stores_queued_messages_without_a_kick(
    shop, pre_agent, settings, monkeypatch
):
    """SQLite's default (decisions §62): the webhook writes nothing to the broker and the
    intake worker finds the messages by reading the queue."""
    online(pre_agent)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.KEFU_INTAKE_POLL_SECONDS = 0.01
    sent: list[Any] = []

    class Broker:
        def delay(self, *args: Any) -> None:
            sent.append(args)

        def apply_async(self, *args: Any, **kwargs: Any) -> None:
            sent.append(args)

    import kefu.desk.tasks as desk_tasks

    monkeypatch.setattr(desk_tasks, "drain_intake", Broker())
    single = [post_signed(Client(), shop, message(n, f"b-{n % 3}")) for n in range(4)]
    batch = post_batch(shop, [message(n, f"b-{n % 3}") for n in range(4, 6)])
    assert [a.status_code for a in single] + [batch.status_code] == [202] * 5
    assert sent == []
    assert not Message.objects.exists()
    assert queue_state().waiting == 6

    looks = 0

    def should_stop() -> bool:
        nonlocal looks
        looks += 1
        return looks > 3 and not IntakeMessage.objects.exists()

    assert intake_queue.work(should_stop=should_stop) == 6
    assert sent == []
    assert queue_state().waiting == 0
    assert Message.objects.filter(shop=shop, direction="buyer").count() == 6
    for n in range(6):
        assert routing_of(shop, f"m-b-{n % 3}-{n}")["assigned_agent"] == "lily"
    # Each buyer's messages in the order they came.
    texts = list(
        Message.objects.filter(buyer__external_id="b-1", direction="buyer")
        .order_by("id")
        .values_list("text", flat=True)
    )
    assert texts == ["question 1 about the lamp", "question 4 about the lamp"]


def test_kicks_and_the_sweep_only_without_a_polling_worker(monkeypatch, settings):
    from kefu import celery as kefu_celery

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.KEFU_INTAKE_POLL_SECONDS = 0
    assert not intake_queue.polling()
    monkeypatch.delenv("KEFU_INTAKE_POLL_SECONDS", raising=False)
    monkeypatch.delenv("KEFU_DATABASE_URL", raising=False)
    assert kefu_celery.intake_poll_seconds() > 0  # SQLite: the worker polls, no sweep
    monkeypatch.setenv("KEFU_DATABASE_URL", "postgres://db/kefu")
    assert kefu_celery.intake_poll_seconds() == 0
    monkeypatch.setenv("KEFU_INTAKE_POLL_SECONDS", "0.1")
    assert kefu_celery.intake_poll_seconds() > 0


@pytest.mark.django_db
def test_batch_answers_per_item_and_queues_the_valid_ones(shop, pre_agent, no_worker):
    online(pre_agent)
    items: list[Any] = [
        message(1, "b-1"),
        message(2, "b-2", entry_point="billboard"),
        "not an object",
        message(1, "b-1"),  # the same id twice in one batch is one message
        message(3, "b-3", sent_at="2026-11-11T00:05:00"),
    ]
    response = post_batch(shop, items)
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    results = body["results"]
    assert [r["status"] for r in results] == [
        "queued",
        "rejected",
        "rejected",
        "queued",
        "rejected",
    ]
    assert results[0]["id"] == results[3]["id"]
    assert results[3]["duplicate"] is True
    assert "entry_point" in [e["field"] for e in results[1]["errors"]]
    assert results[4]["detail"] == "sent_at needs a time zone offset"
    assert IntakeMessage.objects.count() == 1

    drain_intake()
    retry = post_batch(shop, [message(1, "b-1")]).json()["results"][0]
    assert retry["status"] == "processed"
    assert retry["duplicate"] is True
    assert retry["assigned_agent"] == "lily"


@pytest.mark.django_db
def test_batch_over_the_limit_or_malformed_queues_nothing(shop, settings):
    settings.KEFU_INTAKE_BATCH_MAX = 3
    assert post_batch(shop, [message(n) for n in range(4)]).status_code == 413
    assert post_batch(shop, []).status_code == 400
    body = b'{"messages": "nope"}'
    response = Client().post(
        "/api/v1/inbound/messages/batch",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
    )
    assert response.status_code == 400
    assert not IntakeMessage.objects.exists()


@pytest.mark.django_db
def test_batch_signed_by_another_secret_is_401(shop):
    body = json.dumps({"messages": [message(1)]}).encode()
    response = Client().post(
        "/api/v1/inbound/messages/batch",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret="not-the-secret", body=body),
    )
    assert response.status_code == 401
    assert not IntakeMessage.objects.exists()


@pytest.mark.django_db
def test_status_is_per_shop(shop, other_shop, no_worker):
    post_signed(Client(), shop, message(1))
    assert routing_of(other_shop, "m-b-1-1")["status"] == "unknown"
    assert routing_of(shop, "m-b-1-1")["status"] == "queued"


@pytest.mark.django_db
def test_a_message_failing_again_and_again_is_parked_not_lost(shop, no_worker, monkeypatch, capsys):
    post_signed(Client(), shop, message(1, "b-1"))
    post_signed(Client(), shop, message(2, "b-1"))
    post_signed(Client(), shop, message(1, "b-2"))

    def broken(row):
        if row.external_id == "m-b-1-1":
            raise RuntimeError("the disk is full")
        return real(row)

    def broken_batch(rows):
        # The set-based batch fails with the bad row in it; the lane goes one by one.
        if any(row.external_id == "m-b-1-1" for row in rows):
            raise RuntimeError("the disk is full")
        return real_batch(rows)

    real, real_batch = intake_queue._process, intake_queue.process_batch
    monkeypatch.setattr(intake_queue, "_process", broken)
    monkeypatch.setattr(intake_queue, "process_batch", broken_batch)
    for _ in range(intake_queue.MAX_ATTEMPTS + 1):
        drain_intake()
    # The rows batched with the failing one are stored, one by one.
    assert Message.objects.filter(external_id="m-b-1-2").exists()
    assert Message.objects.filter(external_id="m-b-2-1").exists()
    status = routing_of(shop, "m-b-1-1")
    assert status["status"] == "failed"
    assert "the disk is full" in status["error"]
    assert queue_state().failed == 1
    assert intake_cli(capsys)[0] == 1  # an operator must look


def intake_cli(capsys) -> tuple[int, int, int]:
    """`kefu intake --json`: its exit code, and the messages waiting and failed."""
    capsys.readouterr()
    code = kefu(["intake", "--json"])
    state = json.loads(capsys.readouterr().out)
    return code, state["waiting"], state["failed"]


def test_lanes_are_stable_and_spread():
    assert lane_of(1, "buyer-7") == lane_of(1, " buyer-7 ")
    assert len({lane_of(1, f"b-{n}") for n in range(200)}) == LANES


def _buyers_in_lanes(shop: Shop, count: int, per_lane: int) -> dict[int, list[str]]:
    """Buyer ids of ``count`` different lanes, ``per_lane`` of each."""
    lanes: dict[int, list[str]] = {}
    n = 0
    while sum(len(b) for b in lanes.values()) < count * per_lane:
        buyer, n = f"b-{n}", n + 1
        lane = lane_of(shop.pk, buyer)
        if lane in lanes and len(lanes[lane]) < per_lane:
            lanes[lane].append(buyer)
        elif lane not in lanes and len(lanes) < count:
            lanes[lane] = [buyer]
    return lanes


def test_one_batch_takes_a_prefix_of_each_lane_it_holds(shop, pre_agent, no_worker):
    """A batch over several lanes stores, for each lane, its oldest waiting messages and
    nothing after them: what is left of a lane (and of each buyer) waits in order."""
    online(pre_agent)
    lanes = _buyers_in_lanes(shop, 3, 2)
    items = [message(n, b) for n in range(6) for buyers in lanes.values() for b in buyers]
    assert post_batch(shop, items).status_code == 202
    queued = {
        lane: list(
            IntakeMessage.objects.filter(lane=lane).order_by("id").values_list("pk", "external_id")
        )
        for lane in lanes
    }

    ensure_lanes()
    assert intake_queue.drain_lanes(sorted(lanes), batch=MIN_BATCH) > 0

    stored = set(
        Message.objects.filter(shop=shop, direction="buyer").values_list("external_id", flat=True)
    )
    taken = {lane: [ext for _, ext in rows if ext in stored] for lane, rows in queued.items()}
    assert sum(len(t) for t in taken.values()) == len(stored)
    for lane, rows in queued.items():
        # A prefix: the stored ones are the lane's first, in queue order.
        assert taken[lane] == [ext for _, ext in rows[: len(taken[lane])]]
    if connection.vendor == "postgresql":
        # Several lanes in one batch, whole lanes first (SQLite takes one lane per batch).
        assert len(stored) == MIN_BATCH
        assert sorted(len(t) for t in taken.values()) == [0, 8, 12]
    assert IntakeMessage.objects.count() == len(items) - len(stored)
    intake_queue.drain()
    assert Message.objects.filter(shop=shop, direction="buyer").count() == len(items)
    for buyers in lanes.values():
        for buyer in buyers:
            order = list(
                Message.objects.filter(shop=shop, buyer__external_id=buyer, direction="buyer")
                .order_by("id")
                .values_list("external_id", flat=True)
            )
            assert order == [f"m-{buyer}-{n}" for n in range(6)]


@pytest.mark.django_db(transaction=True)
def test_the_queue_is_read_through_its_index_whatever_the_statistics_say(shop, no_worker):
    """Autovacuum is off: the statistics are those of the last ANALYZE (here a queue a
    twentieth of its size). The lanes' read is still a scan of the (lane, id) index that
    stops at each lane's share, also for a lane with nothing waiting — not a bitmap scan of
    every waiting row plus a sort, nor a walk of the primary key through the whole queue —
    and the batch's own queries plan as usual afterwards."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    from django.db import transaction

    table = IntakeMessage._meta.db_table
    fill = (
        f"INSERT INTO {table} (shop_id, external_id, lane, payload, received_at, attempts, "  # noqa: S608
        "last_error) SELECT %s, %s || g, g %% 16, '{}'::jsonb, now(), 0, '' "
        "FROM generate_series(1, %s) g"
    )
    with connection.cursor() as cursor:
        # ANALYZEd with 60 rows a lane, then the queue grows: the planner reckons each lane's
        # rows are spread through the table, so walking the primary key looks cheap.
        cursor.execute(fill, [shop.pk, "early-", 960])
        cursor.execute(f"ANALYZE {table}")
        cursor.execute(fill, [shop.pk, "late-", 20000])
    lanes, empty = [3, 9], 12
    IntakeMessage.objects.filter(lane=empty).delete()
    plans: list[str] = []

    def explain(execute, sql, params, many, context):
        if "CROSS JOIN LATERAL" in sql:
            raw = context["cursor"].cursor  # psycopg's own: not through this wrapper again
            raw.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in raw.fetchall()))
        return execute(sql, params, many, context)

    with transaction.atomic(), connection.execute_wrapper(explain):
        ids = [row.pk for row in intake_queue._first_rows([*lanes, empty], 20)]
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_setting('enable_bitmapscan'), current_setting('enable_seqscan'),"
                " current_setting('enable_sort')"
            )
            after = cursor.fetchone()
    # The head of one lane's queue: a batch fills from one lane while it has enough.
    lane = IntakeMessage.objects.get(pk=ids[0]).lane
    assert lane in lanes
    head = IntakeMessage.objects.filter(lane=lane).order_by("id").values_list("pk", flat=True)
    assert ids == list(head[:20])
    assert after == ("on", "on", "on")
    (plan,) = plans
    assert "Index Scan using intake_lane_order" in plan and "Index Cond: ((lane >=" in plan
    assert "Bitmap" not in plan and "Seq Scan on" not in plan
    # The one sort is of the ids read, not of a lane's whole queue.
    assert [line for line in plan.splitlines() if "Sort Key" in line] == [
        next(line for line in plan.splitlines() if "Sort Key: l.n" in line)
    ]
    assert "pkey" not in plan


def _other_connection(*, autocommit: bool = False):
    """A psycopg connection of its own to the test database: another session."""
    import psycopg

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    return psycopg.connect(**params, autocommit=autocommit)


@pytest.mark.django_db(transaction=True)
def test_a_connection_postgresql_dropped_is_replaced_for_the_single_webhook(shop):
    """The intake server keeps its connections with no `SELECT 1` before each request: the
    single webhook's INSERT on a connection PostgreSQL closed (a restart) runs again on a
    new one, and the message is queued once."""
    if connection.vendor != "postgresql":
        pytest.skip("a server-side connection to drop")

    from kefu.conversations.buyers import BuyerIn
    from kefu.conversations.intake import BuyerMessageIn
    from kefu.conversations.intake_queue import enqueue_message

    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    with _other_connection(autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
    incoming = BuyerMessageIn(
        buyer=BuyerIn(external_id="b-1", name="Olga", language="en", country=""),
        text="still there?",
        entry_point="product_page",
        external_id="after-restart",
    )

    queued = enqueue_message(shop=shop, message=incoming)

    assert queued.intake_id is not None and not queued.duplicate
    assert connection.connection.info.backend_pid != pid
    assert list(IntakeMessage.objects.values_list("external_id", flat=True)) == ["after-restart"]


@contextlib.contextmanager
def _refusing(monkeypatch) -> Iterator[tuple[list[int], Callable[[], None]]]:
    """While inside: the database's port is one nobody listens on (a PostgreSQL that is down,
    for every thread: their connections share the settings), this thread's connection
    closed. Yields a list counting every connection attempt of any thread, and the call
    that makes the database accept connections again (done on the way out in any case)."""
    connection.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    settings = connection.settings_dict
    real_port = settings["PORT"]
    attempts: list[int] = []
    wrapper = type(connections["default"])
    original = wrapper.get_new_connection

    def counted(self, conn_params):
        attempts.append(1)
        return original(self, conn_params)

    monkeypatch.setattr(wrapper, "get_new_connection", counted)
    settings["PORT"] = closed_port
    try:
        yield attempts, lambda: settings.__setitem__("PORT", real_port)
    finally:
        settings["PORT"] = real_port
        connection.close()


def _incoming(ext: str):
    from kefu.conversations.buyers import BuyerIn
    from kefu.conversations.intake import BuyerMessageIn

    return BuyerMessageIn(
        buyer=BuyerIn(external_id=f"b-{ext}", name="Olga", language="en", country=""),
        text="anyone there?",
        entry_point="product_page",
        external_id=ext,
    )


@pytest.mark.django_db(transaction=True)
def test_webhook_requests_wait_for_a_database_that_refuses_connections_and_are_served(
    shop, monkeypatch
):
    """PostgreSQL down or recovering (decisions §119): the single webhook's requests wait for
    it instead of answering 503 at once, one thread tries again every pause while the others
    sleep, and once it accepts connections every waiting message is queued and answered."""
    if connection.vendor != "postgresql":
        pytest.skip("a server to refuse connections")
    from django.db import connections as all_connections

    from kefu.conversations import intake_queue as queue_module

    answers: dict[str, Any] = {}

    def post(ext: str) -> None:
        try:
            answers[ext] = queue_module.enqueue_message(shop=shop, message=_incoming(ext))
        except Exception as exc:  # the assertion below names it
            answers[ext] = exc
        finally:
            all_connections["default"].close()

    with _refusing(monkeypatch) as (attempts, accept):
        threads = [threading.Thread(target=post, args=(f"held-{n}",)) for n in range(4)]
        started = time.monotonic()
        for t in threads:
            t.start()
        time.sleep(0.5)
        accept()
        for t in threads:
            t.join(timeout=10)
        took = time.monotonic() - started

    assert sorted(answers) == [f"held-{n}" for n in range(4)]
    assert all(isinstance(a, queue_module.Queued) for a in answers.values()), answers
    assert 0.5 <= took < queue_module.REFUSED_WAIT_SECONDS
    # Refused for 0.5 s: the threads' first tries, then one every 0.1 s at most (not each
    # thread in a loop), then a connection each.
    assert len(attempts) <= 4 + 0.5 / queue_module.REFUSED_PAUSE_SECONDS + 2 + 4
    assert IntakeMessage.objects.filter(external_id__startswith="held-").count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_webhook_request_refused_past_its_wait_raises_the_error_that_answers_503(
    shop, monkeypatch
):
    """A database still down after REFUSED_WAIT_SECONDS: the request ends with the
    OperationalError that UnavailableMiddleware answers 503 (nothing was written), after
    the wait and a bounded number of attempts; the next one, the database back, is served."""
    if connection.vendor != "postgresql":
        pytest.skip("a server to refuse connections")
    from django.db import OperationalError

    from kefu.conversations import intake_queue as queue_module

    monkeypatch.setattr(queue_module, "REFUSED_WAIT_SECONDS", 0.4)
    with _refusing(monkeypatch) as (attempts, _):
        started = time.monotonic()
        with pytest.raises(OperationalError):
            queue_module.enqueue_message(shop=shop, message=_incoming("refused"))
        took = time.monotonic() - started
    assert 0.4 <= took < 1.5
    assert 2 <= len(attempts) <= 0.4 / queue_module.REFUSED_PAUSE_SECONDS + 2
    assert not IntakeMessage.objects.filter(external_id="refused").exists()
    assert queue_module.enqueue_message(shop=shop, message=_incoming("after")).intake_id


# --- a message committed while the lane is being drained -----------------------------------


def _buyer_in_lane(shop: Shop, lane: int, prefix: str) -> str:
    return next(f"{prefix}-{n}" for n in range(10_000) if lane_of(shop.pk, f"{prefix}-{n}") == lane)


@pytest.mark.django_db(transaction=True)
def test_a_newest_uncommitted_insert_of_a_lane_is_not_skipped(shop, no_worker):
    """A web INSERT takes the newest transaction id and a row id, and commits only after the
    worker stored an earlier message of its lane and a later one: it is stored once it commits
    (decisions §101: lane cursors settled from a snapshot's running ids lost exactly this one,
    whose id lies at or above the snapshot's xmax)."""
    if connection.vendor != "postgresql":
        pytest.skip("concurrent writers: PostgreSQL's")
    from kefu.conversations.buyers import BuyerIn
    from kefu.conversations.intake import BuyerMessageIn
    from kefu.conversations.intake_queue import _insert_new_sql, payload_of

    lane = lane_of(shop.pk, "b-early")
    ensure_lanes()
    assert post_signed(Client(), shop, message(0, "b-early")).status_code == 202
    late, later = _buyer_in_lane(shop, lane, "late"), _buyer_in_lane(shop, lane, "later")
    with _other_connection() as other:
        ext = f"m-{late}-0"
        incoming = BuyerMessageIn(
            buyer=BuyerIn(external_id=late, name="Olga", language="en", country=""),
            text="newest, committed last",
            entry_point="product_page",
            external_id=ext,
        )
        payload = json.dumps(payload_of(incoming))
        now = dt.datetime.now(dt.UTC)
        other.execute(_insert_new_sql(), [shop.pk, ext, lane, payload, now, shop.pk, ext])
        intake_queue.drain()
        assert Message.objects.filter(external_id="m-b-early-0").exists()
        assert post_signed(Client(), shop, message(0, later)).status_code == 202
        intake_queue.drain()
        assert Message.objects.filter(external_id=f"m-{later}-0").exists()
        other.commit()
    for _ in range(3):
        intake_queue.drain()
    assert Message.objects.filter(external_id=ext).exists()
    assert not IntakeMessage.objects.exists()


# --- per-buyer order under concurrent delivery ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sqlite_webhook_threads_waiting_for_the_lock_insert_in_one_transaction(shop, monkeypatch):
    """While another process holds SQLite's write lock (the intake worker's batch), the
    request threads' INSERTs queue up; the first to get the lock inserts them all in one
    transaction, and each thread returns its own id only after that commit (decisions §62)."""
    if connection.vendor != "sqlite":
        pytest.skip("the group insert is SQLite's")
    import sqlite3

    from kefu.conversations import intake_queue as queue
    from kefu.conversations.buyers import BuyerIn
    from kefu.conversations.intake import BuyerMessageIn
    from kefu.core.db.sqlite.base import DatabaseWrapper

    begins: list[int] = []
    real_begin = DatabaseWrapper._begin_polled

    def counted(self: DatabaseWrapper, timeout: float) -> None:
        begins.append(1)
        real_begin(self, timeout)

    monkeypatch.setattr(DatabaseWrapper, "_begin_polled", counted)
    worker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    worker.execute("BEGIN IMMEDIATE")  # the other process's batch
    answers: dict[str, int | None] = {}
    errors: list[BaseException] = []

    def insert(n: int) -> None:
        m = BuyerMessageIn(
            buyer=BuyerIn(external_id=f"b-{n}", name="", language="", country=""),
            text=f"question {n}",
            entry_point="product_page",
            external_id=f"g-{n}",
        )
        try:
            answers[f"g-{n}"] = queue.enqueue_message(shop=shop, message=m).intake_id
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=insert, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    while len(queue._pending) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(queue._pending) == 6
    assert answers == {}  # nobody answers before the commit
    worker.execute("COMMIT")
    worker.close()
    for t in threads:
        t.join()
    assert errors == []
    assert len(begins) == 1
    assert sorted(answers) == [f"g-{n}" for n in range(6)]
    stored = dict(IntakeMessage.objects.values_list("external_id", "pk"))
    assert stored == answers


@pytest.mark.django_db(transaction=True)
def test_postgresql_webhook_threads_waiting_behind_inserts_share_the_next_one(shop, monkeypatch):
    """While a process's INSERTs are on their way (here: two, held by another session's
    uncommitted rows with their ids), its other request threads queue up; the next to lead
    inserts them all in one statement, each answers only after that commit, and the same id
    twice in one group is queued once (decisions §72)."""
    if connection.vendor != "postgresql":
        pytest.skip("the multi-row group insert is PostgreSQL's")

    from kefu.conversations import intake_queue as queue
    from kefu.conversations.buyers import BuyerIn
    from kefu.conversations.intake import BuyerMessageIn

    statements: list[int] = []
    real_rows = queue._autocommit_rows

    def counted(sql: str, params: list[Any], **options: Any) -> list[Any]:
        statements.append(len(params))
        return real_rows(sql, params, **options)

    monkeypatch.setattr(queue, "_autocommit_rows", counted)
    other = _other_connection()
    # Another session's uncommitted rows with the first two threads' ids: their INSERTs wait.
    for held in ("g-0", "g-1"):
        other.execute(
            "INSERT INTO conversations_intakemessage (shop_id, external_id, lane, payload, "
            "received_at, attempts, last_error) VALUES (%s, %s, 0, '{}', now(), 0, '')",
            [shop.pk, held],
        )
    answers: dict[int, Any] = {}
    errors: list[BaseException] = []
    ids = ["g-0", "g-1", "g-2", "g-dup", "g-dup", "g-3"]

    def insert(n: int) -> None:
        m = BuyerMessageIn(
            buyer=BuyerIn(external_id=f"b-{n}", name="", language="", country=""),
            text=f"question {n}",
            entry_point="product_page",
            external_id=ids[n],
        )
        try:
            answers[n] = queue.enqueue_message(shop=shop, message=m)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    deadline = time.monotonic() + 10
    leaders = [threading.Thread(target=insert, args=(n,)) for n in (0, 1)]
    for t in leaders:
        t.start()
    while len(statements) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.GROUP_LEADERS_POSTGRESQL == 2
    threads = [threading.Thread(target=insert, args=(n,)) for n in range(2, 6)]
    for t in threads:
        t.start()
    while len(queue._pending) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(queue._pending) == 4
    assert answers == {}  # nobody answers before their commit
    other.rollback()  # the first two INSERTs go ahead
    other.close()
    for t in [*leaders, *threads]:
        t.join()
    assert errors == []
    # One statement each for the first two threads, one for the four that waited.
    assert statements == [7, 7, 4 * 5]
    stored = dict(IntakeMessage.objects.values_list("external_id", "pk"))
    assert sorted(stored) == ["g-0", "g-1", "g-2", "g-3", "g-dup"]
    for n, ext in enumerate(ids):
        assert answers[n].intake_id == stored[ext]
    assert sorted(answers[n].duplicate for n in (3, 4)) == [False, True]
    assert not any(answers[n].duplicate for n in (0, 1, 2, 5))


@pytest.mark.django_db
def test_postgresql_group_insert_is_planned_for_its_values_not_by_a_cached_generic_plan(shop):
    """The group INSERT is not a prepared statement of the connection: prepared, PostgreSQL
    chose one generic plan after five runs, and made while the messages table was small that
    plan scanned every stored message for each group for as long as the connection lived
    (decisions §112). The single row's INSERT stays prepared (decisions §89)."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    from django.utils import timezone

    from kefu.conversations import intake_queue as queue

    def job(ext: str) -> Any:
        return queue._Job([shop.pk, ext, 0, "{}", timezone.now(), shop.pk, ext])

    for run in range(8):  # past the plan cache's five custom plans
        jobs = [job(f"plan-{run}-{k}") for k in range(3)]
        queue._insert_group_postgresql(lambda jobs=jobs: jobs)
        assert all(j.row is not None for j in jobs)
    single = [job("plan-single")]
    queue._insert_group_postgresql(lambda: single)
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement, generic_plans FROM pg_prepared_statements")
        prepared = cursor.fetchall()
    assert not [text for text, _ in prepared if "FROM (VALUES" in text]
    assert [text for text, _ in prepared if "conversations_intakemessage" in text]
    assert IntakeMessage.objects.filter(external_id__startswith="plan-").count() == 25


def test_a_group_whose_leader_fails_before_taking_hands_the_lead_to_the_waiting_threads():
    """A leader that fails before it takes its group (SQLite's write lock not had in time)
    fails its own request only; the threads that queued behind it are handed the lead and
    inserted in one group, each woken once with its own row (decisions §102)."""
    from kefu.conversations import intake_queue as queue

    entered = threading.Event()
    release = threading.Event()
    groups: list[list[Any]] = []

    def run(take: Any) -> None:
        if not groups and not entered.is_set():
            entered.set()
            release.wait(10)
            raise TimeoutError("write lock not had")
        jobs = take()
        groups.append([job.params[0] for job in jobs])
        for job in jobs:
            job.row = (job.params[0] * 10,)

    answers: dict[int, Any] = {}

    def insert(n: int) -> None:
        try:
            answers[n] = queue._group_insert([n], run)
        except TimeoutError as exc:
            answers[n] = exc

    first = threading.Thread(target=insert, args=(0,))
    first.start()
    assert entered.wait(10)
    others = [threading.Thread(target=insert, args=(n,)) for n in (1, 2, 3)]
    for t in others:
        t.start()
    deadline = time.monotonic() + 10
    while len(queue._pending) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(queue._pending) == 4  # the leader's untaken job and three waiting
    release.set()
    for t in [first, *others]:
        t.join(10)
        assert not t.is_alive()
    assert isinstance(answers.pop(0), TimeoutError)
    assert answers == {1: (10,), 2: (20,), 3: (30,)}
    assert groups == [[1, 2, 3]]
    assert queue._pending == []
    assert queue._leading == 0


@pytest.mark.django_db(transaction=True)
def test_each_buyers_messages_are_stored_in_order_under_concurrent_delivery(shop, pre_agent):
    """Eight connections deliver at once, each the messages of its own buyers in order; the
    worker (run by each request, as the eager test worker does) stores every buyer's
    messages in the order they were answered, once each."""
    online(pre_agent)
    buyers = [f"b-{n}" for n in range(16)]
    per_buyer = 6
    errors: list[str] = []

    def deliver(mine: list[str]) -> None:
        client = Client()
        try:
            for n in range(per_buyer):
                for buyer in mine:
                    response = post_signed(client, shop, message(n, buyer))
                    if response.status_code not in (200, 202):
                        errors.append(f"{buyer} {n}: {response.status_code}")
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(buyers[i::8],)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    drain_intake()  # what a late kick or the sweep would still find
    assert not IntakeMessage.objects.exists()
    for buyer in buyers:
        stored = list(
            Message.objects.filter(shop=shop, buyer__external_id=buyer, direction="buyer")
            .order_by("id")
            .values_list("external_id", flat=True)
        )
        assert stored == [f"m-{buyer}-{n}" for n in range(per_buyer)]


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_keep_each_buyers_order(shop, pre_agent, no_worker):
    online(pre_agent)
    buyers = [f"b-{n}" for n in range(10)]
    messages = [message(n, buyer) for n in range(8) for buyer in buyers]
    for start in range(0, len(messages), 20):
        assert post_batch(shop, messages[start : start + 20]).status_code == 202
    done: list[int] = []

    def work() -> None:
        try:
            done.append(intake_queue.drain(batch=7))
        finally:
            connection.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    drain_intake()
    assert Message.objects.filter(shop=shop, direction="buyer").count() == len(messages)
    assert not IntakeMessage.objects.exists()
    for buyer in buyers:
        stored = list(
            Message.objects.filter(shop=shop, buyer__external_id=buyer, direction="buyer")
            .order_by("id")
            .values_list("external_id", flat=True)
        )
        assert stored == [f"m-{buyer}-{n}" for n in range(8)]


# --- equivalence: the synchronous path and the queue store the same rows -------------------


def _seller(slug: str) -> tuple[Shop, list[User]]:
    shop = create_shop(
        name=f"Shop {slug}",
        platform="aliexpress",
        slug=slug,
        owner_login=f"{slug}-owner",
        owner_password=PASSWORD,
        currency="USD",
        timezone_name="Asia/Shanghai",
    ).shop
    agents = [
        create_agent(
            actor=None,
            shop=shop,
            login=f"{slug}-{name}",
            groups=[group],
            password=PASSWORD,
            display_name=name,
        )[0]
        for name, group in (
            ("Lily", "pre_sale"),
            ("Ann", "pre_sale"),
            ("Max", "after_sale"),
        )
    ]
    install_starter_set(shop=shop)
    conf = settings_for_update(shop)
    conf.keyword_replies_enabled = True
    conf.save()
    online(*agents)
    return shop, agents


WORKLOAD = [
    # (buyer, entry point, text): new buyers, returning ones, both groups, keyword hits.
    (f"b-{n % 7}", "order_detail" if n % 5 == 0 else "product_page", text)
    for n, text in enumerate(
        [
            "Hello, is this in stock?",
            "Where is my parcel? tracking please",
            "refund",
            "Do you ship to Spain?",
            "coupon?",
            "hello again",
        ]
        * 5
    )
]


def _snapshot(shop: Shop) -> dict[str, Any]:
    """What a seller sees, comparable across two shops: ids and times left out, and each
    buyer's rows in their own order. Lanes keep one buyer's messages in order, not the
    order between buyers, so which of two equally free agents takes a chat may differ; the
    spread of chats over the agents may not."""
    messages: dict[str, list[tuple[Any, ...]]] = {}
    for m in (
        Message.objects.filter(shop=shop)
        .select_related("conversation__buyer", "author")
        .order_by("id")
    ):
        messages.setdefault(m.conversation.buyer.external_id, []).append(
            (
                m.conversation.group,
                m.direction,
                m.kind,
                m.text,
                m.external_id,
                m.author is not None,
            )
        )
    conversations = sorted(
        (
            c.buyer.external_id,
            c.group,
            c.status,
            c.assignee_id is not None,
            c.unread_count,
            c.last_message_preview,
        )
        for c in Conversation.objects.filter(shop=shop).select_related("buyer")
    )
    load: dict[str, int] = {}
    for c in Conversation.objects.filter(shop=shop).select_related("assignee"):
        if c.assignee is not None:
            load[c.assignee.display_name] = load.get(c.assignee.display_name, 0) + 1
    spread = sorted(
        (group, sorted(n for name, n in load.items() if name in names))
        for group, names in (("pre_sale", {"Lily", "Ann"}), ("after_sale", {"Max"}))
    )
    events: dict[tuple[str, str], list[str]] = {}
    for e in (
        ConversationEvent.objects.filter(conversation__shop=shop)
        .select_related("conversation__buyer")
        .order_by("id")
    ):
        key = (e.conversation.buyer.external_id, e.conversation.group)
        events.setdefault(key, []).append(e.kind)
    outbox = sorted(
        (o.message.conversation.buyer.external_id, o.message.text)
        for o in Outbox.objects.filter(message__shop=shop).select_related(
            "message__conversation__buyer"
        )
    )
    return {
        "messages": messages,
        "conversations": conversations,
        "spread": spread,
        "events": events,
        "outbox": outbox,
    }


@pytest.mark.django_db
def test_the_queue_stores_what_the_synchronous_webhook_stores(no_worker):
    direct, _ = _seller("direct")
    synchronous_intake(direct)
    queued, _ = _seller("queued")
    for n, (buyer, entry_point, text) in enumerate(WORKLOAD):
        data = message(n, buyer, entry_point=entry_point, text=text)
        assert post_signed(Client(), direct, data).status_code == 201
        assert post_signed(Client(), queued, data).status_code == 202
    assert not Message.objects.filter(shop=queued).exists()
    assert drain_intake() == len(WORKLOAD)

    want, got = _snapshot(direct), _snapshot(queued)
    stored = sum(len(rows) for rows in want["messages"].values())
    assert stored > len(WORKLOAD)  # automatic replies were sent
    kinds = {kind for seq in want["events"].values() for kind in seq}
    assert kinds >= {"created", "assigned", "message_received", "auto_message"}
    assert got == want


@pytest.mark.django_db
def test_the_batch_webhook_stores_what_the_single_one_stores(no_worker):
    single, _ = _seller("single")
    batched, _ = _seller("batched")
    items = [
        message(n, buyer, entry_point=entry_point, text=text)
        for n, (buyer, entry_point, text) in enumerate(WORKLOAD)
    ]
    for data in items:
        assert post_signed(Client(), single, data).status_code == 202
    assert post_batch(batched, items).status_code == 202
    drain_intake()
    assert _snapshot(batched) == _snapshot(single)


# --- equivalence of the set-based batch on a mixed workload --------------------------------


def _closed_now(shop: Shop) -> None:
    """Business hours only on another weekday: the shop is out of hours for the whole test."""
    from django.utils import timezone

    from kefu.automation.business_hours import Interval, local_moment
    from kefu.automation.config import set_business_hours

    owner = User.objects.get(shop=shop, role="owner")
    today = local_moment(timezone.now(), shop.timezone).weekday()
    nine, ten = dt.time(9), dt.time(10)
    set_business_hours(actor=owner, intervals=[Interval((today + 3) % 7, nine, ten)], holidays=[])


def _history(shop: Shop, agents: list[User]) -> None:
    """Returning buyers: r-1's chat was resolved (the next message reopens it), r-2's agent
    went offline (the next message moves it), r-3 still has its chat open."""
    from kefu.accounts.services import set_intake_mode
    from kefu.conversations.models import AgentPresence
    from kefu.conversations.state import resolve_conversation

    owner = User.objects.get(shop=shop, role="owner")
    synchronous = Shop.objects.get(pk=shop.pk).intake_synchronous
    set_intake_mode(actor=owner, synchronous=True)
    for buyer in ("r-1", "r-2", "r-3"):
        data = message(0, buyer, text="hi, a question from last week")
        assert post_signed(Client(), shop, data).status_code == 201
    r1 = Conversation.objects.get(shop=shop, buyer__external_id="r-1")
    resolve_conversation(actor=r1.assignee, conversation=r1)
    r2 = Conversation.objects.get(shop=shop, buyer__external_id="r-2")
    AgentPresence.objects.filter(user=r2.assignee).update(is_online=False)
    set_intake_mode(actor=owner, synchronous=synchronous)


MIXED = [
    # (buyer, entry point, text, sent_at offset in minutes or None)
    (buyer, "order_detail" if n % 4 == 0 else "product_page", text, None if n % 9 else -n)
    for n, (buyer, text) in enumerate(
        [
            ("r-1", "hello again, any news?"),
            ("n-1", "Hello, is this in stock?"),
            ("r-2", "Where is my parcel? tracking please"),
            ("n-2", "refund"),
            ("r-3", "coupon?"),
            ("n-1", "Do you ship to Spain?"),
            ("n-3", "Здравствуйте, есть в наличии?"),
            ("r-1", "tracking number please"),
            ("n-2", "hello again"),
            ("n-3", "доставка в Москву?"),
            ("n-4", "¿Tienen envío gratis?"),
            ("r-2", "refund please"),
        ]
        * 3
    )
]


def _mixed_snapshot(shop: Shop) -> dict[str, Any]:
    from kefu.automation.models import AutomationHit, BuyerAutomationState
    from kefu.conversations.models import AgentPresence, Buyer

    snap = _snapshot(shop)
    snap["hits"] = sorted(
        (h.buyer.external_id, h.kind, h.keyword, h.buyer_replied_at is not None)
        for h in AutomationHit.objects.filter(shop=shop).select_related("buyer")
    )
    snap["states"] = sorted(
        (s.buyer.external_id, s.detected_language, s.detection_samples, s.out_of_hours_day)
        for s in BuyerAutomationState.objects.filter(shop=shop).select_related("buyer")
    )
    snap["buyers"] = sorted(
        (b.external_id, b.name, b.language, b.last_message_at is not None)
        for b in Buyer.objects.filter(shop=shop)
    )
    # The maintained load counters agree with the chats each agent holds.
    snap["loads"] = sorted(
        (p.open_load, Conversation.objects.filter(assignee=p.user, status="open").count())
        for p in AgentPresence.objects.filter(shop=shop)
    )
    return snap


@pytest.mark.django_db
def test_the_set_based_batch_stores_what_the_synchronous_path_stores(no_worker, monkeypatch):
    """Several shops in one drain (lanes mix shops), new and returning buyers (a resolved
    chat reopened, an offline agent's chat moved), keyword hits, welcome and out-of-hours
    replies, languages detected: the set-based batch stores the same rows as the
    synchronous path, message by message."""
    from django.utils import timezone

    pairs = []
    for profile in ("open", "closed"):
        direct, direct_agents = _seller(f"direct-{profile}")
        queued, queued_agents = _seller(f"queued-{profile}")
        synchronous_intake(direct)
        for shop, agents in ((direct, direct_agents), (queued, queued_agents)):
            if profile == "closed":
                _closed_now(shop)
            _history(shop, agents)
        pairs.append((direct, queued))

    def not_one_by_one(row):
        raise AssertionError("the batch fell back to one message at a time")

    monkeypatch.setattr(intake_queue, "_process", not_one_by_one)
    start = timezone.now()
    for n, (buyer, entry_point, text, minutes) in enumerate(MIXED):
        over: dict[str, Any] = {"entry_point": entry_point, "text": text}
        if minutes is not None:
            over["sent_at"] = (start + dt.timedelta(minutes=minutes)).isoformat()
        data = message(n + 1, buyer, **over)
        for direct, queued in pairs:
            assert post_signed(Client(), direct, data).status_code == 201
            assert post_signed(Client(), queued, data).status_code == 202
    assert drain_intake() == len(MIXED) * len(pairs)

    for direct, queued in pairs:
        want, got = _mixed_snapshot(direct), _mixed_snapshot(queued)
        kinds = {kind for seq in want["events"].values() for kind in seq}
        assert kinds >= {"created", "assigned", "reopened", "reassigned", "auto_message"}
        automations = {kind for _, kind, _, _ in want["hits"]}
        assert automations >= {"welcome", "keyword"}
        assert got == want
    closed_hits = {kind for _, kind, _, _ in _mixed_snapshot(pairs[1][0])["hits"]}
    assert "out_of_hours" in closed_hits


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_different_lanes_share_the_agents_without_stalling(shop, no_worker):
    """Every buyer routes to the same two agents, so both workers' batches change the same
    presence rows: written once per batch in agent order, neither waits for the other's
    whole batch nor deadlocks (PostgreSQL, where the workers really run at once)."""
    from kefu.conversations.models import AgentPresence

    agents = [
        create_agent(actor=None, shop=shop, login=f"a{n}", groups=["pre_sale"], password=PASSWORD)[
            0
        ]
        for n in range(2)
    ]
    online(*agents)
    buyers = [f"b-{n}" for n in range(40)]
    items = [message(n, buyer) for n in range(5) for buyer in buyers]
    for start in range(0, len(items), 50):
        assert post_batch(shop, items[start : start + 50]).status_code == 202
    lanes = sorted({lane_of(shop.pk, b) for b in buyers})
    halves = [lanes[0::2], lanes[1::2]]
    done: list[int] = []
    failed: list[BaseException] = []

    def work(mine: list[int]) -> None:
        try:
            done.append(intake_queue.drain(lanes=mine, batch=25, seconds=60))
        except BaseException as exc:
            failed.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(half,)) for half in halves]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not any(w.is_alive() for w in workers), "a worker stalled"
    assert failed == []
    assert sum(done) == len(items)
    assert not IntakeMessage.objects.exists()
    loads = {p.user_id: p.open_load for p in AgentPresence.objects.filter(user__in=agents)}
    held = {a.pk: Conversation.objects.filter(assignee=a, status="open").count() for a in agents}
    assert loads == held
    assert sum(held.values()) == len(buyers)


@pytest.mark.django_db(transaction=True)
def test_the_batch_pushes_what_a_read_back_of_its_events_would_say(
    no_worker, monkeypatch, settings, django_assert_num_queries
):
    """The batch builds its live push from the objects it wrote instead of reading the
    events back: agents' and buyers' sockets get the same messages, in the same order,
    for new, reopened and moved chats, automatic replies and a buyer's own send time in
    another zone."""
    from django.utils import timezone

    from kefu.conversations import realtime

    # One batch per group of lanes for the whole workload (a batch takes an equal share of
    # each lane it holds, cut by time): the read back below gives each conversation as the
    # last batch left it, which is what its one batch pushed.
    settings.KEFU_INTAKE_BATCH_SECONDS = 30.0
    shop, agents = _seller("pushed")
    _history(shop, agents)
    before = ConversationEvent.objects.order_by("pk").last().pk
    monkeypatch.setattr(realtime, "CAN_PUSH_HERE", True)
    sent: list[list[Any]] = []
    monkeypatch.setattr(realtime, "_send", lambda events: sent.append(list(events)))
    east = dt.timezone(dt.timedelta(hours=8))
    for n, (buyer, entry_point, text, minutes) in enumerate(MIXED):
        over: dict[str, Any] = {"entry_point": entry_point, "text": text}
        if minutes is not None:
            at = (timezone.now() + dt.timedelta(minutes=minutes)).astimezone(east)
            over["sent_at"] = at.isoformat()
        assert post_signed(Client(), shop, message(n + 1, buyer, **over)).status_code == 202
    assert drain_intake() == len(MIXED)

    pushed = [event for batch in sent for event in batch]
    stored = realtime._load([event.pk for event in pushed])
    # Every event of the batch was pushed (the outbox's delivery events push on their own).
    batch_events = ConversationEvent.objects.filter(pk__gt=before).exclude(kind__startswith="deliv")
    assert {e.pk for e in stored} >= set(batch_events.values_list("pk", flat=True))
    assert {e.kind for e in stored} >= {"created", "reopened", "reassigned", "auto_message"}
    with django_assert_num_queries(0):  # built from the batch's objects, nothing re-read
        from_memory = realtime._messages_for(pushed)
    assert from_memory == realtime._messages_for(stored)


def test_a_web_process_kicks_the_worker_once_per_window_whatever_the_lanes(monkeypatch, settings):
    """One task right away for the first message of a window, at most one deferred task for
    the rest of it (draining every waiting lane, so other lanes' messages are covered), and
    a task right away again once the window has passed (decisions §63)."""
    from kefu.desk import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.KEFU_INTAKE_POLL_SECONDS = 0  # kicks are PostgreSQL's mode; SQLite's worker polls
    settings.REDIS_URL = ""  # the windows alone; the pending flag: the tests below
    now = [1000.0]
    monkeypatch.setattr(intake_queue.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(intake_queue, "_next_kick", 0.0)
    monkeypatch.setattr(intake_queue, "_deferred_until", 0.0)
    sent: list[tuple[str, Any, float | None]] = []
    monkeypatch.setattr(
        tasks.drain_intake, "delay", lambda lanes: sent.append(("now", lanes, None))
    )
    monkeypatch.setattr(
        tasks.drain_intake,
        "apply_async",
        lambda args, countdown: sent.append(("later", args[0], countdown)),
    )
    intake_queue.kick([3])
    now[0] += 0.05
    intake_queue.kick([7])
    now[0] += 0.05
    intake_queue.kick([9, 3])
    assert sent == [("now", [3], None), ("later", None, pytest.approx(0.15))]
    now[0] += 0.2
    intake_queue.kick([5])
    assert sent[2:] == [("now", [5], None)]


@pytest.mark.django_db
@pytest.mark.parametrize("linger", [0.0, 1.0])
def test_a_lingering_drain_takes_a_message_queued_after_the_queue_emptied(
    shop, pre_agent, no_worker, monkeypatch, linger
):
    """A Celery drain keeps looking a moment after the queue empties (decisions §67): a
    message queued then is stored by it, not left for the next kick; without linger the
    drain returns at the first empty look."""
    online(pre_agent)
    assert post_batch(shop, [message(1), message(2, "b-2")]).status_code == 202
    looks = {"empty": 0}
    real_sleep = intake_queue.time.sleep

    def watching(seconds: float) -> None:
        if seconds == intake_queue.LOOK_SECONDS:  # the queue looked empty; the worker lingers
            looks["empty"] += 1
            if looks["empty"] == 1:
                # Arrives while the worker lingers (without, it returned at the first look).
                assert post_signed(Client(), shop, message(3, "b-3")).status_code == 202
        real_sleep(seconds)

    monkeypatch.setattr(intake_queue.time, "sleep", watching)

    stored = intake_queue.drain(linger=linger)

    if linger:
        assert stored == 3
        assert Message.objects.filter(shop=shop, external_id="m-b-3-3").exists()
        assert queue_state().waiting == 0
    else:
        assert stored == 2
        assert looks["empty"] == 0


@pytest.mark.django_db
def test_a_drain_that_finds_nothing_leaves_the_planner_settings_of_the_callers_transaction():
    """An eager drain runs inside its caller's transaction (the batch's atomic block is then a
    savepoint, and releasing it keeps `set_config(…, true)`): a look at empty lanes must put
    the planner's switches back too, or every later query of the caller's transaction is
    planned with scans and sorts disabled (decisions §79)."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner")
    ensure_lanes()
    IntakeMessage.objects.all().delete()
    assert intake_queue.drain_lanes([0, 1, 2]) == 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('enable_seqscan'), current_setting('enable_bitmapscan'),"
            " current_setting('enable_sort')"
        )
        assert cursor.fetchone() == ("on", "on", "on")


@pytest.fixture
def broker(monkeypatch, settings):
    """Kicks as on PostgreSQL + Redis, into a list standing for the Celery intake queue, and
    every kick one that would send a task (no window): the worst case for piled-up drains.
    The drain-pending flag is in the default cache: Redis with the PostgreSQL + Redis
    settings, this process's memory otherwise (the one process plays web and worker here)."""
    from django.core.cache import caches

    from kefu.desk import tasks

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.KEFU_INTAKE_POLL_SECONDS = 0
    settings.REDIS_URL = settings.REDIS_URL or "redis://the-flag-is-in-locmem"
    monkeypatch.setattr(intake_queue, "KICK_SECONDS", 0.0)
    monkeypatch.setattr(intake_queue, "LINGER_SECONDS", 0.0)  # the test runs the drains
    monkeypatch.setattr(intake_queue, "_next_kick", 0.0)
    monkeypatch.setattr(intake_queue, "_deferred_until", 0.0)
    import kefu.integrations.api as inbound_api

    assert inbound_api.kick is intake_queue.kick  # no earlier test left a patched kick behind
    flag = caches["default"]
    flag.delete(intake_queue.DRAIN_PENDING_KEY)
    queued: list[Any] = []
    monkeypatch.setattr(tasks.drain_intake, "delay", lambda lanes: queued.append(lanes))
    monkeypatch.setattr(
        tasks.drain_intake, "apply_async", lambda args, countdown: queued.append(args[0])
    )
    yield queued
    flag.delete(intake_queue.DRAIN_PENDING_KEY)


def stored_texts(shop: Shop) -> list[str]:
    return list(
        Message.objects.filter(shop=shop, external_id__startswith="m-")
        .order_by("id")
        .values_list("text", flat=True)
    )


@pytest.mark.django_db
def test_many_kicks_for_one_lane_leave_one_drain_pending_and_no_message_behind(
    shop, pre_agent, broker, monkeypatch
):
    """A kick while a drain is pending (sent, not started) sends nothing; the drain clears
    the flag before its first read, so it sees every message kicked for before it started,
    and a message committed after its last look gets a drain of its own (decisions §80)."""
    online(pre_agent)
    lane = lane_of(shop.pk, "b-kick")
    for n in range(1, 31):
        assert post_signed(Client(), shop, message(n, "b-kick")).status_code == 202
        intake_queue.kick([lane])  # a second kick for the same lane and message
    # 60 kicks, each of which would have sent a drain: one is pending.
    assert broker == [None]

    real_drain = intake_queue.drain
    late = {"posted": False}

    def drain_then_a_message_arrives(**kwargs: Any) -> int:
        done = real_drain(**kwargs)
        # After the drain's last look, before its task returns: the flag was cleared when
        # the drain started, so this kick must send the next drain.
        assert post_signed(Client(), shop, message(31, "b-kick")).status_code == 202
        late["posted"] = True
        return done

    monkeypatch.setattr(intake_queue, "drain", drain_then_a_message_arrives)
    assert drain_intake(broker.pop(0)) == 30
    assert late["posted"]
    assert broker == [None]  # the late message's drain, and only it
    assert queue_state().waiting == 1

    monkeypatch.setattr(intake_queue, "drain", real_drain)
    for _ in range(10):
        intake_queue.kick([lane])  # while that one is pending: nothing more
    assert broker == [None]
    assert drain_intake(broker.pop(0)) == 1
    assert broker == []
    assert queue_state().waiting == 0
    # Every message stored once, in the buyer's order.
    assert stored_texts(shop) == [f"question {n} about the lamp" for n in range(1, 32)]


@pytest.mark.django_db
def test_a_kick_the_broker_refused_leaves_no_flag_behind(shop, pre_agent, broker, monkeypatch):
    """Had the flag stayed set with no task behind it, every kick would be skipped until it
    expired; the next kick sends instead."""
    from kefu.desk import tasks

    online(pre_agent)

    def refused(lanes: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.drain_intake, "delay", refused)
    assert post_signed(Client(), shop, message(1)).status_code == 202  # committed, answered
    monkeypatch.setattr(tasks.drain_intake, "delay", lambda lanes: broker.append(lanes))
    assert post_signed(Client(), shop, message(2)).status_code == 202
    assert broker == [None]
    assert drain_intake(broker.pop(0)) == 2
    assert stored_texts(shop) == ["question 1 about the lamp", "question 2 about the lamp"]


@pytest.mark.django_db
def test_the_sweep_sends_a_drain_only_when_none_is_pending(shop, pre_agent, broker, no_worker):
    """The beat's sweep went straight to the intake queue every 5 s and piled up behind drains
    busy for a whole run; now it is a kick of every lane from the default queue."""
    from kefu.desk.tasks import sweep_intake

    online(pre_agent)
    # A web process died between its commit and its kick: only the sweep knows.
    assert post_signed(Client(), shop, message(1)).status_code == 202
    assert broker == []
    assert sweep_intake() is True
    assert sweep_intake() is False  # the first one's drain is still pending
    assert broker == [None]
    assert drain_intake(broker.pop(0)) == 1
    assert sweep_intake() is True  # that drain started: the next sweep sends again
    assert stored_texts(shop) == ["question 1 about the lamp"]


@pytest.mark.django_db
def test_a_batch_writes_its_agents_loads_last(shop, no_worker):
    """Two workers' batches route to the same least loaded agents, so one waits on the other's
    presence rows until that one commits: the rows are locked and written after every other
    write of the batch (its conversations, replies, events and, last of those, its queue
    rows), held for the commit alone."""
    from django.test.utils import CaptureQueriesContext

    from kefu.conversations.models import AgentPresence

    agents = [
        create_agent(actor=None, shop=shop, login=f"a{n}", groups=["pre_sale"], password=PASSWORD)[
            0
        ]
        for n in range(3)
    ]
    online(*agents)
    buyers = [f"b-{n}" for n in range(6)]
    assert post_batch(shop, [message(0, buyer) for buyer in buyers]).status_code == 202
    table = AgentPresence._meta.db_table
    ensure_lanes()
    with CaptureQueriesContext(connection) as queries:
        assert intake_queue.drain_lanes(list(range(LANES)), batch=50) == len(buyers)
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(("INSERT", "UPDATE", "DELETE")) or "FOR UPDATE" in q["sql"]
    ]
    # Locks or writes of the presence rows themselves (PostgreSQL locks and writes them in
    # one statement, SQLite updates them one by one); the conversations' locked read only
    # joins them.
    presence = re.compile(
        rf'^(UPDATE "?{table}"? |WITH locked AS MATERIALIZED \(SELECT user_id FROM {table} )'  # noqa: S608
    )
    first_presence = next(n for n, sql in enumerate(writes) if presence.match(sql))
    assert any(sql.startswith("DELETE") for sql in writes[:first_presence])  # the queue rows
    # From the first presence lock on, nothing but the presence rows.
    assert all(presence.match(sql) for sql in writes[first_presence:]), writes[first_presence:]
    loads = {p.user_id: p.open_load for p in AgentPresence.objects.filter(user__in=agents)}
    assert loads == {a.pk: 2 for a in agents}


@pytest.mark.django_db(transaction=True)
def test_the_one_statement_load_write_waits_for_another_writer_and_adds_to_its_value(shop):
    """The batch locks and writes its agents' counters in one statement (decisions §117). Its
    snapshot is taken before it waits for another transaction holding a row, so the counter
    must be added to the value that transaction committed, not the one the snapshot saw; and
    rows are still locked in agent-id order (the lower one is held while the higher one is
    waited for), so two batches cannot deadlock on them."""
    if connection.vendor != "postgresql":
        pytest.skip("the joined write is PostgreSQL's")
    from django.db import connections, transaction

    from kefu.conversations.intake_batch import Loads
    from kefu.conversations.models import AgentPresence

    low, high = (
        create_agent(actor=None, shop=shop, login=f"l{n}", groups=["pre_sale"], password=PASSWORD)[
            0
        ]
        for n in range(2)
    )
    online(low, high)
    table = AgentPresence._meta.db_table
    other = _other_connection()
    other.execute(
        f"UPDATE {table} SET open_load = open_load + 5 WHERE user_id = %s",  # noqa: S608
        [high.pk],
    )
    done: list[BaseException | None] = []

    def batch() -> None:
        try:
            with transaction.atomic():
                loads = Loads()
                loads.shift(low.pk, 1)
                loads.shift(high.pk, 2)
                loads.write()
            done.append(None)
        except BaseException as exc:
            done.append(exc)
        finally:
            connections.close_all()

    worker = threading.Thread(target=batch)
    worker.start()
    try:
        time.sleep(0.5)
        assert not done, "the write did not wait for the other transaction's row"
        with _other_connection(autocommit=True) as probe:
            probe.execute("SET lock_timeout = '100ms'")
            with pytest.raises(Exception, match="lock"):
                # The lower id is already held by the waiting batch.
                probe.execute(
                    f"SELECT 1 FROM {table} WHERE user_id = %s FOR UPDATE",  # noqa: S608
                    [low.pk],
                )
        other.commit()
        worker.join(10)
    finally:
        other.close()
    assert done == [None]
    loads = dict(
        AgentPresence.objects.filter(user__in=[low, high]).values_list("user_id", "open_load")
    )
    assert loads == {low.pk: 1, high.pk: 7}


@pytest.mark.django_db
def test_a_batch_of_new_buyers_reads_no_message_history(shop, pre_agent, no_worker):
    """Buyers the batch itself inserted have no stored messages: their welcome-window and
    reply-mark history is not read (decisions §117), and each still gets its welcome once."""
    from django.test.utils import CaptureQueriesContext

    from kefu.automation.models import AutomationHit

    install_starter_set(shop=shop)  # the welcome reply on
    buyers = [f"new-{n}" for n in range(4)]
    assert post_batch(shop, [message(n, b) for n, b in enumerate(buyers)]).status_code == 202
    ensure_lanes()
    with CaptureQueriesContext(connection) as queries:
        assert intake_queue.drain_lanes(list(range(LANES)), batch=50) == len(buyers)
    # ``read_history``'s three reads: each buyer's latest message up to the batch, the
    # messages after it, the conversations' unanswered automatic replies.
    history = [
        q["sql"]
        for q in queries.captured_queries
        if '"sent_at" AS "sent_at"' in q["sql"]
        or q["sql"].startswith(
            ('SELECT "conversations_message"."buyer_id"', 'SELECT "automation_automationhit"')
        )
    ]
    assert history == []
    welcomed = AutomationHit.objects.filter(shop=shop, kind="welcome")
    assert sorted(welcomed.values_list("buyer__external_id", flat=True)) == buyers


def _sizes_on_a_starved_machine(monkeypatch, vendor: str) -> list[int]:
    """The batch sizes the worker asks for, batch after batch, with a deep queue on a machine
    where a batch's fixed part takes 0.15 s of wall time and a message 5 ms (each statement
    waiting for a CPU), while the worker's own CPU is 5 ms a batch and 0.4 ms a message: what
    the batches' timings showed on the loaded 2-core machine (decisions §77, §95)."""
    monkeypatch.setattr(intake_queue, "connection", type("C", (), {"vendor": vendor})())
    per_message, sizes = 0.002, []
    for _ in range(40):
        size = intake_queue.batch_size(intake_queue.BATCH, per_message, 0.3)
        sizes.append(size)
        wall, cpu = 0.15 + 0.005 * size, 0.005 + 0.0004 * size
        per_message = intake_queue.learned(per_message, intake_queue._batch_cost(wall, cpu), size)
    return sizes


def test_postgres_batches_are_sized_by_cpu_time_not_by_the_wait_for_a_cpu(monkeypatch):
    """Sized by wall time, a starved machine's batches shrink to a few dozen, where the
    batch's fixed cost is paid most often (the spread of decisions §95); sized by the worker's
    CPU time they stay whole. SQLite keeps the wall time: its one writer lock is held that
    long."""
    postgres = _sizes_on_a_starved_machine(monkeypatch, "postgresql")
    assert postgres[-10:] == [intake_queue.BATCH] * 10
    # Wall time: 0.3 s holds N messages at (0.15 + 0.005 N) / N each, which settles at 30.
    sqlite = _sizes_on_a_starved_machine(monkeypatch, "sqlite")
    assert sqlite[-10:] == [30] * 10


def test_batch_size_bounds():
    assert intake_queue.batch_size(500, 0.001, 0.3) == 300
    assert intake_queue.batch_size(500, 0.0001, 0.3) == 500
    assert intake_queue.batch_size(500, 0.1, 0.3) == MIN_BATCH
    assert intake_queue.learned(0.002, 0.1, 100) == pytest.approx(0.7 * 0.002 + 0.3 * 0.001)


def test_a_batch_learns_its_cost_from_cpu_time_on_postgres(shop, pre_agent, no_worker, monkeypatch):
    """drain_lanes feeds the batch's CPU time (PostgreSQL) or wall time (SQLite) into the next
    batch's size: here the CPU clock says 1 ms for the whole batch, the wall clock far more."""
    online(pre_agent)
    lanes = _buyers_in_lanes(shop, 2, 2)
    items = [message(n, b) for n in range(5) for buyers in lanes.values() for b in buyers]
    assert post_batch(shop, items).status_code == 202
    ensure_lanes()
    ticks = iter(range(1000))
    monkeypatch.setattr(intake_queue.time, "thread_time", lambda: next(ticks) * 0.001)
    monkeypatch.setattr(intake_queue, "_per_message", 0.002)
    did = intake_queue.drain_lanes(sorted(lanes))
    assert did > 0
    from_cpu = intake_queue.learned(0.002, 0.001, did)
    if connection.vendor == "postgresql":
        assert intake_queue._per_message == pytest.approx(from_cpu)
    else:
        assert intake_queue._per_message != pytest.approx(from_cpu)


def _queue_statements(
    monkeypatch, shop: Shop, pre_agent: User, buyers: int, per_buyer: int
) -> list[str]:
    """The statements one PostgreSQL batch of ``buyers * per_buyer`` queued messages sends
    to the queue table and the shops table, the batch stored whole."""
    from django.test.utils import CaptureQueriesContext

    # A batch sized for every message, whatever earlier batches of the process cost.
    monkeypatch.setattr(intake_queue, "_per_message", 0.0001)
    online(pre_agent)
    items = [message(n, f"b{buyers}-{b}") for n in range(per_buyer) for b in range(buyers)]
    assert post_batch(shop, items).status_code == 202
    ensure_lanes()
    with CaptureQueriesContext(connection) as queries:
        assert intake_queue.drain_lanes(list(range(LANES))) == len(items)
    assert not IntakeMessage.objects.exists()
    names = (IntakeMessage._meta.db_table, Shop._meta.db_table)
    return [q["sql"] for q in queries.captured_queries if any(n in q["sql"] for n in names)]


@pytest.mark.django_db
def test_a_batch_reads_and_deletes_its_queue_rows_in_statements_its_size_does_not_change(
    shop, pre_agent, no_worker, monkeypatch
):
    """The queue's part of a batch (decisions §118): the rows with all their columns in the
    lanes' read, their shops in one more statement, one DELETE — three statements whether the
    batch holds 6 messages or 60, none by message (a row's shop is set, not fetched), and no
    id list sent as one placeholder per row."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's read of the lanes")
    small = _queue_statements(monkeypatch, shop, pre_agent, buyers=3, per_buyer=2)
    large = _queue_statements(monkeypatch, shop, pre_agent, buyers=12, per_buyer=5)
    table, shops = IntakeMessage._meta.db_table, Shop._meta.db_table
    for statements in (small, large):
        assert len(statements) == 3, statements
        read, shop_read, delete = statements
        assert "CROSS JOIN LATERAL" in read and '"payload"' in read and shops not in read
        assert shop_read.startswith("SELECT") and table not in shop_read
        assert delete.startswith(f"DELETE FROM {table} WHERE id = ANY(")  # noqa: S608


@pytest.mark.django_db
def test_the_read_rows_share_one_shop_and_need_no_query_to_become_batch_input(
    shop, pre_agent, no_worker, django_assert_num_queries
):
    """What ``process_batch`` reads of a queue row — its id, shop, payload as the webhook's
    message, external id, lane, attempts, arrival — is there without a query, equal to the
    row the ORM reads, and every row of a shop holds the same ``Shop``."""
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's read of the lanes")
    from django.db import transaction

    from kefu.conversations.intake_queue import message_of

    online(pre_agent)
    items = [message(n, f"b-{b}") for n in range(3) for b in range(4)]
    assert post_batch(shop, items).status_code == 202
    ensure_lanes()
    with transaction.atomic():
        rows = intake_queue._waiting(list(range(LANES)), 100)
    assert len(rows) == len(items)
    expected = {r.pk: r for r in IntakeMessage.objects.select_related("shop")}
    with django_assert_num_queries(0):
        for row in rows:
            orm = expected[row.pk]
            assert row.shop is rows[0].shop and row.shop == shop
            assert row.shop.webhook_secret == shop.webhook_secret
            assert message_of(row) == message_of(orm)
            assert (row.external_id, row.lane, row.attempts, row.received_at, row.payload) == (
                orm.external_id,
                orm.lane,
                orm.attempts,
                orm.received_at,
                orm.payload,
            )
            assert not row._state.adding and row._state.db == orm._state.db
    # The lanes' heads, in id order within each lane.
    for lane in {r.lane for r in rows}:
        ids = [r.pk for r in rows if r.lane == lane]
        assert ids == sorted(ids)


@pytest.mark.django_db
def test_rows_whose_shop_is_gone_are_left_out(shop):
    """A shop deleted between the rows' read and its own took its queue rows with it (the
    foreign key's CASCADE): the batch does not get them, as the join did not."""
    kept = IntakeMessage(shop_id=shop.pk, external_id="a", lane=0, payload={})
    gone = IntakeMessage(shop_id=shop.pk + 1000, external_id="b", lane=0, payload={})
    assert intake_queue._with_shops([kept, gone]) == [kept]
    assert kept.shop == shop
