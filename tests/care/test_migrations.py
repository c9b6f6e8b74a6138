"""The case archive moved from the metrics app to care without moving its table.

A database migrated before the move keeps its cases (and the history import's conversation
ids, which moved to the conversations app the same way), and the models match the migrations.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kefu.accounts.services import create_shop
from kefu.care.models import Case
from kefu.conversations.models import ImportedConversation
from tests.metrics.factories import History

BEFORE_THE_MOVE = [
    ("metrics", "0001_initial"),
    ("conversations", "0003_event_kinds"),
    ("care", None),
]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def _latest() -> list[tuple[str, str | None]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def test_the_models_match_the_migrations(db):
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.django_db(transaction=True)
def test_a_database_with_cases_keeps_them_through_the_move():
    latest = _latest()
    try:
        applied = [node for node in BEFORE_THE_MOVE if node[1] is not None]
        old = _migrate(BEFORE_THE_MOVE).loader.project_state(applied).apps
        with pytest.raises(LookupError):
            old.get_model("care", "Case")
        shop = create_shop(
            name="Aurora Lights",
            platform="aliexpress",
            slug="aurora",
            owner_login="owner",
            owner_password="correct-horse-battery",
            currency="USD",
            timezone_name="Asia/Shanghai",
        ).shop
        conv = History(shop).conv("ivan")
        old_case = old.get_model("metrics", "Case").objects.create(
            shop_id=shop.pk,
            conversation_id=conv.pk,
            date=dt.date(2026, 3, 2),
            title="Cracked lamp",
            event="Lamp arrived cracked",
        )
        old.get_model("metrics", "ImportedConversation").objects.create(
            shop_id=shop.pk, external_id="c:c-1", conversation_id=conv.pk
        )
        new = _migrate(latest).loader.project_state(latest).apps
        with pytest.raises(LookupError):
            new.get_model("metrics", "Case")
    finally:
        _migrate(latest)
    case = Case.objects.get()
    assert (case.pk, case.shop, case.conversation, case.title) == (
        old_case.pk,
        shop,
        conv,
        "Cracked lamp",
    )
    assert case.event == "Lamp arrived cracked"
    imported = ImportedConversation.objects.get()
    assert (imported.shop, imported.external_id, imported.conversation) == (shop, "c:c-1", conv)
