"""Push latency: signed buyer messages in through the intake queue, the agents' inbox sockets
told, per backend and rate (issue 15: p99 < 300 ms after the webhook answered, at 1,000
messages/s with 1,000 sockets open).

`python -m bench push` runs, on each backend (bench.harness), `kefu run` with its worker and
beat for the shop "bench-push" in the default queued mode: the owner and S-1 agents, each with
a signed-in session and an open socket on /ws/inbox/ (the inbox page's socket). Then, for each
rate R, buyer messages go to the webhook (the WSGI intake server with KEFU_BENCH_INTAKE_WSGI=1)
on an open-loop schedule — R per second for D seconds, sent whether or not earlier answers
came back — one per request, or B per request to the batch webhook with KEFU_BENCH_PUSH_BATCH=B,
from a pool of buyers half as large as the number of messages.

Per message (wall clock): when it was sent, when its 202 came back, when the worker wrote it,
when the owner's socket received its `message_received` event (the owner's group carries every
event of the shop) and when the agent it was assigned to did. The sockets know messages by id;
after the run the stored messages' ids and times are read back by external id. Rows:
p50/p90/p99/max of answer -> owner push (the target), split into answer -> written (the queue
and the worker) and written -> push (the batch's commit, the channel layer, the socket), send ->
owner push, send -> assignee push and send -> answer; messages/s answered and pushed. A message
stored without its push arriving is `missed`, one never stored `unstored`; either fails the run.

Knobs: KEFU_BENCH_PUSH_SOCKETS (50), KEFU_BENCH_PUSH_RATES ("5,20" messages/s),
KEFU_BENCH_PUSH_SECONDS (20 per rate), KEFU_BENCH_PUSH_BATCH (1; "1,50" runs every rate with
each).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from bench import harness
from bench.harness import Backend, Row, Server

BACKENDS = ("sqlite", "postgres", "postgres-2p")
HELPER = "bench.bench_push"
PUSH_SLUG = "bench-push"
# Long enough for a backlog in the channel layer to drain: what is still missing then was dropped.
STRAGGLER_WAIT_S = 30.0


# --- helper commands (a subprocess with Django set up on the backend) -------------------------


def _helper_prep(sockets: str) -> Row:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore

    from kefu.accounts.models import Role, User

    push = harness.bench_shop(PUSH_SLUG, "Bench Push")
    unusable = make_password(None)  # sessions are created directly: no login, no hashing
    User.objects.bulk_create(
        [
            User(
                username=f"bp-agent{i:03d}",
                shop=push.shop,
                role=Role.AGENT,
                in_pre_sale=True,
                in_after_sale=True,
                password=unusable,
            )
            for i in range(max(0, int(sockets) - 1))
        ]
    )
    users = [push.owner, *User.objects.filter(shop=push.shop, role=Role.AGENT).order_by("pk")]
    sessions = []
    for user in users:
        # What django.contrib.auth.login stores: the socket's AuthMiddleware accepts it.
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append({"username": user.username, "key": store.session_key})
    return {"secret": push.shop.webhook_secret, "owner": push.owner.username, "sessions": sessions}


def _helper_ids(prefix: str) -> Row:
    """The stored buyer messages of one run: external id -> [message id, when the worker
    wrote it (epoch seconds; visible at its batch's commit, a little later)]."""
    from kefu.conversations.models import Message

    rows = Message.objects.filter(
        shop__slug=PUSH_SLUG, external_id__startswith=prefix, direction="buyer"
    ).values_list("external_id", "pk", "created_at")
    return {"ids": {ext: [pk, created.timestamp()] for ext, pk, created in rows}}


def _helper_online() -> Row:
    from kefu.conversations.models import AgentPresence

    online = AgentPresence.objects.filter(shop__slug=PUSH_SLUG, is_online=True, socket_count__gt=0)
    return {"online": online.count()}


# --- the agents' sockets ----------------------------------------------------------------------


@dataclass
class Inbox:
    """Every agent's socket; when each `message_received` reached the owner and the assignee."""

    server: Server
    owner: str
    owner_at: dict[int, float] = field(default_factory=dict)
    assignee_of: dict[int, str] = field(default_factory=dict)
    assignee_at: dict[int, float] = field(default_factory=dict)
    drops: int = 0
    frames: int = 0
    sockets: list[Any] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    closing: bool = False

    async def open(self, sessions: list[dict[str, str]]) -> None:
        from websockets.asyncio.client import connect

        gate = asyncio.Semaphore(20)  # the server accepts; the handshakes need not all queue

        async def one(session: dict[str, str]) -> None:
            async with gate:
                ws = await connect(
                    f"{self.server.ws_base}/ws/inbox/",
                    origin=self.server.base,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"sessionid={session['key']}"},
                    open_timeout=30,
                    ping_interval=None,
                )
            self.sockets.append(ws)
            self.readers.append(asyncio.create_task(self._read(ws, session["username"])))

        await asyncio.gather(*(one(s) for s in sessions))

    async def _read(self, ws: Any, username: str) -> None:
        with contextlib.suppress(Exception):
            async for raw in ws:
                now = time.time()  # wall clock: compared with the stored messages' times
                frame = json.loads(raw)
                self.frames += 1
                # A transaction's events come in one "events" frame (decisions §67).
                for msg in frame["events"] if frame.get("type") == "events" else [frame]:
                    if msg.get("type") != "event" or msg.get("kind") != "message_received":
                        continue
                    message_id = int(msg["message_id"])
                    if username == self.owner:
                        self.owner_at.setdefault(message_id, now)
                        if msg.get("assignee"):
                            self.assignee_of.setdefault(message_id, str(msg["assignee"]))
                    if msg.get("assignee") == username:
                        self.assignee_at.setdefault(message_id, now)
        if not self.closing:
            self.drops += 1

    async def close(self) -> None:
        self.closing = True
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=5)
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)


