"""`kefu run` keeps the shop up: a web or worker process that dies is started again and the
service answers /healthz within seconds, without anyone touching it (issue 10 item 4)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

KEFU = Path(sys.executable).with_name("kefu")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _wait(predicate, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.25)
    return False


def _child(parent: int, marker: str) -> int:
    out = subprocess.run(  # noqa: S603
        ["/usr/bin/pgrep", "-P", str(parent), "-f", marker],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return int(out[0]) if out else 0


@pytest.fixture
def served(tmp_path):
    drop = ("DJANGO_SETTINGS_MODULE", "KEFU_DATABASE_URL", "KEFU_REDIS_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["KEFU_DATA_DIR"] = str(tmp_path)
    subprocess.run([str(KEFU), "migrate"], env=env, check=True, capture_output=True)  # noqa: S603
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603
        [str(KEFU), "run", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait(lambda: _healthy(port), 60), "kefu run never became healthy"
        yield proc, port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.slow
def test_killed_web_and_worker_are_started_again(served):
    proc, port = served
    web = _child(proc.pid, "uvicorn")
    worker = _child(proc.pid, "celery -A kefu worker")
    assert web and worker

    os.kill(web, signal.SIGKILL)
    assert _wait(lambda: _healthy(port) and _child(proc.pid, "uvicorn") not in (0, web), 10)

    os.kill(worker, signal.SIGKILL)
    assert _wait(lambda: _child(proc.pid, "celery -A kefu worker") not in (0, worker), 10)
    assert proc.poll() is None  # the supervisor itself never stopped
    assert _healthy(port)
