"""The intake soak: many buyer messages through `kefu run` while its processes are killed and
its PostgreSQL and Redis restarted; at the end nothing is lost and nothing is doubled.

Used by bench/bench_soak.py (`make bench BENCH=soak`: 100,000 messages) and by
tests/integrations/test_intake_soak.py (the short version in `make test`).

The shape (issue 15 item 4):

- Services of its own: on "postgres", a PostgreSQL cluster (initdb into the run's folder) and
  a redis-server on free ports, which the soak may restart; never the machine's shared ones.
  On "sqlite", the embedded defaults (SQLite file, SQLite broker), nothing to restart.
- `kefu run` with the WSGI intake server (`--intake-port`, decisions §48): the sender posts
  to it; its web processes and the intake worker's processes are the ones killed.
- A shop in the queued mode with online agents, the starter automatic replies on, and a
  callback URL served by this process, which counts every delivered reply.
- Resending senders: processes of threads with keep-alive `http.client` connections (one
  asyncio `httpx` process managed ~60 requests a second in bench_intake), each its share of the
  messages at the target rate, some as batches to `/messages/batch`; whatever got no 2xx (a
  refused or reset connection, a 5xx while PostgreSQL restarts, a 429) or a batch item not
  accepted is sent again until it is.
- Faults at fractions of the acknowledged messages, each once: kill -9 a web process, kill -9
  the intake worker (its main process and its pool), restart Redis, restart PostgreSQL.
- The end: sent / acknowledged / processed / auto-replied / delivered, counted from the
  database and the callback receiver; lost = acknowledged but not stored; duplicated = a
  message stored, taken in or given an outbox row more than once; the queue and the outbox
  must be empty.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.harness import free_ports

ROOT = Path(__file__).resolve().parents[1]
HELPER = "bench.bench_soak"
SLUG = "soak-shop"
PREFIX = "soak-"
FAULTS = ("kill-web", "kill-worker", "restart-redis", "restart-postgres")


# --- processes -----------------------------------------------------------------------------------
# Shared with tests/test_supervision.py, which kills `kefu run`'s children the same way.


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def wait_for(predicate: Callable[[], bool], seconds: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def children(parent: int, marker: str = "") -> list[int]:
    """The processes whose parent is `parent` (and whose command line holds `marker`)."""
    command = ["/usr/bin/pgrep", "-P", str(parent), *(["-f", marker] if marker else [])]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout
    return [int(x) for x in out.split()]


def child(parent: int, marker: str) -> int:
    """The first child of `parent` running `marker`, or 0."""
    found = children(parent, marker)
    return found[0] if found else 0


def established(port: int) -> set[int]:
    """Socket inodes of the ESTABLISHED TCP connections whose local port is `port` (the
    server's side of each client connection), from /proc/net/tcp and tcp6."""
    inodes: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            # local address "ADDR:PORT" in hex, state 01 = ESTABLISHED, inode the 10th field.
            if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(int(fields[9]))
    return inodes


def held_connections(pid: int, inodes: set[int]) -> int:
    """How many of the sockets `inodes` the process `pid` holds open (its /proc/PID/fd)."""
    held = 0
    fds = Path("/proc") / str(pid) / "fd"
    try:
        names = os.listdir(fds)
    except OSError:
        return 0
    for name in names:
        try:
            link = os.readlink(fds / name)
        except OSError:
            continue
        if link.startswith("socket:[") and int(link[8:-1]) in inodes:
            held += 1
    return held


def kill_tree(pid: int) -> None:
    """kill -9 a process and its children (a Celery worker and its pool)."""
    pool = children(pid)
    for p in [pid, *pool]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)


# --- private PostgreSQL and Redis ---------------------------------------------------------------


