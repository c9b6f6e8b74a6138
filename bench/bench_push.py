"""Push latency: a signed buyer message in, the agents' inbox sockets told, per backend and rate.

`python -m bench push` runs, on each backend (bench.harness), `kefu run --no-worker` for the
shop "bench-push": the owner and S-1 agents, each with a signed-in session and an open socket
on /ws/inbox/ (the inbox page's socket). Then, for each rate R, buyer messages go to
POST /api/v1/inbound/messages on an open-loop schedule (R per second for D seconds, sent
whether or not earlier answers came back), from a pool of buyers half as large as the
number of messages, so some open a conversation and some continue one.

Per message: when it was sent, when its 201 came back, when the owner's socket received its
`message_received` event (the owner's group carries every event of the shop) and when the
assigned agent's socket did. Rows: p50/p90/p99/max of send -> owner push, answer -> owner
push (negative when the push overtakes the HTTP answer: the event goes out on commit, before
the response is written), send -> assignee push and send -> answer; messages/s answered and
pushed. A message whose push never came is `missed`; any is a failure.

Knobs: KEFU_BENCH_PUSH_SOCKETS (50), KEFU_BENCH_PUSH_RATES ("5,20" messages/s),
KEFU_BENCH_PUSH_SECONDS (20 per rate).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
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
    assignee_at: dict[int, float] = field(default_factory=dict)
    drops: int = 0
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
                now = time.perf_counter()
                msg = json.loads(raw)
                if msg.get("type") != "event" or msg.get("kind") != "message_received":
                    continue
                message_id = int(msg["message_id"])
                if username == self.owner:
                    self.owner_at.setdefault(message_id, now)
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
    message_id: int
    assignee: str | None
    sent_at: float
    answered_at: float


async def _send_at_rate(
    server: Server, secret: str, tag: str, rate: float, seconds: float
) -> tuple[list[Sent], int]:
    import httpx

    n = max(1, round(rate * seconds))
    buyers = max(1, n // 2)
    url = f"{server.base}/api/v1/inbound/messages"
    sent: list[Sent] = []
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()

        async def one(i: int) -> None:
            nonlocal errors
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            body = harness.inbound_body(
                f"{tag}-{i}",
                f"{tag}-buyer{i % buyers}",
                harness.ENTRY_POINTS[i % len(harness.ENTRY_POINTS)],
                harness.TEXTS[i % len(harness.TEXTS)] + f" #{i}",
            )
            headers = harness.webhook_headers(PUSH_SLUG, secret, body)
            t0 = time.perf_counter()
            try:
                r = await client.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                errors += 1
                return
            t1 = time.perf_counter()
            if r.status_code != 201:
                errors += 1
                return
            doc = r.json()
            sent.append(Sent(int(doc["message_id"]), doc["assigned_agent"], t0, t1))

        await asyncio.gather(*(one(i) for i in range(n)))
    return sent, errors


async def _wait_for_pushes(inbox: Inbox, sent: list[Sent]) -> None:
    deadline = time.monotonic() + STRAGGLER_WAIT_S
    while time.monotonic() < deadline:
        if all(
            s.message_id in inbox.owner_at and (not s.assignee or s.message_id in inbox.assignee_at)
            for s in sent
        ):
            return
        await asyncio.sleep(0.05)


def _row(label: str, rate: float, sockets: int, inbox: Inbox, sent: list[Sent]) -> Row:
    def ms(a: float, b: float) -> float:
        return (b - a) * 1000

    pushed = [s for s in sent if s.message_id in inbox.owner_at]
    assigned = [s for s in sent if s.assignee]
    to_assignee = [s for s in assigned if s.message_id in inbox.assignee_at]
    first = min((s.sent_at for s in sent), default=0.0)
    last_answer = max((s.answered_at for s in sent), default=first)
    last_push = max((inbox.owner_at[s.message_id] for s in pushed), default=first)
    return {
        "name": f"push {label} {rate:g}/s",
        "rate_per_s": rate,
        "sockets": sockets,
        "messages": len(sent),
        "answered_per_s": round(len(sent) / max(last_answer - first, 1e-9), 1),
        "pushed_per_s": round(len(pushed) / max(last_push - first, 1e-9), 1),
        **harness.summary([ms(s.sent_at, inbox.owner_at[s.message_id]) for s in pushed], "send_"),
        **harness.summary(
            [ms(s.answered_at, inbox.owner_at[s.message_id]) for s in pushed], "answer_"
        ),
        "push_before_answer": sum(inbox.owner_at[s.message_id] < s.answered_at for s in pushed),
        **harness.summary(
            [ms(s.sent_at, inbox.assignee_at[s.message_id]) for s in to_assignee], "assignee_"
        ),
        **harness.summary([ms(s.sent_at, s.answered_at) for s in sent], "http_"),
        "assigned": len(assigned),
        "missed": len(sent) - len(pushed),
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
    # Warm-up (not measured): first connections, lazy imports, the routing caches.
    await _send_at_rate(server, str(prep["secret"]), "warm", 5, 1)
    rows: list[Row] = []
    try:
        for rate in rates:
            drops_before = inbox.drops
            load_before = harness.loadavg()
            sent, errors = await _send_at_rate(
                server, str(prep["secret"]), f"r{rate:g}", rate, seconds
            )
            await _wait_for_pushes(inbox, sent)
            row = _row(backend.label, rate, len(inbox.sockets), inbox, sent)
            row.update(
                errors=errors,
                socket_drops=inbox.drops - drops_before,
                online=online,
                loadavg_1m=load_before,
            )
            rows.append(row)
    finally:
        await inbox.close()
    return rows


def run_on(backend: Backend) -> list[Row]:
    sockets = harness.knob("KEFU_BENCH_PUSH_SOCKETS", 50, quick=10)
    rates = [float(r) for r in os.environ.get("KEFU_BENCH_PUSH_RATES", "5,20").split(",")]
    prep = backend.helper(HELPER, "prep", str(sockets))
    with harness.Server(backend) as server:
        rows = asyncio.run(_measure(backend, server, prep, rates))
    harness.fail_on(rows, "errors", "missed", "socket_drops")
    return rows


if __name__ == "__main__":
    sys.exit(harness.helper_main({"prep": _helper_prep, "online": _helper_online}, sys.argv[1:]))
