"""The intake server's own CPU per single-message webhook, measured from outside.

`python -m bench.intake_http_cpu PORT SLUG SECRET SECONDS PIDS [LABEL]` sends pre-signed new
messages to `POST /api/v1/inbound/messages` of a running WSGI intake server (`kefu run
--intake-port`, or any WSGI server on `kefu.intake_wsgi`) from 2 client processes x 16 threads
with keep-alive connections (plain `http.client`: far cheaper per request than an asyncio client,
so the sender is not the limit on a shared 2-core machine), for SECONDS; PIDS are the
server's worker processes (comma-separated), whose user+system CPU time is read from /proc
before and after. One JSON row on stdout: answers per second, HTTP p50/p99, **server CPU ms
per request** (the figure that hardly moves with the machine's load) and the load average.
With `KEFU_BENCH_PG_DB=NAME` also the CPU of that database's PostgreSQL backends per request
(every backend of the database: run one server's load at a time).
Used for issue 15's HTTP side (decisions §60); the rows are in
bench/results/intake-http-cpu.json.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import sys
import threading
import time
from typing import Any

from bench import harness

PROCESSES = 2
THREADS = 16


def _server_cpu(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def _pg_backends(database: str) -> list[int]:
    """The PostgreSQL backends serving `database` (their titles say so)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                title = handle.read().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("postgres: ") and f" {database} " in title:
            pids.append(int(entry))
    return pids


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    out = {}
    for pid in pids:
        try:
            out[pid] = _server_cpu([pid])
        except OSError:
            continue
    return out


def _client(
    index: int, port: int, slug: str, secret: str, deadline: float, run: str, out: Any
) -> None:
    latencies: list[float] = []
    counts = {"sent": 0, "not_202": 0}
    lock = threading.Lock()

    def thread(tid: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = 0
        while time.time() < deadline:
            n += 1
            buyer = f"b{(index * 97 + tid * 13 + n) % 500}"
            body = harness.inbound_body(
                f"cpu-{run}-{index}-{tid}-{n}", buyer, "product_page", harness.TEXTS[n % 5]
            )
            headers = {
                "Content-Type": "application/json",
                **harness.webhook_headers(slug, secret, body),
            }
            started = time.perf_counter()
            connection.request("POST", "/api/v1/inbound/messages", body, headers)
            answer = connection.getresponse()
            answer.read()
            took = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(took)
                counts["sent"] += 1
                counts["not_202"] += answer.status != 202

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((counts, latencies))


def main(argv: list[str]) -> int:
    port, slug, secret, seconds, pids = argv[:5]
    label = argv[5] if len(argv) > 5 else ""
    server = [int(p) for p in pids.split(",")]
    run = str(int(time.time()))
    out: Any = mp.Queue()
    deadline = time.time() + float(seconds)
    load = harness.loadavg()
    database = os.environ.get("KEFU_BENCH_PG_DB", "")
    pg_before = _cpu_by_pid(_pg_backends(database)) if database else {}
    cpu_before, started = _server_cpu(server), time.time()
    clients = [
        mp.Process(target=_client, args=(i, int(port), slug, secret, deadline, run, out))
        for i in range(PROCESSES)
    ]
    for c in clients:
        c.start()
    results = [out.get() for _ in clients]
    for c in clients:
        c.join()
    elapsed, cpu = time.time() - started, _server_cpu(server) - cpu_before
    pg_after = _cpu_by_pid(_pg_backends(database)) if database else {}
    pg_cpu = sum(t - pg_before.get(pid, 0.0) for pid, t in pg_after.items())
    sent = sum(r[0]["sent"] for r in results)
    latencies = [x for r in results for x in r[1]]
    row = {
        "name": f"intake_http_cpu {label}".strip(),
        "seconds": round(elapsed, 1),
        "requests": sent,
        "not_202": sum(r[0]["not_202"] for r in results),
        "answered_per_s": round(sent / elapsed, 1),
        **harness.summary(latencies),
        "server_cpu_ms_per_request": round(1000 * cpu / max(sent, 1), 2),
        **(
            {"postgres_cpu_ms_per_request": round(1000 * pg_cpu / max(sent, 1), 2)}
            if database
            else {}
        ),
        "loadavg_1m_before": load,
        "loadavg_1m_after": harness.loadavg(),
    }
    print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
