"""The `kefu` command: imports, accounts, metrics, compliance checks, serving.

Each domain contributes its sub-commands from its own `cli.py` through `register(subparsers)`;
a command handler raises `CommandError` for bad input, which exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from kefu.core.modules import optional_module

COMMAND_MODULES = (
    "kefu.core.cli",
    "kefu.accounts.cli",
    "kefu.demo.cli",
    "kefu.conversations.cli",
    "kefu.orders.cli",
    "kefu.automation.cli",
    "kefu.compliance.cli",
    "kefu.metrics.cli",
)

Handler = Callable[[argparse.Namespace], int | None]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", description="Kefu customer-service workbench")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        module = optional_module(name)
        if module is not None:
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
