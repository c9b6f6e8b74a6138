"""The bench's C load generator (bench/wrk_sender.py + bench/intake_wrk.lua, decisions §82):
which messages count as acknowledged, and that the Lua script sends each request exactly as
prepared, once, and reports every attempt, against a real HTTP server that answers some
requests 500 and drops the connection on others."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import wrk_sender
from bench.harness import webhook_headers

PATH = "/api/v1/inbound/messages"


def test_a_message_counts_as_acknowledged_once_any_attempt_was_answered_2xx():
    tally = wrk_sender.parse_results(
        [
            "0 202 1500",  # answered
            "1 500 900",  # refused, then resent and answered
            "1 202 1100",
            "2 0 30000",  # the connection closed before an answer
            "3 302 400",  # a redirect is not an acknowledgement
            "4 201 800",
            "",
        ]
    )
    assert tally.acknowledged == {0, 1, 4}
    assert tally.attempts == 6
    assert tally.errors == 3
    assert tally.statuses == {202: 2, 500: 1, 0: 1, 302: 1, 201: 1}
    assert tally.latencies_ms == [1.5, 0.9, 1.1, 30.0, 0.4, 0.8]
    assert tally.unanswered(6) == [2, 3, 5]


def test_a_malformed_result_line_is_refused():
    with pytest.raises(ValueError, match="values to unpack"):
        wrk_sender.parse_results(["7 202"])


def test_the_raw_request_is_what_http_client_writes():
    body = '{"text": "你好"}'.encode()
    headers = webhook_headers("shop", "secret", body)
    raw = wrk_sender.raw_request("http://127.0.0.1:8123", PATH, headers, body)
    head, sent_body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    assert lines[:4] == [
        f"POST {PATH} HTTP/1.1",
        "Host: 127.0.0.1:8123",
        "Accept-Encoding: identity",
        f"Content-Length: {len(body)}",
    ]
    assert lines[4:] == [f"{k}: {v}" for k, v in headers.items()]
    assert sent_body == body


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.received: list[tuple[int, dict[str, str]]] = []
        self.seen: set[int] = set()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the intake server
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        n = json.loads(body)["n"]
        with self.server.lock:
            first = n not in self.server.seen
            self.server.seen.add(n)
            self.server.received.append((n, dict(self.headers)))
        if first and n % 5 == 2:
            self.close_connection = True  # dropped without an answer
            return
        status = 500 if first and n % 5 == 1 else 202
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _requests(srv: _Server, n: int) -> list[bytes]:
    base = f"http://127.0.0.1:{srv.server_address[1]}"
    out = []
    for i in range(n):
        body = json.dumps({"n": i}).encode()
        out.append(wrk_sender.raw_request(base, PATH, webhook_headers("s", "k", body), body))
    return out


def test_wrk_sends_each_request_once_and_reports_every_answer(server):
    n = 40
    url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    run = wrk_sender.run(url, _requests(server, n), connections=4, limit_s=30)
    assert run.finished
    # Nothing extra reached the server: not wrk's own check of the first request, not a
    # request after a thread's last.
    assert sorted(n for n, _ in server.received) == list(range(n))
    assert all(h["X-Kefu-Shop"] == "s" and h["X-Kefu-Signature"] for _, h in server.received)
    assert run.tally.acknowledged == {i for i in range(n) if i % 5 not in (1, 2)}
    assert run.tally.statuses == {202: 24, 500: 8, 0: 8}
    assert run.tally.attempts == n
    assert run.cpu_s >= 0 and run.wrk_summary["requests"] == 32


def test_wrk_resends_what_got_no_2xx_when_asked(server):
    n = 40
    url = f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    run = wrk_sender.run(url, _requests(server, n), connections=4, limit_s=30, resend=True)
    assert run.finished
    assert run.tally.acknowledged == set(range(n))
    # The 16 refused or dropped the first time went once more each, and nothing else did.
    received = sorted(n for n, _ in server.received)
    assert received == sorted(list(range(n)) + [i for i in range(n) if i % 5 in (1, 2)])
    assert run.tally.statuses == {202: 40, 500: 8, 0: 8}
