"""What every bench shares: the backend matrix and its databases, `kefu run` on a free port,
helper subprocesses, signed webhook bodies, knobs, percentiles and the results files."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kefu.accounts.services import CreatedShop

Row = dict[str, Any]

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).parent / "results"
_VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(_VENV_BIN / "python") if (_VENV_BIN / "python").exists() else sys.executable
KEFU = str(Path(PYTHON).parent / "kefu")

# Only 127.0.0.1 is ever contacted. The bench owns the databases named kefu_bench_<bench> and
# this Redis database: it creates, flushes and drops them.
PG_ADMIN_URL = os.environ.get("KEFU_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("KEFU_BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")

# The backend matrix: label -> web processes. "sqlite" is the embedded default (SQLite file,
# in-process channel layer); the others are PostgreSQL + Redis (channel layer and cache).
BACKENDS: dict[str, int] = {"sqlite": 1, "postgres": 1, "postgres-2p": 2}

ENTRY_POINTS = [
    "product_page",
    "shop_page",
    "search",
    "widget",
    "order_list",
    "order_detail",
    "dispute",
]
TEXTS = [
    "亲，这款台灯还有现货吗？今天能发货吗？",
    "我的快递三天没有更新了，麻烦帮我查一下物流。",
    "Hi, does this lamp ship to Germany and how long does it take?",
    "收到的商品有划痕，想申请退换货。",
    "可以开发票吗？公司抬头。",
]
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 - throwaway bench logins


# --- knobs and numbers ------------------------------------------------------------------------


def knob(name: str, full: int, quick: int | None = None) -> int:
    """An environment variable if set, else the quick size under `--quick`, else the full one."""
    if name in os.environ:
        return int(os.environ[name])
    if quick is not None and os.environ.get("KEFU_BENCH_QUICK") == "1":
        return quick
    return full


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile (p in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def summary(values: Sequence[float], prefix: str = "", unit: str = "ms", digits: int = 1) -> Row:
    """p50, p90, p99 and max of `values` as fields named `<prefix>p50_<unit>` and so on."""
    out: Row = {f"{prefix}p{p}_{unit}": round(percentile(values, p), digits) for p in (50, 90, 99)}
    out[f"{prefix}max_{unit}"] = round(max(values), digits) if values else float("nan")
    return out


class BenchFailed(AssertionError):
    """A bench measured, and some rows show errors; the rows are still written."""

    def __init__(self, rows: list[Row], reason: str) -> None:
        super().__init__(reason)
        self.rows = rows


def fail_on(rows: list[Row], *fields: str) -> None:
    """Raise BenchFailed when a row has a non-zero value in one of `fields`
    (KEFU_BENCH_STRICT=0: warn instead)."""
    failed = [r for r in rows if any(r.get(f) for f in fields)]
    if not failed:
        return
    if os.environ.get("KEFU_BENCH_STRICT", "1") != "0":
        names = ", ".join(str(r["name"]) for r in failed)
        raise BenchFailed(rows, f"{names}: non-zero {' or '.join(fields)}")
    print(f"WARNING (KEFU_BENCH_STRICT=0): errors: {json.dumps(failed)}", file=sys.stderr)


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)


# --- the signed message webhook ---------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    # Same as kefu.integrations.signing.sign; that module needs Django set up and the bench's
    # parent process never sets Django up (each backend lives in its own subprocesses).
    content = str(timestamp).encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), content, hashlib.sha256).hexdigest()


def inbound_body(external_id: str, buyer: str, entry_point: str, text: str) -> bytes:
    doc = {
        "external_id": external_id,
        "buyer": {"external_id": buyer, "name": f"买家{buyer}", "language": "zh", "country": "CN"},
        "entry_point": entry_point,
        "text": text,
    }
    return json.dumps(doc, ensure_ascii=False).encode()


def webhook_headers(slug: str, secret: str, body: bytes) -> dict[str, str]:
    now = int(time.time())
    return {
        "Content-Type": "application/json",
        "X-Kefu-Shop": slug,
        "X-Kefu-Timestamp": str(now),
        "X-Kefu-Signature": sign(secret, body, now),
    }


# --- helper subprocesses (Django set up on the backend's database) ----------------------------


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()


def helper_main(commands: Mapping[str, Callable[..., Row]], argv: list[str]) -> int:
    """The child side of `Backend.helper`: `python -m bench.bench_X COMMAND ARG...`."""
    if not argv or argv[0] not in commands:
        raise SystemExit(f"helper command is one of {', '.join(commands)}; got {argv[:1]}")
    setup_django()
    out = commands[argv[0]](*argv[1:])
    print("RESULT " + json.dumps(out, ensure_ascii=False))
    return 0


def bench_shop(slug: str, name: str, **options: str) -> CreatedShop:
    """A Tmall shop in CNY and its owner (password BENCH_PASSWORD) unless `options` say else;
    in a helper, with Django set up."""
    from kefu.accounts.services import create_shop

    options = {"platform": "tmall", "currency": "CNY", **options}
    return create_shop(name=name, slug=slug, owner_password=BENCH_PASSWORD, **options)


class Backend:
    """One backend's environment: a fresh KEFU_DATA_DIR and, for PostgreSQL, its database."""

    def __init__(self, label: str, bench: str, tmp: Path) -> None:
        if label not in BACKENDS:
            raise ValueError(f"unknown backend {label!r}; known: {', '.join(BACKENDS)}")
        self.label = label
        self.web_processes = BACKENDS[label]
        self.tmp = tmp
        # KEFU_BENCH_DB_SUFFIX: a database of one's own when several people bench at once.
        suffix = os.environ.get("KEFU_BENCH_DB_SUFFIX", "")
        self.database = f"kefu_bench_{bench}{suffix}" if self.on_postgres else None
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("KEFU_", "DJANGO_"))}
        # The bench's own knobs reach its helpers; the caller's database and Redis do not.
        self.env.update({k: v for k, v in os.environ.items() if k.startswith("KEFU_BENCH_")})
        self.env.update(
            {
                "DJANGO_SETTINGS_MODULE": "kefu.settings",
                "KEFU_DATA_DIR": str(tmp),
                # Bench sockets send no heartbeats: their agents stay online for the run.
                "KEFU_PRESENCE_GRACE_SECONDS": "86400",
                "KEFU_ALLOWED_HOSTS": "127.0.0.1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.database:
            self.env["KEFU_DATABASE_URL"] = f"{PG_ADMIN_URL}/{self.database}"
            self.env["KEFU_REDIS_URL"] = REDIS_URL

    @property
    def on_postgres(self) -> bool:
        return self.label.startswith("postgres")

    def run(self, command: list[str], what: str, timeout: float) -> str:
        proc = subprocess.run(
            command,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        return proc.stdout

    def kefu(self, *args: str, timeout: float = 300) -> None:
        self.run([KEFU, *args], f"kefu {' '.join(args)}", timeout)

    def helper(self, module: str, *args: str, timeout: float = 300) -> Row:
        """Run `python -m MODULE ARGS` (see helper_main) on this backend; its RESULT dict."""
        out = self.run([PYTHON, "-m", module, *args], f"{module} {' '.join(args)}", timeout)
        line = next(x for x in reversed(out.splitlines()) if x.startswith("RESULT "))
        return dict(json.loads(line[len("RESULT ") :]))


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", f"{PG_ADMIN_URL}/postgres", "-v", "ON_ERROR_STOP=1", "-qAtc", sql],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        client.flushdb()
    finally:
        client.close()


@contextlib.contextmanager
def open_backend(label: str, bench: str) -> Iterator[Backend]:
    """A migrated, empty backend for `bench`; its database, Redis and files go afterwards."""
    backend = Backend(label, bench, Path(tempfile.mkdtemp(prefix=f"kefu-bench-{bench}-{label}-")))
    try:
        if backend.database:
            _psql(f"DROP DATABASE IF EXISTS {backend.database} WITH (FORCE)")
            _psql(f"CREATE DATABASE {backend.database}")
            _flush_redis()
        started = time.perf_counter()
        backend.kefu("migrate")
        took = time.perf_counter() - started
        print(f"[{bench} {label}] migrated in {took:.1f}s", file=sys.stderr)
        yield backend
    finally:
        if backend.database:
            with contextlib.suppress(Exception):
                _psql(f"DROP DATABASE IF EXISTS {backend.database} WITH (FORCE)")
            with contextlib.suppress(Exception):
                _flush_redis()
        shutil.rmtree(backend.tmp, ignore_errors=True)


def selected_backends(supported: tuple[str, ...]) -> list[str]:
    """The backends of KEFU_BENCH_BACKENDS (default: all) that a bench supports, in its order."""
    wanted = os.environ.get("KEFU_BENCH_BACKENDS", "")
    names = [b.strip() for b in wanted.split(",") if b.strip()] or list(supported)
    unknown = [b for b in names if b not in BACKENDS]
    if unknown:
        raise ValueError(f"unknown backend {', '.join(unknown)}; known: {', '.join(BACKENDS)}")
    return [b for b in supported if b in names]


# --- the server ---------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports of 127.0.0.1. All are held open until every one is chosen:
    a port closed before the next is asked for can be handed out again, and two servers told
    the same port answer for each other."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            s = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            s.bind(("127.0.0.1", 0))
            ports.append(int(s.getsockname()[1]))
        return ports


class Server:
    """`kefu run --no-worker` on a free port of 127.0.0.1, as a context manager; with
    `worker=True` its worker and beat too, so queued webhooks are stored as in production."""

    def __init__(self, backend: Backend, *, worker: bool = False) -> None:
        self.backend = backend
        self.worker = worker
        self.port, self.intake_port = free_ports(2)
        self.base = f"http://127.0.0.1:{self.port}"
        self.ws_base = f"ws://127.0.0.1:{self.port}"
        # KEFU_BENCH_INTAKE_WSGI=1: also the WSGI intake server (`--intake-port`, decisions
        # §48); `intake_base` is where signed webhooks go (the ASGI server without it).
        if os.environ.get("KEFU_BENCH_INTAKE_WSGI") != "1":
            self.intake_port = 0
        self.intake_base = f"http://127.0.0.1:{self.intake_port}" if self.intake_port else self.base
        self.log_path = backend.tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            print(f"[{self.backend.label}] server log tail:\n{self.tail()}", file=sys.stderr)
        self.stop()

    def start(self, timeout: float = 90) -> None:
        import httpx

        self.log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            [
                KEFU,
                "run",
                *([] if self.worker else ["--no-worker"]),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--web-processes",
                str(self.backend.web_processes),
                *(["--intake-port", str(self.intake_port)] if self.intake_port else []),
            ],
            cwd=ROOT,
            env=self.backend.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if all(
                    httpx.get(f"{base}/healthz", timeout=5).status_code == 200
                    for base in {self.base, self.intake_base}
                ):
                    return
            time.sleep(0.3)
        raise RuntimeError(f"server not healthy in {timeout}s:\n{self.tail()}")

    def tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()  # `kefu run` terminates its uvicorn child on SIGTERM
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # The process group this bench started with start_new_session.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()
        self.proc = None


class PgConnections:
    """Samples how many connections the bench database holds, on a connection of its own."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.peak = 0
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        import psycopg

        # Opened before the server starts, so queries still work when the server has taken
        # every connection PostgreSQL allows.
        with psycopg.connect(f"{PG_ADMIN_URL}/{self.database}", autocommit=True) as conn:
            self.conn = conn
            self._ready.set()
            while not self._stop.wait(0.2):
                count = self.scalar(
                    "SELECT count(*) - 1 FROM pg_stat_activity WHERE datname = %s",
                    (self.database,),
                )
                self.peak = max(self.peak, count)

    def scalar(self, sql: str, params: tuple[Any, ...]) -> int:
        self._ready.wait(10)
        with self._lock:
            row = self.conn.execute(sql, params).fetchone()
        return int(row[0]) if row else -1

    def take(self) -> int:
        peak, self.peak = self.peak, 0
        return peak

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


# --- CPU by component -------------------------------------------------------------------------


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of one process (all its threads, not its children)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(parent, []).append(int(entry))
    return children


def descendants(root: int) -> list[int]:
    """Every process below `root` (not `root` itself)."""
    children, out, todo = _children_map(), [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def pg_backends(database: str) -> list[int]:
    """The PostgreSQL backends serving `database` (their process titles say so)."""
    return [
        pid
        for pid in (int(e) for e in os.listdir("/proc") if e.isdigit())
        if (title := cmdline(pid)).startswith("postgres: ") and f" {database} " in title
    ]


def machine_busy() -> tuple[float, float, float]:
    """(busy, all, steal) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already in user
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick, fields[7] / tick


class CpuWatch:
    """CPU seconds spent by groups of processes over a stretch of time, sampled every 0.25 s.

    `groups` maps a name to a function returning the group's pids now; a process that starts
    during the watch counts from 0, one that ends counts to its last sample (at most 0.25 s
    of it is missed). `stop()` returns {name: seconds} and the machine's busy share."""

    def __init__(self, groups: Mapping[str, Callable[[], Sequence[int]]]) -> None:
        self.groups = groups
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self._stop = threading.Event()
        self._sample(initial=True)
        self.machine_start = machine_busy()
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _sample(self, *, initial: bool = False) -> None:
        for name, pids in self.groups.items():
            try:
                found = pids()
            except OSError:
                continue
            for pid in found:
                try:
                    cpu = process_cpu(pid)
                except (OSError, ValueError, IndexError):
                    continue
                key = (name, pid)
                if key not in self.first:
                    self.first[key] = cpu if initial else 0.0
                self.last[key] = cpu

    def _loop(self) -> None:
        while not self._stop.wait(0.25):
            self._sample()

    def stop(self) -> Row:
        self._stop.set()
        self._thread.join(timeout=5)
        self._sample()
        busy, total, steal = machine_busy()
        seconds = time.monotonic() - self.started
        out: Row = {name: 0.0 for name in self.groups}
        for key, cpu in self.last.items():
            out[key[0]] += cpu - self.first[key]
        machine = busy - self.machine_start[0]
        return {
            "seconds": round(seconds, 2),
            **{f"{k}_cpu_s": round(v, 2) for k, v in out.items()},
            "machine_busy_cpu_s": round(machine, 2),
            "machine_busy_share": round(machine / max(total - self.machine_start[1], 1e-9), 3),
            # Time the hypervisor gave another guest while this one wanted the CPU.
            "machine_steal_cpu_s": round(steal - self.machine_start[2], 2),
        }


# --- results ------------------------------------------------------------------------------------


def write_result(bench: str, backend: str | None, rows: list[Row], started: float) -> Path:
    """bench/results/<bench>-<backend>.json (<bench>.json when no database is involved)."""
    # A smoke run (--quick) must not overwrite the measured results kept in git.
    folder = RESULTS / "quick" if os.environ.get("KEFU_BENCH_QUICK") == "1" else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "benchmark": bench,
        **({"backend": backend} if backend else {}),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 2),
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "rows": rows,
    }
    path = folder / (f"{bench}-{backend}.json" if backend else f"{bench}.json")
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    print(f"\n== {bench} {backend or ''} ({doc['seconds']} s) -> {path.relative_to(ROOT)}")
    for row in rows:
        fields = "  ".join(f"{k}={v}" for k, v in row.items() if k != "name")
        print(f"  {row['name']:<40} {fields}")
    return path