def _pg_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if versions:
        return versions[-1]
    found = shutil.which("initdb") or shutil.which("pg_ctl")
    if not found:
        raise RuntimeError("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
    return Path(found).resolve().parent


class PrivateServices:
    """A PostgreSQL cluster and a redis-server of the soak's own, on free ports, restartable.

    initdb refuses root: as root, the cluster belongs to the `postgres` user (runuser)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.pg_port, self.redis_port = free_ports(2)
        self.pg_data = folder / "pg"
        self.pg_sock = folder / "pgsock"
        self.redis_proc: subprocess.Popen[bytes] | None = None
        self.bin = _pg_bin()
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/kefu_soak"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def _pg(self, *args: str, timeout: float = 120) -> None:
        done = subprocess.run(
            [*self.as_postgres, str(self.bin / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {done.stderr[-2000:]}")

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for d in (self.pg_data, self.pg_sock):
            d.mkdir(exist_ok=True)
            if self.as_postgres:
                shutil.chown(d, "postgres", "postgres")
        if self.as_postgres:
            # The postgres user reaches its folders through the run's folder.
            self.folder.chmod(0o755)
        self._pg("initdb", "-D", str(self.pg_data), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        self.start_postgres()
        port = str(self.pg_port)
        self._pg("createdb", "-h", "127.0.0.1", "-p", port, "-U", "postgres", "kefu_soak")
        self.start_redis()

    def start_postgres(self) -> None:
        options = (
            f"-p {self.pg_port} -k {self.pg_sock} -c listen_addresses=127.0.0.1 "
            # No OS crash is simulated: the restarts below are PostgreSQL's own.
            "-c fsync=off -c full_page_writes=off -c max_connections=200"
        )
        # Settings to look inside a run with (pg_stat_statements, logging), never the faults.
        extra = os.environ.get("KEFU_BENCH_SOAK_PG_OPTIONS", "")
        if extra:
            options += " " + extra
        self._pg(
            "pg_ctl", "-D", str(self.pg_data), "-o", options, "-l",
            str(self.pg_data / "server.log"), "-w", "start",
        )  # fmt: skip

    def restart_postgres(self) -> None:
        """An immediate stop (a crash: no checkpoint, recovery from the WAL), then a start."""
        self._pg("pg_ctl", "-D", str(self.pg_data), "-m", "immediate", "-w", "stop")
        time.sleep(1.0)
        self.start_postgres()

    def start_redis(self) -> None:
        self.redis_proc = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port", str(self.redis_port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if not wait_for(self._redis_up, 20, 0.1):
            raise RuntimeError("the soak's redis-server did not start")

    def _redis_up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def redis_pid(self) -> int:
        return self.redis_proc.pid if self.redis_proc is not None else 0

    def postmaster_pid(self) -> int:
        try:
            return int((self.pg_data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return 0

    def restart_redis(self) -> None:
        """Redis keeps nothing (no RDB, no AOF): the broker's queued tasks are gone."""
        self.stop_redis()
        time.sleep(1.0)
        self.start_redis()

    def stop_redis(self) -> None:
        if self.redis_proc is not None and self.redis_proc.poll() is None:
            self.redis_proc.kill()
            self.redis_proc.wait(timeout=10)
        self.redis_proc = None

    def stop(self) -> None:
        self.stop_redis()
        with contextlib.suppress(Exception):
            self._pg("pg_ctl", "-D", str(self.pg_data), "-m", "immediate", "-w", "stop")


# --- the callback receiver: the marketplace side of the outbox -----------------------------------


class Receiver:
    """An HTTP server taking the shop's signed outbound messages; counts each message id."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.deliveries: dict[int, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                doc = json.loads(self.rfile.read(length) or b"{}")
                with receiver.lock:
                    mid = int(doc.get("message_id", 0))
                    receiver.deliveries[mid] = receiver.deliveries.get(mid, 0) + 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/kefu-callback"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- the helper: Django on the soak's database, in a process of its own -------------------------


class Helper:
    """`python -m bench.bench_soak serve`, started once per run: it sets Django up (seconds of
    imports) while the private PostgreSQL is created, migrates and prepares the shop, then
    counts every poll of the drain without starting again."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        import queue

        self.log = log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", HELPER, "serve"],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "kefu.settings"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = False

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put("")  # the process has ended

    def _line(self, timeout: float) -> str:
        import queue

        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"the soak helper gave no answer in {timeout:.0f}s") from None
        if not line:
            raise RuntimeError(f"the soak helper ended ({self.proc.wait()}); see helper.log")
        return line

    def call(self, *args: str, timeout: float = 600) -> dict[str, Any]:
        """Run one command; RuntimeError when it failed (the reason) or the helper is gone."""
        deadline = time.monotonic() + timeout
        while not self.ready:
            self.ready = self._line(deadline - time.monotonic()) == "READY"
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(args) + "\n")
        self.proc.stdin.flush()
        while True:
            # Lines that are neither (a library printing) are skipped.
            line = self._line(deadline - time.monotonic())
            if line.startswith("RESULT "):
                return dict(json.loads(line[len("RESULT ") :]))
            if line.startswith("ERROR "):
                raise RuntimeError(f"soak helper {args[0]}: {json.loads(line[len('ERROR ') :])}")

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()


