"""The installed `kefu` command starts in a fresh interpreter, as a seller runs it.

Tests inside pytest run with Django already set up, so an import-order mistake in the entry
point (loading models before `django.setup()`) would pass them and still break every command.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.migrated import KEFU, embedded_env, migrated_sqlite


def _kefu(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    # The embedded defaults in a directory of the test's own: never the suite's databases.
    return subprocess.run(  # noqa: S603 - our own command
        [str(KEFU), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=embedded_env(data_dir),
        check=False,
    )


def test_kefu_help_lists_every_domain_command(tmp_path):
    result = _kefu("--help", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    for command in ("run", "migrate", "shop", "agent", "demo", "import", "metrics", "compliance"):
        assert command in result.stdout


def test_kefu_import_help_lists_orders_before_messages(tmp_path):
    result = _kefu("import", "--help", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.index("orders") < result.stdout.index("messages")


def test_a_command_that_reaches_the_database_runs(tmp_path):
    migrated_sqlite(tmp_path, os.environ)
    assert _kefu("migrate", data_dir=tmp_path).returncode == 0  # nothing left to apply

    result = _kefu("import", "orders", str(tmp_path / "x.csv"), "--shop", "nope", data_dir=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == "kefu: error: no shop with slug 'nope'"
