"""The `kefu` command line: every domain's sub-commands in one parser.

Importing this module loads the domains' models, so `kefu.cli.main` imports it only once
Django is set up.
"""

from __future__ import annotations

import argparse
from types import ModuleType

from kefu.accounts import cli as accounts_cli
from kefu.automation import cli as automation_cli
from kefu.care import cli as care_cli
from kefu.catalog import cli as catalog_cli
from kefu.compliance import cli as compliance_cli
from kefu.conversations import cli as conversations_cli
from kefu.core import cli as core_cli
from kefu.demo import cli as demo_cli
from kefu.desk import cli as desk_cli
from kefu.metrics import cli as metrics_cli
from kefu.orders import cli as orders_cli

# Each module's `register(subparsers)` adds its commands, in this order in `kefu --help`.
COMMAND_MODULES: tuple[ModuleType, ...] = (
    core_cli,
    accounts_cli,
    demo_cli,
    orders_cli,
    catalog_cli,  # after orders: it adds `kefu import products` to orders' group
    care_cli,  # after catalog: `kefu import reviews`
    conversations_cli,  # after orders: `kefu import` lists orders before messages
    desk_cli,  # `kefu intake-worker` after `kefu intake`
    automation_cli,
    compliance_cli,
    metrics_cli,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kefu", description="Kefu customer-service workbench")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser
