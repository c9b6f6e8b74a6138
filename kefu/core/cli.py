"""`kefu migrate`, `kefu run` (web + worker + beat) and `kefu manage` (Django commands)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management import call_command

from kefu.core.supervisor import Child, supervise, until_signalled


def register(sub: Any) -> None:
    migrate = sub.add_parser("migrate", help="create or update the database tables")
    migrate.set_defaults(handler=_migrate)

    run = sub.add_parser("run", help="serve the workbench with its Celery worker and beat")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--no-worker", action="store_true", help="serve HTTP/WebSocket only")
    run.add_argument(
        "--web-processes",
        type=int,
        default=1,
        metavar="N",
        help="web processes sharing the port (needs KEFU_REDIS_URL: sockets of one process "
        "hear events of the others only through Redis)",
    )
    run.add_argument(
        "--intake-port",
        type=int,
        default=0,
        metavar="PORT",
        help="also serve the signed webhooks on this port with the WSGI intake server "
        "(granian, threads; decisions §48, §81); the main port keeps pages, API and sockets",
    )
    run.add_argument(
        "--intake-processes",
        type=int,
        default=0,
        metavar="N",
        help="intake server processes (default: one per core with KEFU_REDIS_URL, else 1)",
    )
    run.add_argument(
        "--intake-threads",
        type=int,
        default=0,
        metavar="N",
        help="threads per intake process, each with its own database connection (default 8 "
        "with KEFU_REDIS_URL, else 32: on SQLite the waiting threads' INSERTs share one "
        "transaction, so more threads make bigger groups)",
    )
    run.set_defaults(handler=_run)

    manage = sub.add_parser("manage", help="run a Django management command")
    manage.add_argument("args", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=_manage)


def _migrate(args: argparse.Namespace) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    print("database ready:", settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1])
    return 0


def _manage(args: argparse.Namespace) -> int:
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kefu manage", *args.args])
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _default_intake_workers() -> str:
    from django.db import connection

    return "2" if connection.vendor == "postgresql" else "1"


def _intake_command(args: argparse.Namespace) -> list[str] | str:
    """The WSGI intake server's command (empty without --intake-port), or why it is refused."""
    if not args.intake_port:
        return []
    if args.intake_port == args.port or not 1 <= args.intake_port <= 65535:
        return "--intake-port is a port of its own (1 to 65535, not --port)"
    processes = args.intake_processes or ((os.cpu_count() or 1) if settings.REDIS_URL else 1)
    # SQLite: one process, whose waiting threads insert in one group transaction while the
    # intake worker holds the lock (decisions §62): the threads are the group's size.
    threads = args.intake_threads or (8 if settings.REDIS_URL else 32)
    if not 1 <= processes <= 64 or not 1 <= threads <= 256:
        return "--intake-processes is 1 to 64 and --intake-threads 1 to 256"
    if processes > 1 and not settings.REDIS_URL:
        # Rate-limit counters live in each process's memory without Redis (decisions §26).
        return "--intake-processes above 1 needs KEFU_REDIS_URL"
    # granian (decisions §81): its HTTP handling is Rust, where gunicorn's pure-Python parsing
    # was a fifth of the intake server's CPU per webhook.
    return [
        sys.executable,
        "-m",
        # granian's own command line, after the application is imported in its main process,
        # so that a worker it starts again is up in well under a second (decisions §107).
        "kefu.intake_granian",
        "kefu.intake_wsgi:served_application",
        "--factory",
        "--interface",
        "wsgi",
        "--host",
        args.host,
        "--port",
        str(args.intake_port),
        "--workers",
        str(processes),
        # The WSGI application's threads per process; one Rust I/O thread beside them.
        "--blocking-threads",
        str(threads),
        "--runtime-threads",
        "1",
        # granian ends a thread idle this long (its most, 10 minutes); the thread's database
        # connections close with it (kefu.intake_wsgi.served_application).
        "--blocking-threads-idle-timeout",
        "600",
        "--http",
        "1",
        "--no-ws",
        # A worker that dies (kill -9, out of memory) is started again by granian's main
        # process after a second, its socket's share taken by the others meanwhile; should
        # granian's main process give up (a worker dying again within 5.5 s of its respawn),
        # `kefu run`'s supervision starts the whole server again.
        "--respawn-failed-workers",
        "--respawn-interval",
        "1",
        # On SIGTERM/SIGINT the workers finish what they serve for up to 20 s.
        "--workers-kill-timeout",
        "20",
        # granian passes no forwarded header into REMOTE_ADDR or the scheme: Kefu decides
        # which to believe (KEFU_TRUSTED_PROXIES). Keep-alive is on, idle connections closed
        # after granian's 30 s header read timeout.
        "--log-level",
        "error",
    ]


