"""`kefu intake-worker`: the polling intake worker that `kefu run` starts on SQLite."""

from __future__ import annotations

import argparse
from typing import Any

from kefu.core.supervisor import until_signalled


def register(sub: Any) -> None:
    worker = sub.add_parser(
        "intake-worker",
        help="store, route and answer queued buyer messages, polling the queue (SQLite)",
        description="Drains the intake queue while messages wait and looks again every "
        "--poll seconds when it is empty; the web processes send it no kick. `kefu run` "
        "starts one on SQLite (KEFU_INTAKE_POLL_SECONDS above 0); SIGTERM stops it after "
        "its current batch.",
    )
    worker.add_argument(
        "--poll",
        type=float,
        default=None,
        help="seconds between looks at an empty queue (default KEFU_INTAKE_POLL_SECONDS)",
    )
    worker.set_defaults(handler=run_intake_worker)


def run_intake_worker(args: argparse.Namespace) -> int:
    from kefu.desk.intake_queue import work

    if args.poll is not None and args.poll <= 0:
        from django.core.management.base import CommandError

        raise CommandError("--poll is a number of seconds above 0")
    work(poll=args.poll, should_stop=until_signalled())
    return 0
