"""The models match the migrations (`makemigrations --check`).

Upgrading a database made before the case archive moved from the metrics app to care is
tests/test_upgrades.py's, with the other upgrade of the same old database (decisions §100).
"""

from __future__ import annotations

from django.core.management import call_command


def test_the_models_match_the_migrations(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