@dataclass(frozen=True)
class Sent:
    external_id: str
    sent_at: float
    answered_at: float


async def _send_at_rate(
    server: Server, secret: str, tag: str, rate: float, seconds: float, batch: int
) -> tuple[list[Sent], int]:
    """Open loop: request k leaves at k * batch / rate whatever came back before it."""
    import httpx

    n = max(batch, round(rate * seconds))
    buyers = max(1, n // 2)
    single = batch == 1
    url = f"{server.intake_base}/api/v1/inbound/messages" + ("" if single else "/batch")
    sent: list[Sent] = []
    errors = 0

    def doc(i: int) -> bytes:
        return harness.inbound_body(
            f"{tag}-{i}",
            f"{tag}-buyer{i % buyers}",
            harness.ENTRY_POINTS[i % len(harness.ENTRY_POINTS)],
            harness.TEXTS[i % len(harness.TEXTS)] + f" #{i}",
        )

    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    # Requests beyond the pool wait here, not in httpx's pool, whose queue costs the client
    # CPU per waiting request on every hand-over: at 700 single requests/s it stalled the
    # whole load generator, sockets included.
    in_flight = asyncio.Semaphore(64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()

        async def one(first: int) -> None:
            await asyncio.sleep(max(0.0, start + first / rate - time.perf_counter()))
            async with in_flight:
                await post(first)

        async def post(first: int) -> None:
            nonlocal errors
            ids = list(range(first, min(n, first + batch)))
            if single:
                body = doc(first)
            else:
                items = ",".join(doc(i).decode() for i in ids)
                body = ('{"messages":[' + items + "]}").encode()
            headers = harness.webhook_headers(PUSH_SLUG, secret, body)
            t0 = time.time()
            try:
                r = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                errors += len(ids)
                return
            t1 = time.time()
            if r.status_code != 202:
                errors += len(ids)
                return
            sent.extend(Sent(f"{tag}-{i}", t0, t1) for i in ids)

        await asyncio.gather(*(one(i) for i in range(0, n, batch)))
    return sent, errors


# --- where answer -> push goes (KEFU_PUSH_TRACE, kefu.core.stagetrace) ------------------------
# The stages of a message after the webhook answered: `wait` until the intake worker read its
# queue row (the queue, the kick or the drain's look), `batch` until its batch committed,
# `pusher` until the worker's pusher had sent the batch's bundles to Redis, `layer` until the
# web process handed the owner's socket its part (Redis, channels' receive loop, the
# consumer's task), `socket` until the bench's socket read it (the websocket write, the
# bench's own event loop).
STAGES = ("wait", "batch", "pusher", "layer", "socket")


def _trace_lines(trace: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    folder, prefix = os.path.split(trace)
    for name in sorted(os.listdir(folder)):
        if name.startswith(prefix + "."):
            pid = int(name.rsplit(".", 1)[1])
            with open(os.path.join(folder, name)) as lines:
                out += [{**json.loads(line), "pid": pid} for line in lines if line.endswith("\n")]
    return out


def _rss_mb(pid: int) -> float:
    """A process's resident memory now (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _collections(every: list[dict[str, Any]], lines: list[dict[str, Any]]) -> Row:
    """The run's garbage collections over 20 ms in the web process (the one whose records
    name sockets) and in the others (the intake workers), the web process's late wake-ups,
    its socket freezes so far (kefu.core.collector) and its resident memory now."""
    web = {x["pid"] for x in every if x["stage"] in ("web", "loop_late", "freeze")}
    gcs = [x for x in lines if x["stage"] == "gc"]
    web_gc = [float(x["ms"]) for x in gcs if x["pid"] in web]
    web_full = [float(x["ms"]) for x in gcs if x["pid"] in web and x["generation"] == 2]
    other_gc = [float(x["ms"]) for x in gcs if x["pid"] not in web]
    late = [float(x["ms"]) for x in lines if x["stage"] == "loop_late"]
    freezes = [x for x in every if x["stage"] == "freeze"]
    return {
        "gc_web_count": len(web_gc),
        "gc_web_max_ms": max(web_gc, default=0.0),
        "gc_web_full_max_ms": max(web_full, default=0.0),
        "gc_web_total_ms": round(sum(web_gc), 1),
        "gc_workers_count": len(other_gc),
        "gc_workers_max_ms": max(other_gc, default=0.0),
        "web_loop_late_max_ms": max(late, default=0.0),
        "web_freezes": len(freezes),
        "web_freeze_max_ms": max((float(x["ms"]) for x in freezes), default=0.0),
        "web_frozen_objects": freezes[-1]["frozen"] if freezes else 0,
        "web_rss_mb": max((_rss_mb(pid) for pid in web), default=0.0),
    }


def _stages(
    trace: str, tag: str, inbox: Inbox, sent: list[Sent], ids: dict[str, list[float]]
) -> Row:
    """Per-stage p50/p90/p99/max of the run's messages, the stages' medians over the slowest
    1 % (by answer -> owner push), and how the intake worker's drains came and went."""
    every = _trace_lines(trace)
    lines = [x for x in every if x["t"] >= min(s.sent_at for s in sent) - 1]
    batch_of: dict[str, dict[str, Any]] = {}
    batch_sizes: list[int] = []
    for x in lines:
        if x["stage"] == "batch" and any(e.startswith(tag + "-") for e in x["ids"]):
            batch_sizes.append(len(x["ids"]))
            for external_id in x["ids"]:
                batch_of[external_id] = x
    web_at: dict[int, float] = {}
    for x in lines:
        if x["stage"] == "web":
            for message_id in x["ids"]:
                web_at.setdefault(int(message_id), x["t"])
    per_stage: dict[str, list[float]] = {name: [] for name in STAGES}
    traced: list[tuple[float, dict[str, float]]] = []
    for s in sent:
        b = batch_of.get(s.external_id)
        stored = ids.get(s.external_id)
        if b is None or stored is None or "committed" not in b:
            continue
        m = int(stored[0])
        if m not in web_at or m not in inbox.owner_at:
            continue
        marks = [s.answered_at, b["picked"], b["committed"], b["t"], web_at[m], inbox.owner_at[m]]
        parts = {n: (marks[i + 1] - marks[i]) * 1000 for i, n in enumerate(STAGES)}
        for name, value in parts.items():
            per_stage[name].append(value)
        traced.append(((marks[-1] - marks[0]) * 1000, parts))
    row: Row = {"traced": len(traced)}
    for name in STAGES:
        row.update(harness.summary(per_stage[name], f"stage_{name}_"))
    traced.sort(key=lambda t: t[0])
    tail = traced[-max(1, len(traced) // 100) :] if traced else []
    for name in STAGES:
        row[f"tail_{name}_p50_ms"] = round(harness.percentile([p[name] for _, p in tail], 50), 1)
    starts = sorted(x["t"] for x in lines if x["stage"] == "drain_start")
    row.update(
        batches=len(batch_sizes),
        batch_messages_p50=harness.percentile(batch_sizes, 50),
        drains_started=len(starts),
        **harness.summary([b - a for a, b in itertools.pairwise(starts)], "drain_gap_", "s", 2),
        **_collections(every, lines),
    )
    return row


async def _lag_monitor(lags: list[float], stop: asyncio.Event) -> None:
    """How late the bench's own event loop wakes (every 10 ms): its sockets' receive times
    are late by as much."""
    while not stop.is_set():
        before = time.perf_counter()
        await asyncio.sleep(0.01)
        lags.append((time.perf_counter() - before - 0.01) * 1000)


async def _wait_for_pushes(inbox: Inbox, before: int, expected: int) -> None:
    deadline = time.monotonic() + STRAGGLER_WAIT_S
    while time.monotonic() < deadline and len(inbox.owner_at) - before < expected:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the assignees' copies of the last pushes


def _row(
    label: str, rate: float, batch: int, sockets: int, inbox: Inbox, sent: list[Sent], ids: dict
) -> Row:
    def ms(a: float, b: float) -> float:
        return (b - a) * 1000

    stored = [(s, int(ids[s.external_id][0])) for s in sent if s.external_id in ids]
    written = {int(ids[s.external_id][0]): float(ids[s.external_id][1]) for s, _ in stored}
    pushed = [(s, m) for s, m in stored if m in inbox.owner_at]
    assigned = [(s, m) for s, m in pushed if m in inbox.assignee_of]
    to_assignee = [(s, m) for s, m in assigned if m in inbox.assignee_at]
    first = min((s.sent_at for s in sent), default=0.0)
    last_answer = max((s.answered_at for s in sent), default=first)
    last_push = max((inbox.owner_at[m] for _, m in pushed), default=first)
    return {
        "name": f"push {label} {rate:g}/s" + (f" batch {batch}" if batch > 1 else ""),
        "rate_per_s": rate,
        "per_request": batch,
        "sockets": sockets,
        "messages": len(sent),
        "answered_per_s": round(len(sent) / max(last_answer - first, 1e-9), 1),
        "pushed_per_s": round(len(pushed) / max(last_push - first, 1e-9), 1),
        **harness.summary([ms(s.answered_at, inbox.owner_at[m]) for s, m in pushed], "answer_"),
        **harness.summary([ms(s.sent_at, inbox.owner_at[m]) for s, m in pushed], "send_"),
        # Where the answer -> push time goes: waiting in the queue until the worker writes the
        # message, then its batch's commit, the channel layer and the socket.
        **harness.summary([ms(s.answered_at, written[m]) for s, m in stored], "written_"),
        **harness.summary([ms(written[m], inbox.owner_at[m]) for _, m in pushed], "to_push_"),
        **harness.summary(
            [ms(s.sent_at, inbox.assignee_at[m]) for s, m in to_assignee], "assignee_"
        ),
        **harness.summary([ms(s.sent_at, s.answered_at) for s in sent], "http_"),
        "assigned": len(assigned),
        "unstored": len(sent) - len(stored),
        "missed": len(stored) - len(pushed),
        "missed_assignee": len(assigned) - len(to_assignee),
    }


async def _measure(backend: Backend, server: Server, prep: Row, rates: list[float]) -> list[Row]:
    sessions: list[dict[str, str]] = prep["sessions"]
    inbox = Inbox(server, str(prep["owner"]))
    t_open = time.perf_counter()
    await inbox.open(sessions)
    # Each socket marks its agent online after accept, so routing sees them; wait for all.
    online = 0
    for _ in range(120):
        online = int((await asyncio.to_thread(backend.helper, HELPER, "online"))["online"])
        if online >= len(sessions):
            break
        await asyncio.sleep(0.5)
    print(
        f"[push {backend.label}] {len(inbox.sockets)} sockets, {online} online after "
        f"{time.perf_counter() - t_open:.1f}s",
        file=sys.stderr,
    )
    seconds = harness.knob("KEFU_BENCH_PUSH_SECONDS", 20, quick=5)
    # "1,50": every rate through the single webhook, then through the batch webhook.
    batches = [int(b) for b in os.environ.get("KEFU_BENCH_PUSH_BATCH", "1").split(",")]
    secret = str(prep["secret"])
    # Warm-up (not measured): first connections, lazy imports, the worker's caches. 200
    # messages over 2 s, in the run's request size: both intake processes then have stored
    # full batches for many agents (with 5 messages, the second process's first batch of the
    # measured run took ~2 s, the slowest 1 % of a 200/s run).
    warm, _ = await _send_at_rate(server, secret, "warm", 100, 2, batches[0])
    await _wait_for_pushes(inbox, 0, len(warm))
    rows: list[Row] = []
    try:
        for batch, rate in [(b, r) for b in batches for r in rates]:
            drops_before = inbox.drops
            frames_before = inbox.frames
            pushed_before = len(inbox.owner_at)
            load_before = harness.loadavg()
            tag = f"r{rate:g}b{batch}"
            lags: list[float] = []
            stop = asyncio.Event()
            lag_task = asyncio.create_task(_lag_monitor(lags, stop))
            sent, errors = await _send_at_rate(server, secret, tag, rate, seconds, batch)
            await _wait_for_pushes(inbox, pushed_before, len(sent))
            stop.set()
            await lag_task
            ids = (await asyncio.to_thread(backend.helper, HELPER, "ids", tag + "-"))["ids"]
            row = _row(backend.label, rate, batch, len(inbox.sockets), inbox, sent, ids)
            row.update(harness.summary(lags, "bench_loop_lag_"))
            if sent:
                row.update(_stages(backend.env["KEFU_PUSH_TRACE"], tag, inbox, sent, ids))
            row.update(
                errors=errors,
                socket_drops=inbox.drops - drops_before,
                frames=inbox.frames - frames_before,
                online=online,
                loadavg_1m=load_before,
                loadavg_1m_after=harness.loadavg(),
            )
            rows.append(row)
            # Each rate's row as soon as it is measured: a later rate that fails keeps it.
            print(f"[push {backend.label}] ROW {json.dumps(row)}", file=sys.stderr)
    finally:
        await inbox.close()
    return rows


def run_on(backend: Backend) -> list[Row]:
    sockets = harness.knob("KEFU_BENCH_PUSH_SOCKETS", 50, quick=10)
    rates = [float(r) for r in os.environ.get("KEFU_BENCH_PUSH_RATES", "5,20").split(",")]
    prep = backend.helper(HELPER, "prep", str(sockets))
    # The server's processes write their stage times here (kefu.core.stagetrace).
    backend.env["KEFU_PUSH_TRACE"] = str(backend.tmp / "stagetrace")
    with harness.Server(backend, worker=True) as server:
        try:
            rows = asyncio.run(_measure(backend, server, prep, rates))
        finally:
            # KEFU_BENCH_PUSH_TRACE_COPY: a folder to keep the stage trace in (the backend's
            # own goes with it).
            keep = os.environ.get("KEFU_BENCH_PUSH_TRACE_COPY")
            if keep:
                os.makedirs(keep, exist_ok=True)
                for name in os.listdir(backend.tmp):
                    if name.startswith("stagetrace."):
                        shutil.copy(backend.tmp / name, keep)
    harness.fail_on(rows, "errors", "unstored", "missed", "socket_drops")
    return rows


if __name__ == "__main__":
    sys.exit(
        harness.helper_main(
            {"prep": _helper_prep, "online": _helper_online, "ids": _helper_ids}, sys.argv[1:]
        )
    )