# --- where the CPU went ---------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, int]]:
    """Every process: pid -> (parent pid, user + system CPU in clock ticks)."""
    table: dict[int, tuple[int, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after its end.
        fields = raw[raw.rindex(")") + 2 :].split()
        table[int(entry.name)] = (int(fields[1]), int(fields[11]) + int(fields[12]))
    return table


def _cmdline(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _machine_busy() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return sum(values) - idle, sum(values)


class CpuSampler:
    """CPU seconds of each part of the run, sampled once a second while the senders send.

    A process's last sample stands for it once it is gone (a killed one loses at most its last
    second). The parts: the senders, the intake server (granian), the intake worker, the rest
    of `kefu run` (Celery worker and beat, uvicorn, the supervisor), PostgreSQL, Redis, this
    process (the callback receiver, the faults); "machine" is every core's busy time, whoever
    spent it (other sessions on a shared machine too)."""

    def __init__(self, soak: Soak, senders: list[int]) -> None:
        self.soak = soak
        self.senders = set(senders)
        self.seen: dict[int, tuple[str, int]] = {}
        self.kinds: dict[int, str] = {}
        self.stopping = threading.Event()
        self.busy0 = _machine_busy()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _kind(self, pid: int, parent: int, table: dict[int, tuple[int, int]]) -> str:
        if pid in self.kinds:
            return self.kinds[pid]
        soak = self.soak
        kind = ""
        if pid in self.senders:
            kind = "senders"
        elif pid == os.getpid():
            kind = "soak_process"
        elif soak.helper is not None and pid == soak.helper.proc.pid:
            kind = "helper"
        elif soak.server is not None and pid == soak.server.pid:
            kind = "kefu_run_other"
        elif soak.services is not None and pid == soak.services.redis_pid():
            kind = "redis"
        elif soak.services is not None and pid == soak.services.postmaster_pid():
            kind = "postgres"
        elif parent in table and parent != pid:
            above = self._kind(parent, table[parent][0], table)
            if above == "kefu_run_other":
                line = _cmdline(pid)
                if "granian" in line:
                    kind = "intake_web"
                elif "intake@" in line or "intake-worker" in line:
                    kind = "intake_worker"
                else:
                    kind = "kefu_run_other"
            elif above in ("intake_web", "intake_worker", "postgres"):
                kind = above
        # Only what is settled is remembered: a fresh process may not show its command yet.
        if kind:
            self.kinds[pid] = kind
        return kind

    def _sample(self) -> None:
        table = _proc_table()
        for pid, (parent, ticks) in table.items():
            kind = self._kind(pid, parent, table)
            if kind:
                self.seen[pid] = (kind, ticks)

    def _by_kind(self) -> dict[str, int]:
        spent: dict[str, int] = {}
        for pid, (kind, ticks) in self.seen.items():
            spent[kind] = spent.get(kind, 0) + ticks - self.start_ticks.get(pid, 0)
        spent["machine"] = _machine_busy()[0] - self.busy0[0]
        return spent

    def _run(self) -> None:
        self.start_ticks: dict[int, int] = {}
        self._sample()
        self.start_ticks = {pid: ticks for pid, (_, ticks) in self.seen.items()}
        started = time.perf_counter()
        # (seconds, CPU ticks of each part so far): each second's cores, read in `per_second`.
        self.marks: list[tuple[float, dict[str, int]]] = [(0.0, self._by_kind())]
        while not self.stopping.wait(1.0):
            with contextlib.suppress(Exception):  # a process gone mid-read: the next sample
                self._sample()
                self.marks.append((time.perf_counter() - started, self._by_kind()))

    def per_second(self) -> list[tuple[float, dict[str, float]]]:
        """Cores each part used in each interval between samples (about a second each)."""
        tick = os.sysconf("SC_CLK_TCK")
        out: list[tuple[float, dict[str, float]]] = []
        for (t0, a), (t1, b) in zip(self.marks, self.marks[1:], strict=False):
            span = max(t1 - t0, 1e-9) * tick
            out.append(
                (round(t1, 1), {k: round((v - a.get(k, 0)) / span, 2) for k, v in b.items()})
            )
        return out

    def stop(self, seconds: float) -> dict[str, float]:
        """Cores each part used on average over `seconds` (CPU seconds / wall seconds)."""
        self.stopping.set()
        self.thread.join(timeout=10)
        with contextlib.suppress(Exception):
            self._sample()
        tick = os.sysconf("SC_CLK_TCK")
        spent: dict[str, float] = {}
        for pid, (kind, ticks) in self.seen.items():
            spent[kind] = spent.get(kind, 0) + (ticks - self.start_ticks.get(pid, 0)) / tick
        busy1 = _machine_busy()
        cores = os.cpu_count() or 1
        machine = (busy1[0] - self.busy0[0]) / max(1, busy1[1] - self.busy0[1]) * cores
        out = {k: round(v / seconds, 2) for k, v in sorted(spent.items())}
        out["machine"] = round(machine, 2)
        return out


# --- the run -------------------------------------------------------------------------------------


@dataclass
class SoakConfig:
    backend: str  # "postgres" (private PostgreSQL + Redis) or "sqlite" (embedded defaults)
    messages: int
    rate: float  # messages a second the sender aims at
    folder: Path
    concurrency: int = 16  # connections in all, shared by the sender processes
    senders: int = 2  # sender processes (one Python process tops out below the target rate)
    # Share of the messages sent through the batch webhook, in requests of `batch_size`;
    # the rest one per request to the single webhook.
    batch_share: float = 0.0
    batch_size: int = 50
    buyers: int = 2000
    web_processes: int = 2  # processes of the WSGI intake server
    workers: int = 2  # processes of the intake worker (KEFU_INTAKE_WORKERS)
    faults: tuple[str, ...] = FAULTS
    # Fraction of the messages acknowledged when each fault strikes, in FAULTS order.
    fault_at: tuple[float, ...] = (0.2, 0.35, 0.5, 0.7)
    drain_seconds: float = 300.0
    log: Callable[[str], None] = field(
        default=lambda line: print(time.strftime("%H:%M:%S ") + line, file=sys.stderr)
    )


@dataclass
class Sent:
    attempts: int = 0  # requests, single and batch
    batch_requests: int = 0
    resent_messages: int = 0
    acknowledged: set[int] = field(default_factory=set)
    statuses: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)  # single webhook
    batch_latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    faults: list[dict[str, Any]] = field(default_factory=list)
    cores: dict[str, float] = field(default_factory=dict)  # CpuSampler, while sending
    # (seconds since sending began, acknowledged, non-2xx answers, no answer), every 0.2 s
    timeline: list[tuple[float, int, int, int]] = field(default_factory=list)
    phases: dict[str, Any] = field(default_factory=dict)
    cpu_timeline: list[tuple[float, dict[str, float]]] = field(default_factory=list)


class Timeline:
    """The senders' acknowledged and failed counts, read from their shared counters every
    0.2 s while they send: what each fault cost is read from it (`phases`)."""

    def __init__(self, counters: Any, failed: Any, started: float) -> None:
        self.counters = counters
        self.failed = failed
        self.started = started
        self.points: list[tuple[float, int, int, int]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _point(self) -> None:
        failed = list(self.failed)
        self.points.append(
            (
                round(time.perf_counter() - self.started, 2),
                sum(self.counters),
                sum(failed[0::2]),
                sum(failed[1::2]),
            )
        )

    def _run(self) -> None:
        self._point()
        while not self.stopping.wait(0.2):
            self._point()

    def stop(self) -> list[tuple[float, int, int, int]]:
        self.stopping.set()
        self.thread.join(timeout=5)
        self._point()
        return self.points


def _acked_at(points: list[tuple[float, int, int, int]], t: float) -> int:
    """The acknowledged count at `t` seconds (the last sample at or before it)."""
    count = 0
    for when, acked, _, _ in points:
        if when > t:
            break
        count = acked
    return count


def phases(
    points: list[tuple[float, int, int, int]], faults: list[dict[str, Any]], rate: float
) -> dict[str, Any]:
    """What the run's time went to: the acknowledged rate before the first fault, in the
    10 s after each fault began, and between the faults; how far behind the senders' pace
    (rate x seconds) the acknowledged count fell after each fault and how long it took to
    catch up with the lag it had when the fault struck."""
    if not points:
        return {}
    end = points[-1][0]
    out: dict[str, Any] = {}
    starts = [f["at_seconds"] for f in faults if "at_seconds" in f]
    first = starts[0] if starts else end

    def rate_between(a: float, b: float) -> float:
        return round((_acked_at(points, b) - _acked_at(points, a)) / max(b - a, 1e-9), 1)

    # Skip the first 2 s (connections opening) for the steady rate.
    out["before_faults_per_s"] = rate_between(min(2.0, first / 2), first)
    for f in faults:
        at = f.get("at_seconds")
        if at is None:
            continue
        lag0 = rate * at - _acked_at(points, at)
        after = [p for p in points if p[0] >= at]
        worst = max((rate * t - a for t, a, _, _ in after), default=0.0)
        caught = next((t for t, a, _, _ in after if t > at + 0.5 and rate * t - a <= lag0), None)
        base = next((p for p in points if p[0] >= at), points[-1])
        upto = next((p for p in points if p[0] >= at + 10), points[-1])
        out[f["fault"]] = {
            "at_seconds": at,
            "per_s_next_10s": rate_between(at, min(at + 10, end)),
            "lag_at_fault": round(lag0),
            "worst_lag": round(worst),
            "caught_up_seconds": round(caught - at, 2) if caught is not None else None,
            "non_2xx_next_10s": upto[2] - base[2],
            "unanswered_next_10s": upto[3] - base[3],
        }
    out["after_faults_per_s"] = rate_between(starts[-1], end) if starts else None
    out["overall_per_s"] = rate_between(0.0, end)
    return out


def _sign(secret: str, body: bytes) -> dict[str, str]:
    from bench.harness import webhook_headers

    return webhook_headers(SLUG, secret, body)


def _body(i: int, buyers: int) -> bytes:
    from bench.harness import ENTRY_POINTS, TEXTS, inbound_body

    return inbound_body(
        f"{PREFIX}{i}",
        f"sb{i % buyers}",
        ENTRY_POINTS[i % len(ENTRY_POINTS)],
        TEXTS[i % len(TEXTS)] + f" #{i}",
    )


def plan_units(cfg: SoakConfig) -> list[tuple[int, ...]]:
    """The requests to make, in order: a batch of `batch_size` message numbers or a single
    one. Blocks of `batch_size` go to the batch webhook spread evenly at `batch_share`."""
    units: list[tuple[int, ...]] = []
    size = max(1, cfg.batch_size)
    for block, first in enumerate(range(0, cfg.messages, size)):
        numbers = tuple(range(first, min(cfg.messages, first + size)))
        if int((block + 1) * cfg.batch_share) > int(block * cfg.batch_share):
            units.append(numbers)
        else:
            units += [(i,) for i in numbers]
    return units


def _request(numbers: tuple[int, ...], buyers: int, batch: bool) -> tuple[str, bytes]:
    if not batch:
        return "/api/v1/inbound/messages", _body(numbers[0], buyers)
    docs = [json.loads(_body(i, buyers)) for i in numbers]
    body = json.dumps({"messages": docs}, ensure_ascii=False).encode()
    return "/api/v1/inbound/messages/batch", body


def _sender_process(
    port: int,
    secret: str,
    units: list[tuple[int, ...]],
    buyers: int,
    rate: float,
    threads: int,
    counters: Any,
    slot: int,
    out: Any,
    failed: Any = None,
) -> None:
    """One sender process: `threads` keep-alive `http.client` connections post its units at
    `rate` messages a second; whatever gets no 2xx (or a batch item not accepted) is sent
    again half a second later, on a fresh connection after a network error, until it does.
    `counters[slot]` is its acknowledged count, read by the parent to time the faults;
    `failed[2 * slot]` / `failed[2 * slot + 1]` its requests answered non-2xx / not answered
    at all, read by the parent's timeline."""
    import heapq
    import http.client
    import queue

    total = sum(len(u) for u in units)
    todo: queue.Queue[tuple[tuple[int, ...], bool]] = queue.Queue()
    later: list[tuple[float, int, tuple[int, ...], bool]] = []  # (due, tie, unit, batch)
    lock = threading.Lock()
    acknowledged: set[int] = set()
    statuses: dict[str, int] = {}
    latencies: list[float] = []
    batch_latencies: list[float] = []
    tally = {"attempts": 0, "batch_requests": 0, "resent": 0, "tie": 0}
    started = time.perf_counter()

    def pace() -> None:
        released = 0
        for unit in units:
            released += len(unit)
            wait = released / rate - (time.perf_counter() - started)
            if wait > 0:
                time.sleep(wait)
            todo.put((unit, len(unit) > 1))

    def again(unit: tuple[int, ...], batch: bool) -> None:
        tally["tie"] += 1
        tally["resent"] += len(unit)
        heapq.heappush(later, (time.monotonic() + 0.5, tally["tie"], unit, batch))

    def next_unit() -> tuple[tuple[int, ...], bool] | None:
        with lock:
            if later and later[0][0] <= time.monotonic():
                _, _, unit, batch = heapq.heappop(later)
                return unit, batch
        try:
            return todo.get(timeout=0.05)
        except queue.Empty:
            return None

    def thread() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        while True:
            with lock:
                if len(acknowledged) >= total:
                    break
            got = next_unit()
            if got is None:
                continue
            unit, batch = got
            path, body = _request(unit, buyers, batch)
            headers = _sign(secret, body)
            t0 = time.perf_counter()
            accepted: list[int] = []
            try:
                connection.request("POST", path, body, headers)
                answer = connection.getresponse()
                text = answer.read()
                status = str(answer.status)
                if status.startswith("2"):
                    if batch:
                        results = json.loads(text)["results"]
                        accepted = [unit[r["index"]] for r in results if r["status"] != "rejected"]
                    else:
                        accepted = list(unit)
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            took = (time.perf_counter() - t0) * 1000
            with lock:
                tally["attempts"] += 1
                tally["batch_requests"] += batch
                (batch_latencies if batch else latencies).append(took)
                statuses[status] = statuses.get(status, 0) + 1
                acknowledged.update(accepted)
                counters[slot] = len(acknowledged)
                if failed is not None and not status.startswith("2"):
                    failed[2 * slot + (0 if status.isdigit() else 1)] += 1
                missing = tuple(i for i in unit if i not in acknowledged)
                if missing:
                    # A batch item refused alone goes again on its own.
                    if batch and accepted:
                        for i in missing:
                            again((i,), False)
                    else:
                        again(missing, batch and len(missing) > 1)
        connection.close()

    pacer = threading.Thread(target=pace, daemon=True)
    pacer.start()
    pool = [threading.Thread(target=thread) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(
        {
            "attempts": tally["attempts"],
            "batch_requests": tally["batch_requests"],
            "resent_messages": tally["resent"],
            "acknowledged": sorted(acknowledged),
            "statuses": statuses,
            "latencies_ms": latencies,
            "batch_latencies_ms": batch_latencies,
        }
    )


class Soak:
    def __init__(self, config: SoakConfig) -> None:
        self.config = config
        self.services: PrivateServices | None = None
        self.receiver = Receiver()
        self.server: subprocess.Popen[bytes] | None = None
        self.helper: Helper | None = None
        self.env: dict[str, str] = {}
        self.timings: dict[str, float] = {}
        self.port, self.intake_port = free_ports(2)

    # -- setup and teardown

    def _environment(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "DJANGO_"))}
        env = {
            **keep,
            "KEFU_DATA_DIR": str(self.config.folder / "data"),
            "KEFU_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "PYTHONUNBUFFERED": "1",
            # Sockets are not what is soaked: the agents stay online and routable.
            "KEFU_PRESENCE_GRACE_SECONDS": "86400",
            "KEFU_ROUTING_GRACE_SECONDS": "86400",
            "KEFU_INTAKE_WORKERS": str(self.config.workers),
            # The sweeps that find what a killed process or a flushed broker left behind.
            "KEFU_INTAKE_SWEEP_SECONDS": "2",
            "KEFU_PUBLIC_URL": "http://127.0.0.1",
        }
        if self.services is not None:
            env["KEFU_DATABASE_URL"] = self.services.database_url
            env["KEFU_REDIS_URL"] = self.services.redis_url
        return env

    def start(self) -> str:
        """Services, migrated database, the shop, `kefu run`; the shop's webhook secret."""
        self.config.folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        if self.config.backend == "postgres":
            # Its ports are chosen here, so the helper knows them before the cluster exists.
            self.services = PrivateServices(self.config.folder / "services")
        self.env = self._environment()
        # Django's imports in the helper overlap initdb and the servers' start.
        self.helper = Helper(self.env, self.config.folder / "helper.log")
        if self.services is not None:
            self.services.start()
        prepared = self.helper.call("prep", self.receiver.url)
        self.timings["prepare_seconds"] = round(time.perf_counter() - started, 1)
        self.config.log(f"[soak] migrated and prepared in {self.timings['prepare_seconds']}s")
        started = time.perf_counter()
        self.start_server()
        self.timings["server_start_seconds"] = round(time.perf_counter() - started, 1)
        self.config.log(f"[soak] intake server up in {self.timings['server_start_seconds']}s")
        return str(prepared["secret"])

    def start_server(self) -> None:
        args = [
            str(Path(sys.executable).with_name("kefu")),
            "run",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--intake-port", str(self.intake_port),
            "--intake-processes", str(self.config.web_processes),
        ]  # fmt: skip
        self.log_file = (self.config.folder / "server.log").open("ab")
        self.server = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        # The soak's traffic goes to the intake server alone; messages sent before the intake
        # worker is up wait in the queue, as they would for a worker that restarts.
        if not wait_for(lambda: healthy(self.intake_port), 120, 0.25):
            raise RuntimeError(f"kefu run's intake server did not become healthy:\n{self.tail()}")

    def tail(self, n: int = 3000, name: str = "server.log") -> str:
        try:
            return (self.config.folder / name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        """Everything the run started. `kefu run` is killed, not stopped gracefully: the counts
        are taken by then, and its graceful stop (the Celery workers' warm shutdown, ~10 s
        on this machine) is tests/test_supervision.py's to prove, not the soak's."""
        if self.server is not None:
            # Its session: the supervisor, granian and its workers, the Celery pools.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(timeout=30)
            self.log_file.close()
        if self.helper is not None:
            self.helper.stop()
        self.receiver.stop()
        if self.services is not None:
            self.services.stop()

    # -- faults

    def _intake_web(self) -> list[int]:
        assert self.server is not None
        master = child(self.server.pid, "granian")
        return children(master) if master else []

    def _busiest_web(self) -> tuple[int, dict[int, int]]:
        """The intake web process holding the most of the senders' connections, and what each
        held. With two processes sharing the listening socket one may hold them all, and
        killing the other cut nothing (a `make test` run had 0 resent): the kill must land where
        the requests are. Waits up to 5 s for a process holding one; the first process then."""
        held: dict[int, int] = {}
        deadline = time.monotonic() + 5
        while True:
            web = self._intake_web()
            assert web, "no intake web process to kill"
            inodes = established(self.intake_port)
            held = {pid: held_connections(pid, inodes) for pid in web}
            busiest = max(web, key=lambda pid: held[pid])
            if held[busiest] > 0 or time.monotonic() > deadline:
                return busiest, held
            time.sleep(0.05)

    def _intake_worker(self) -> int:
        assert self.server is not None
        # A Celery intake worker (PostgreSQL) or the polling one (SQLite, decisions §62).
        return child(self.server.pid, "intake@") or child(self.server.pid, "intake-worker")

    def fault(self, name: str) -> dict[str, Any]:
        started = time.perf_counter()
        detail: dict[str, Any] = {"fault": name}
        if name == "kill-web":
            victim, held = self._busiest_web()
            os.kill(victim, signal.SIGKILL)
            detail["pid"] = victim
            # The senders' keep-alive connections each web process held when the kill struck
            # (pid: count); the killed one's are reset, so what was in flight on them or sent
            # on them next fails and is resent (`connection_errors`, `resent`).
            detail["connections"] = held
            detail["killed_connections"] = held.get(victim, 0)
            # granian's main process starts another in its place.
            back = wait_for(lambda: len(self._intake_web()) == self.config.web_processes, 60)
            # The replacement is listed as soon as it is forked; the intake is back when the
            # port answers. With one intake process (SQLite) the port refuses connections
            # until then; with two, the other one answers meanwhile.
            back = back and wait_for(lambda: healthy(self.intake_port), 120, 0.05)
            detail["answering_seconds"] = round(time.perf_counter() - started, 2)
        elif name == "kill-worker":
            worker = self._intake_worker()
            assert worker, "no intake worker to kill"
            kill_tree(worker)
            detail["pid"] = worker
            # `kefu run`'s supervisor starts another in its place.
            back = wait_for(lambda: self._intake_worker() not in (0, worker), 60)
        elif name == "restart-redis" and self.services is not None:
            self.services.restart_redis()
            back = True
        elif name == "restart-postgres" and self.services is not None:
            self.services.restart_postgres()
            back = True
        else:
            detail["skipped"] = "nothing to restart on the embedded defaults"
            back = True
        detail["seconds"] = round(time.perf_counter() - started, 2)
        detail["recovered"] = back
        self.config.log(f"[soak] fault {detail}")
        return detail

    # -- the sender

    def send(self, secret: str) -> Sent:
        """The messages from `senders` processes (their share each), faults fired from here
        as the acknowledged count passes each fault's fraction."""
        import multiprocessing
        import queue

        cfg = self.config
        units = plan_units(cfg)
        processes = max(1, min(cfg.senders, len(units)))
        # fork: the sender needs nothing of this process but the plan (no Django is set up).
        context = multiprocessing.get_context("fork")
        counters = context.Array("q", processes, lock=False)
        failed = context.Array("q", 2 * processes, lock=False)
        out: Any = context.Queue()
        started = time.perf_counter()
        timeline = Timeline(counters, failed, started)
        procs = [
            context.Process(
                target=_sender_process,
                args=(
                    self.intake_port,
                    secret,
                    units[k::processes],
                    cfg.buyers,
                    cfg.rate / processes,
                    max(1, cfg.concurrency // processes),
                    counters,
                    k,
                    out,
                    failed,
                ),
                daemon=True,
            )
            for k in range(processes)
        ]
        for proc in procs:
            proc.start()
        sampler = CpuSampler(self, [proc.pid for proc in procs if proc.pid])
        sent = Sent()
        schedule = list(zip(cfg.faults, cfg.fault_at, strict=False))
        results: list[dict[str, Any]] = []
        while len(results) < processes:
            if schedule and sum(counters) >= schedule[0][1] * cfg.messages:
                name, _ = schedule.pop(0)
                fault_started = time.perf_counter() - started
                detail = self.fault(name)
                detail["at_seconds"] = round(fault_started, 2)
                sent.faults.append(detail)
                continue
            try:
                results.append(out.get(timeout=0.1))
            except queue.Empty:
                if not any(proc.is_alive() for proc in procs):
                    # A sender died without its counts (they are put just before it ends).
                    with contextlib.suppress(queue.Empty):
                        results.append(out.get(timeout=5))
                        continue
                    raise RuntimeError("a sender process ended without its counts") from None
        sent.seconds = time.perf_counter() - started
        sent.cores = sampler.stop(sent.seconds)
        sent.timeline = timeline.stop()
        sent.cpu_timeline = sampler.per_second()
        sent.phases = phases(sent.timeline, sent.faults, cfg.rate)
        self.config.log(f"[soak] phases: {sent.phases}")
        self.config.log(f"[soak] cores used while sending: {sent.cores}")
        for proc in procs:
            proc.join(timeout=30)
        # A fault due after the last acknowledgement (a tiny run) still strikes, so that every
        # fault asked for is felt and its recovery checked.
        for name, _ in schedule:
            sent.faults.append(self.fault(name))
        for r in results:
            sent.attempts += r["attempts"]
            sent.batch_requests += r["batch_requests"]
            sent.resent_messages += r["resent_messages"]
            sent.acknowledged.update(r["acknowledged"])
            for k, v in r["statuses"].items():
                sent.statuses[k] = sent.statuses.get(k, 0) + v
            sent.latencies_ms += r["latencies_ms"]
            sent.batch_latencies_ms += r["batch_latencies_ms"]
        return sent

    # -- the end

    def drained(self) -> dict[str, Any]:
        """Wait until the queue and the outbox are empty (or the drain time is up)."""
        deadline = time.monotonic() + self.config.drain_seconds
        counts: dict[str, Any] = {}
        assert self.helper is not None
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                counts = self.helper.call("count", PREFIX, timeout=120)
                brief = {k: v for k, v in counts.items() if k != "outbox_message_ids"}
                self.config.log(f"[soak] draining: {brief}")
                if (
                    counts["processed"] >= self.config.messages
                    and counts["queue_left"] == 0
                    and counts["outbox_pending"] == 0
                ):
                    break
            time.sleep(1)
        return counts


def run(config: SoakConfig) -> dict[str, Any]:
    """One soak; the counts, and `lost` / `duplicated` / `left` that must all be 0."""
    soak = Soak(config)
    try:
        secret = soak.start()
        config.log(
            f"[soak {config.backend}] {config.messages} messages at {config.rate}/s to "
            f"{config.web_processes} web + {config.workers} worker processes"
        )
        sent = soak.send(secret)
        config.log(f"[soak] all acknowledged in {sent.seconds:.1f}s; draining")
        drain_started = time.perf_counter()
        counts = soak.drained()
        drain_s = time.perf_counter() - drain_started
    except BaseException:
        config.log(f"[soak] server log tail:\n{soak.tail()}")
        config.log(f"[soak] helper log tail:\n{soak.tail(name='helper.log')}")
        raise
    finally:
        soak.stop()
    from bench.harness import summary

    delivered = {m: n for m, n in soak.receiver.deliveries.items() if m}
    result: dict[str, Any] = {
        "backend": config.backend,
        "messages": config.messages,
        "target_rate": config.rate,
        "web_processes": config.web_processes,
        "worker_processes": config.workers,
        "sender_processes": config.senders,
        "batch_share": config.batch_share,
        "batch_size": config.batch_size,
        "sent_requests": sent.attempts,
        "batch_requests": sent.batch_requests,
        "resent": sent.resent_messages,
        # Requests that got no HTTP answer at all (a reset or closed connection, a timeout):
        # the killed web process's; `statuses` names each kind.
        "connection_errors": sum(n for k, n in sent.statuses.items() if not k.isdigit()),
        "acknowledged": len(sent.acknowledged),
        "statuses": sent.statuses,
        "send_seconds": round(sent.seconds, 1),
        "acknowledged_per_s": round(len(sent.acknowledged) / sent.seconds, 1),
        **summary(sent.latencies_ms, prefix="http_"),
        **(summary(sent.batch_latencies_ms, prefix="batch_http_") if sent.batch_requests else {}),
        "drain_seconds": round(drain_s, 1),
        **soak.timings,
        "processed": counts.get("processed", -1),
        "auto_replied": counts.get("auto_replies", -1),
        "outbox_rows": counts.get("outbox_rows", -1),
        "outbox_delivered": counts.get("outbox_delivered", -1),
        "callbacks_received": sum(delivered.values()),
        # At-least-once delivery: a worker killed after the POST and before its commit posts
        # again; the marketplace drops the repeat by its Idempotency-Key (the message id).
        "callbacks_repeated": sum(n - 1 for n in delivered.values()),
        "faults": sent.faults,
        "cores_while_sending": sent.cores,
        "phases": sent.phases,
        "timeline": sent.timeline,
        "cpu_timeline": sent.cpu_timeline,
    }
    outbox_ids = set(counts.get("outbox_message_ids", []))
    # Lost: answered 2xx, yet neither stored nor still waiting in the queue. A drain that ran
    # out of time shows as left_in_queue, not as lost.
    result["lost"] = (
        len(sent.acknowledged) - counts.get("processed", 0) - counts.get("queue_left", 0)
    )
    result["duplicated"] = (
        counts.get("processed", 0) - counts.get("distinct_processed", 0)
        + counts.get("taken_in_twice", 0)
        + counts.get("outbox_twice", 0)
    )  # fmt: skip
    result["left_in_queue"] = counts.get("queue_left", -1)
    result["left_in_outbox"] = counts.get("outbox_pending", -1)
    result["not_delivered"] = counts.get("outbox_not_delivered", -1)
    result["delivered_not_received"] = len(outbox_ids - set(delivered))
    config.log(
        f"[soak] resent {result['resent']}, connection errors {result['connection_errors']}, "
        f"statuses {result['statuses']}, lost {result['lost']}, duplicated {result['duplicated']}"
    )
    return result


def failures(result: dict[str, Any]) -> list[str]:
    """What a soak result breaks: empty when nothing was lost, doubled or left behind."""
    wrong = [
        f"{key}={result[key]}"
        for key in (
            "lost",
            "duplicated",
            "left_in_queue",
            "left_in_outbox",
            "not_delivered",
            "delivered_not_received",
        )
        if result[key] != 0
    ]
    if result["acknowledged"] != result["messages"]:
        wrong.append(f"acknowledged={result['acknowledged']} of {result['messages']}")
    wrong += [f"fault {f['fault']} not recovered" for f in result["faults"] if not f["recovered"]]
    return wrong


@contextlib.contextmanager
def folder(prefix: str) -> Iterator[Path]:
    import tempfile

    path = Path(tempfile.mkdtemp(prefix=prefix))
    # Run as root, the private PostgreSQL belongs to the postgres user, which must get in.
    path.chmod(0o755)
    try:
        yield path
    finally:
        # KEFU_SOAK_KEEP=1 keeps the run's folder (server log, PostgreSQL log) to read after.
        if os.environ.get("KEFU_SOAK_KEEP") != "1":
            shutil.rmtree(path, ignore_errors=True)
