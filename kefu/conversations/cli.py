"""`kefu import messages FILE --shop SLUG`: import message history from JSONL.
`kefu intake`: the intake queue's backlog, for operators watching a peak.

The figures of the imported days are brought up to date before the command returns.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from typing import Any

from django.core.management.base import CommandError

from kefu.orders.cli import EXIT_ROWS_REJECTED, import_group


def register(sub: Any) -> None:
    group = import_group(sub)
    messages = group.add_parser(
        "messages",
        help="import message history (JSONL) for the metrics",
        description="One JSON object per line: external_id, buyer_external_id, direction "
        "(buyer|agent|auto), agent (login, for agent messages), sent_at (ISO-8601 with "
        "offset), text, optional entry_point and conversation_external_id. Idempotent on "
        "external_id; bad lines are reported and skipped (exit code 3).",
    )
    messages.add_argument("file", help="the JSONL file")
    messages.add_argument("--shop", required=True, help="the shop's slug")
    messages.add_argument("--quiet", action="store_true", help="no progress on stderr")
    messages.set_defaults(handler=run_import_messages)
    intake = sub.add_parser(
        "intake",
        help="the intake queue: messages waiting, failed, and the oldest one's age",
        description="Buyer messages the webhook answered 202 and the intake worker has not "
        "stored yet. Exit code 1 when a message failed five times and waits for an operator.",
    )
    intake.add_argument("--json", action="store_true", help="machine-readable output")
    intake.set_defaults(handler=run_intake_status)


def run_intake_status(args: argparse.Namespace) -> int:
    from kefu.conversations.intake_queue import queue_state

    state = queue_state()
    if args.json:
        print(json.dumps(dataclasses.asdict(state)))
    else:
        age = "-" if state.oldest_age_seconds is None else f"{state.oldest_age_seconds:.1f} s"
        print(f"waiting {state.waiting}  failed {state.failed}  oldest waiting {age}")
    return 1 if state.failed else 0


def _shop(slug: str) -> Any:
    from kefu.accounts.selectors import shop_by_slug

    shop = shop_by_slug(slug)
    if shop is None:
        raise CommandError(f"no shop with slug {slug!r}")
    return shop


def run_import_messages(args: argparse.Namespace) -> int:
    from kefu.conversations.history_import import (
        ImportFileError,
        MessageImportSummary,
        import_messages,
    )

    shop = _shop(args.shop)
    last = [0.0]

    def progress(done: int, total: int, summary: MessageImportSummary) -> None:
        now = time.monotonic()
        if args.quiet or (now - last[0] < 0.2 and done < total):
            return
        last[0] = now
        share = done / total if total else 1.0
        sys.stderr.write(
            f"\r{share:4.0%}  lines {summary.lines}  created {summary.created}  "
            f"duplicates {summary.duplicates}  rejected {summary.rejected}"
        )
        sys.stderr.flush()

    try:
        summary = import_messages(shop=shop, path=args.file, progress=progress)
    except ImportFileError as exc:
        raise CommandError(str(exc)) from exc
    if not args.quiet:
        sys.stderr.write("\n")
    print(
        f"{args.file}: {summary.lines} lines -> created {summary.created}, "
        f"skipped duplicates {summary.duplicates}, rejected {summary.rejected} "
        f"({summary.buyers_created} new buyers, "
        f"{summary.conversations_created} new conversations)"
    )
    if summary.ignored_fields:
        print("ignored fields: " + ", ".join(summary.ignored_fields))
    for note in summary.notes:
        print(note)
    for line, reason in summary.rejections:
        print(f"  line {line}: {reason}")
    if summary.rejected > len(summary.rejections):
        print(f"  … and {summary.rejected - len(summary.rejections)} more rejected lines")
    return EXIT_ROWS_REJECTED if summary.rejected else 0
