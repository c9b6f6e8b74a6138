"""`kefu run` refuses settings that would serve sockets deaf to other processes' messages."""

from __future__ import annotations

import pytest

from kefu.cli import main


@pytest.mark.parametrize("processes", ["0", "65"])
def test_web_processes_out_of_range_exit_2(capsys, processes):
    assert main(["run", "--web-processes", processes]) == 2
    assert "1 to 64" in capsys.readouterr().err


def test_several_web_processes_need_redis(settings, capsys, monkeypatch):
    settings.REDIS_URL = ""
    started: list[object] = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a))

    assert main(["run", "--web-processes", "2"]) == 2

    assert capsys.readouterr().err.strip() == (
        "kefu run: --web-processes above 1 needs KEFU_REDIS_URL"
    )
    assert started == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "kefu.example.com"])  # noqa: S104
def test_serving_beyond_this_machine_needs_a_configured_key(settings, capsys, monkeypatch, host):
    settings.SECRET_KEY_CONFIGURED = False
    started: list[object] = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a))

    assert main(["run", "--host", host]) == 2

    err = capsys.readouterr().err.strip()
    assert err.startswith(f"kefu run: serving on {host} needs KEFU_SECRET_KEY")
    assert started == []


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (["--port", "8000", "--intake-port", "8000"], "--intake-port is a port of its own"),
        (["--intake-port", "8001", "--intake-threads", "-1"], "--intake-processes is 1 to 64"),
        (["--intake-port", "8001", "--intake-processes", "2"], "needs KEFU_REDIS_URL"),
    ],
)
def test_bad_intake_server_options_exit_2(settings, capsys, monkeypatch, args, refusal):
    settings.REDIS_URL = ""
    started: list[object] = []
    monkeypatch.setattr("subprocess.Popen", lambda *a, **k: started.append(a))

    assert main(["run", *args]) == 2

    assert refusal in capsys.readouterr().err
    assert started == []


@pytest.mark.parametrize("poll", [0.05, 0.0])
def test_the_intake_worker_polls_on_sqlite_and_is_celery_with_kicks(settings, monkeypatch, poll):
    """SQLite (KEFU_INTAKE_POLL_SECONDS above 0): `kefu intake-worker`, 32 intake threads;
    with kicks (PostgreSQL + Redis): the Celery intake worker (decisions §62)."""
    import kefu.core.cli as core_cli

    settings.KEFU_INTAKE_POLL_SECONDS = poll
    settings.REDIS_URL = ""
    children: list[object] = []
    monkeypatch.setattr(core_cli, "call_command", lambda *a, **k: None)
    monkeypatch.setattr(core_cli, "supervise", lambda kids, should_stop: children.extend(kids))

    assert main(["run", "--no-worker"]) == 0
    assert children and all(c.name == "web" for c in children)  # type: ignore[attr-defined]
    children.clear()
    assert main(["run", "--intake-port", "8001"]) == 0

    commands = {c.name: c.command for c in children}  # type: ignore[attr-defined]
    intake = " ".join(commands["intake"])
    if poll:
        assert intake.endswith("-m kefu.cli intake-worker")
    else:
        assert "celery -A kefu worker --hostname intake@%h" in intake
    web = commands["intake-web"]
    assert web[web.index("--blocking-threads") + 1] == "32"
