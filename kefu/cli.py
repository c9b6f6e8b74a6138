"""The `kefu` command: imports, accounts, metrics, compliance checks, serving.

Each domain contributes its sub-commands from its own `cli.py` through `register(subparsers)`;
a command handler raises `CommandError` for bad input, which exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from kefu.accounts import cli as accounts_cli
from kefu.automation import cli as automation_cli
from kefu.compliance import cli as compliance_cli
from kefu.conversations import cli as conversations_cli
from kefu.core import cli as core_cli
from kefu.demo import cli as demo_cli
from kefu.metrics import cli as metrics_cli
from kefu.orders import cli as orders_cli

# Each module's `register(subparsers)` adds its commands, in this order in `kefu --help`.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    core_cli,
    accounts_cli,
    demo_cli,
    orders_cli,
    conversations_cli,  # after orders: `kefu import` lists orders before messages
    automation_cli,
    compliance_cli,
    metrics_cli,
)

Handler = Callable[[argparse.Namespace], int | None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", description="Kefu customer-service workbench")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()
    from django.core.management.base import CommandError
    from django.utils import translation

    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        # The terminal speaks English (the UI's default is Chinese); pages follow each user.
        with translation.override("en"):
            return handler(args) or 0
    except CommandError as exc:
        print(f"kefu: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
