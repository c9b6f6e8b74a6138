"""The webhook sender in C: Debian's `wrk` driven by bench/intake_wrk.lua (decisions §82).

On the 2-core bench machine the sender shares the cores with the server, PostgreSQL and the
workers, so every millisecond of CPU it spends per request comes out of the measured rate.
The Python sender (processes of `http.client` threads) signs and sends each request itself;
here the bench signs every request before the run and wrk only writes the bytes and reads the
answers. What counts is unchanged: the Lua script writes one line per attempt (message
index, HTTP status, microseconds), so the bench still knows which messages were answered 2xx.

`make bench` installs wrk (the `loadgen` target).
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

SCRIPT = Path(__file__).with_name("intake_wrk.lua")
WRK = "wrk"
# Each thread's requests are read by the script before its connection opens.
REQUESTS_NAME = "req.{}"
RESULTS_NAME = "out.{}"


def available() -> bool:
    return shutil.which(WRK) is not None


def raw_request(base: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    """The bytes `http.client` writes for `connection.request("POST", path, body, headers)`
    on a connection to `base`: the same request line and header lines, in the same order."""
    url = urlsplit(base)
    host = url.hostname or "127.0.0.1"
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{url.port}" if url.port else f"Host: {host}",
        "Accept-Encoding: identity",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def write_requests(folder: Path, requests: Sequence[bytes], threads: int) -> None:
    """Request i goes to thread i % threads, in order, as "INDEX LENGTH\\n" and the bytes."""
    for k in range(threads):
        with open(folder / REQUESTS_NAME.format(k), "wb") as out:
            for i in range(k, len(requests), threads):
                out.write(f"{i} {len(requests[i])}\n".encode())
                out.write(requests[i])


@dataclass
class Tally:
    """What the script's result lines say, message by message."""

    attempts: int = 0
    statuses: dict[int, int] = field(default_factory=dict)  # status -> attempts; 0 no answer
    acknowledged: set[int] = field(default_factory=set)  # indexes answered 2xx at least once
    latencies_ms: list[float] = field(default_factory=list)  # one per attempt, answered or not
    errors: int = 0  # attempts not answered 2xx

    def unanswered(self, n: int) -> list[int]:
        """Indexes of 0..n-1 never answered 2xx (not sent at all included)."""
        return [i for i in range(n) if i not in self.acknowledged]


def parse_results(lines: Iterable[str]) -> Tally:
    """The script's "INDEX STATUS MICROSECONDS" lines: a message is acknowledged when one of
    its attempts was answered 2xx; status 0 is a connection that failed before any answer."""
    tally = Tally()
    statuses: collections.Counter[int] = collections.Counter()
    for line in lines:
        if not line.strip():
            continue
        index_s, status_s, micros_s = line.split()
        index, status, micros = int(index_s), int(status_s), int(micros_s)
        tally.attempts += 1
        statuses[status] += 1
        tally.latencies_ms.append(micros / 1000)
        if 200 <= status <= 299:
            tally.acknowledged.add(index)
        else:
            tally.errors += 1
    tally.statuses = dict(statuses)
    return tally


@dataclass
class WrkRun:
    tally: Tally
    seconds: float  # from wrk's start until the last thread's last answer
    started_wall: float
    cpu_s: float  # wrk's utime + stime over the run
    prep_cpu_s: float  # the bench's own CPU writing the signed requests, before the run
    threads: int
    finished: bool  # every thread answered its last request before the limit
    wrk_summary: dict[str, Any]  # wrk's own report (its percentiles are corrected, see module)


def run(
    url: str,
    requests: Sequence[bytes],
    connections: int,
    limit_s: float,
    *,
    resend: bool = False,
    prep_cpu_s: float = 0.0,
) -> WrkRun:
    """Send `requests` (raw HTTP, already signed) to `url` over `connections` keep-alive
    connections, each once (resend: until answered 2xx), and count what was answered."""
    if not requests:
        raise ValueError("no requests to send")
    threads = max(1, min(connections, len(requests)))
    with tempfile.TemporaryDirectory(prefix="kefu-wrk-") as tmp:
        folder = Path(tmp)
        started_cpu = time.thread_time()
        write_requests(folder, requests, threads)
        prep_cpu_s += time.thread_time() - started_cpu
        command = [
            WRK,
            f"--threads={threads}",
            f"--connections={threads}",
            f"--duration={max(1, int(limit_s))}s",
            "--timeout=30s",
            f"--script={SCRIPT}",
            url,
            "--",
            str(folder),
            "1" if resend else "0",
        ]
        started_wall, started = time.time(), time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        results = [folder / RESULTS_NAME.format(k) for k in range(threads)]
        names = {p.name for p in results}
        finished = False
        ended = _reap(proc, block=False)
        while ended is None:
            # One directory read a look, 20 a second: this process's CPU is the sender's too.
            if names <= set(os.listdir(folder)):
                finished = True
                break
            time.sleep(0.05)
            ended = _reap(proc, block=False)
        seconds = time.perf_counter() - started
        if ended is None:
            # wrk sleeps out its whole --duration even when every thread has stopped; SIGINT
            # ends the sleep, and it prints its report and exits.
            proc.send_signal(signal.SIGINT)
            ended = _reap(proc, block=True)
        assert ended is not None
        cpu_s, returncode = ended
        out = proc.stdout.read() if proc.stdout else ""
        err = proc.stderr.read() if proc.stderr else ""
        if returncode != 0:
            raise RuntimeError(f"wrk failed ({returncode}): {err[-2000:]}")
        lines: list[str] = []
        for path in results:
            if path.exists():
                lines += path.read_text().splitlines()
        tally = parse_results(lines)
    return WrkRun(
        tally=tally,
        seconds=seconds,
        started_wall=started_wall,
        cpu_s=cpu_s,
        prep_cpu_s=prep_cpu_s,
        threads=threads,
        finished=finished,
        wrk_summary=_wrk_report(out),
    )


def _reap(proc: subprocess.Popen[str], *, block: bool) -> tuple[float, int] | None:
    """wrk's user + system CPU seconds (all its threads) and exit status once it has ended;
    None while it runs (block=False). wait4 rather than Popen.wait, for the CPU."""
    pid, status, usage = os.wait4(proc.pid, 0 if block else os.WNOHANG)
    if pid == 0:
        return None
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, proc.returncode


def _wrk_report(stdout: str) -> dict[str, Any]:
    """wrk's printed totals, kept beside the bench's own counts for a cross-check."""
    report: dict[str, Any] = {}
    for line in stdout.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            report["requests_per_s"] = float(words[1])
        elif "requests in" in line:
            report["requests"] = int(words[0])
        elif line.strip().startswith("Non-2xx or 3xx responses:"):
            report["non_2xx_3xx"] = int(words[-1])
        elif line.strip().startswith("Socket errors:"):
            report["socket_errors"] = line.strip()
        elif line.startswith("kefu-wrk "):
            for word in words[1:]:
                key, value = word.split("=")
                report[key] = int(value)
    return report
