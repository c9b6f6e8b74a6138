"""Migrated databases for tests that start `kefu` in a process of their own.

`kefu migrate` on an empty database replays every migration (~20–50 s on the 2-core machine,
most of it Django rendering model states), and several such tests each did it again. The
first caller of a run migrates a template once, with the real command; later callers get a
copy: the file for the embedded SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL. The
command itself is still what made the schema.

The suite's own test database is made the same way (pytest-django runs Django's `migrate`
command, in process), so when it has just been made on the same engine, it becomes the
template (`adopt_test_database`, from `tests/conftest.py`) and the run migrates once, not
twice: the SQLite suite copies it for the embedded installations, the PostgreSQL suite for
its own databases (the PostgreSQL suite's embedded SQLite installations still run `kefu
migrate`). Decisions §100.

Also the one place such tests take the `kefu` command (`KEFU`) and an environment of their
own without the suite's engine (`embedded_env`) from.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import psycopg

# The venv's own `kefu`, whatever the PATH says.
KEFU = Path(sys.executable).with_name("kefu")
SQLITE_FILE = "kefu.sqlite3"
# What points a process at the suite's settings and databases.
ENGINE_ENV = ("DJANGO_SETTINGS_MODULE", "KEFU_DATABASE_URL", "KEFU_REDIS_URL")

_lock = threading.Lock()
_sqlite_template: Path | None = None
_postgres_templates: dict[str, str] = {}


def _migrate(env: Mapping[str, str]) -> None:
    done = subprocess.run(  # noqa: S603 - our own command
        [str(KEFU), "migrate"], env=dict(env), capture_output=True, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def embedded_env(data_dir: Path, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """`env` (this process's by default) without the suite's engine: `kefu` started with it
    uses the embedded defaults in `data_dir`, never the suite's databases."""
    out = {k: v for k, v in (os.environ if env is None else env).items() if k not in ENGINE_ENV}
    out["KEFU_DATA_DIR"] = str(data_dir)
    return out


def migrated_sqlite(data_dir: Path, env: Mapping[str, str]) -> None:
    """Give `data_dir` the embedded database as `kefu migrate` leaves it."""
    global _sqlite_template
    with _lock:
        if _sqlite_template is None:
            folder = Path(tempfile.mkdtemp(prefix="kefu-migrated-"))
            atexit.register(shutil.rmtree, folder, True)
            _migrate(embedded_env(folder, env))
            _sqlite_template = folder
    data_dir.mkdir(parents=True, exist_ok=True)
    # The command closed its connections, so the write-ahead log was folded into the file.
    shutil.copyfile(_sqlite_template / SQLITE_FILE, data_dir / SQLITE_FILE)


def _admin(url: str) -> str:
    return url.rsplit("/", 1)[0] + "/postgres"


def _drop(admin: str, name: str) -> None:
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated_postgres(url: str, env: Mapping[str, str]) -> None:
    """Create the database `url` names, as `kefu migrate` leaves a new one."""
    admin, name = _admin(url), url.rsplit("/", 1)[1]
    with _lock:
        template = _postgres_templates.get(admin)
        if template is None:
            template = f"{name}_template"
            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                db.execute(f'CREATE DATABASE "{template}"')
            atexit.register(_drop, admin, template)
            _migrate({**env, "KEFU_DATABASE_URL": url.rsplit("/", 1)[0] + "/" + template})
            _postgres_templates[admin] = template
    with psycopg.connect(admin, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def adopt_test_database() -> None:
    """Make the suite's test database, just migrated and still empty, the template for the
    engine it runs on. Call it before any test has written to it."""
    global _sqlite_template
    from django.conf import settings
    from django.db import connection

    with _lock:
        if (
            _sqlite_template is None
            and connection.vendor == "sqlite"
            and not os.environ.get("KEFU_DATABASE_URL")
        ):
            # The embedded engine: the same settings `kefu` uses without KEFU_DATABASE_URL.
            folder = Path(tempfile.mkdtemp(prefix="kefu-migrated-"))
            atexit.register(shutil.rmtree, folder, True)
            connection.ensure_connection()
            with sqlite3.connect(folder / SQLITE_FILE) as copy:
                connection.connection.backup(copy)
            copy.close()
            _sqlite_template = folder
        elif connection.vendor == "postgresql" and not _postgres_templates:
            url = os.environ["KEFU_DATABASE_URL"]
            admin, source = _admin(url), settings.DATABASES["default"]["NAME"]
            template = f"{source}_template"
            connection.close()  # CREATE DATABASE … TEMPLATE needs the source to itself
            with psycopg.connect(admin, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                for attempt in range(20):
                    try:
                        db.execute(f'CREATE DATABASE "{template}" TEMPLATE "{source}"')
                        break
                    except psycopg.errors.ObjectInUse:
                        # A closed session can linger for a moment on the server.
                        if attempt == 19:
                            raise
                        time.sleep(0.25)
            atexit.register(_drop, admin, template)
            _postgres_templates[admin] = template
