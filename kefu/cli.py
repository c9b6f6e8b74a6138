"""The `kefu` command: imports, accounts, metrics, compliance checks, serving.

Each domain contributes its sub-commands from its own `cli.py` through `register(subparsers)`;
a command handler raises `CommandError` for bad input, which exits 2 with one line on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

Handler = Callable[[argparse.Namespace], int | None]


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")
    import django

    django.setup()
    from django.core.management.base import CommandError
    from django.utils import translation

    # The domains' commands load their models: only now that Django is set up.
    from kefu.commands import build_parser

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