def _run(args: argparse.Namespace) -> int:
    if not 1 <= args.web_processes <= 64:
        print("kefu run: --web-processes is 1 to 64", file=sys.stderr)
        return 2
    if args.web_processes > 1 and not settings.REDIS_URL:
        # The embedded channel layer lives in one process: a second one would serve sockets
        # that never hear about messages taken in by the first.
        print("kefu run: --web-processes above 1 needs KEFU_REDIS_URL", file=sys.stderr)
        return 2
    if not _is_loopback(args.host) and not settings.SECRET_KEY_CONFIGURED:
        # The embedded key lives in a file on this machine: fine for trying Kefu locally,
        # not for serving buyers, whose widget identity is signed with it.
        print(
            f"kefu run: serving on {args.host} needs KEFU_SECRET_KEY "
            "(a long random value kept secret; see docs/operations.md)",
            file=sys.stderr,
        )
        return 2
    intake = _intake_command(args)
    if isinstance(intake, str):
        print(f"kefu run: {intake}", file=sys.stderr)
        return 2
    call_command("collectstatic", interactive=False, verbosity=0)
    python = sys.executable
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    commands = [
        [
            python,
            "-m",
            "uvicorn",
            "kefu.asgi:application",
            "--host",
            args.host,
            "--port",
            str(args.port),
            "--lifespan",
            "on",
            "--ws",
            "websockets",
            # Kefu decides which forwarded headers to believe (KEFU_TRUSTED_PROXIES); uvicorn
            # would otherwise take X-Forwarded-For from any local peer as the client.
            "--no-proxy-headers",
            *(["--workers", str(args.web_processes)] if args.web_processes > 1 else []),
        ],
    ]
    if not args.no_worker:
        commands += [
            [
                python,
                "-m",
                "celery",
                "-A",
                "kefu",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
                "--queues",
                "celery",
                "--without-gossip",
                "--without-mingle",
            ],
            [python, "-m", "celery", "-A", "kefu", "beat", "--loglevel", "INFO"],
            # Order imports have a worker of their own, one import at a time (decisions §27):
            # a shop's large file never holds up replies, deliveries or the other jobs.
            [
                python,
                "-m",
                "celery",
                "-A",
                "kefu",
                "worker",
                "--hostname",
                "imports@%h",
                "--loglevel",
                "INFO",
                "--concurrency",
                "1",
                "--queues",
                "imports",
                "--max-memory-per-child",
                "512000",
                "--without-gossip",
                "--without-mingle",
            ],
            # Queued buyer messages (decisions §42): lanes keep one buyer's messages on one
            # worker at a time. Two processes on PostgreSQL: the set-based batch writes the
            # agents' load counters once, in agent order, at its end (decisions §47); one on
            # SQLite, which has one writer anyway, and which polls the queue instead of
            # reading kicks from the broker's SQLite file (decisions §62).
            # KEFU_INTAKE_WORKERS for another count of Celery intake processes.
            [python, "-m", "kefu.cli", "intake-worker"]
            if settings.KEFU_INTAKE_POLL_SECONDS > 0
            else [
                python,
                "-m",
                "celery",
                "-A",
                "kefu",
                "worker",
                "--hostname",
                "intake@%h",
                "--loglevel",
                "INFO",
                "--concurrency",
                os.environ.get("KEFU_INTAKE_WORKERS", _default_intake_workers()),
                "--queues",
                "intake",
                "--without-gossip",
                "--without-mingle",
            ],
        ]
    names = ["web", "worker", "beat", "imports", "intake"]
    children = [Child(name, cmd, env) for name, cmd in zip(names, commands, strict=False)]
    if intake:
        children.append(Child("intake-web", intake, env))
    print(
        f"Kefu workbench on http://{args.host}:{args.port}/  "
        "(a process that stops is started again; Ctrl-C stops web, workers and beat)"
    )
    if intake:
        print(f"Signed webhooks also on http://{args.host}:{args.intake_port}/api/v1/inbound/")
    supervise(children, should_stop=until_signalled())
    return 0
