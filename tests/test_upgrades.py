"""Upgrading an old database keeps what it holds, rewritten where the meaning changed.

One old database carries the rows of two upgrades, so the test migrates back and forward once
(each pass over the ~25 later migrations took 30–45 s, most of it Django rendering model
states; decisions §100):

- the case archive moved from the metrics app to care without moving its table: a database
  migrated before the move keeps its cases (and the history import's conversation ids, which
  moved to the conversations app the same way);
- old delivery states are rewritten honestly (decisions §30): a marketplace reply that was
  "delivered" to a shop without a callback URL never left Kefu, and "failed" says why.

That the models match the migrations is tests/care/test_migrations.py's.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kefu.accounts.services import create_shop
from kefu.care.models import Case
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import ImportedConversation, Outbox
from kefu.desk.intake import receive_buyer_message
from kefu.desk.replies import send_reply
from kefu.integrations.channels import Channel
from tests.helpers import buyer_says, online
from tests.metrics.factories import History

BEFORE_THE_MOVE = [
    ("metrics", "0001_initial"),
    ("conversations", "0003_event_kinds"),
    ("care", None),
]
# The last state with the old delivery states: a step forward from BEFORE_THE_MOVE.
BEFORE_DELIVERY_STATES = [("conversations", "0004_importedconversation")]

OLD_DELIVERIES = {
    "kept-in-kefu": ("delivered", ""),
    "refused": ("failed", "HTTP 422: bad buyer id"),
    "server-down": ("failed", "HTTP 503: maintenance"),
    "rate-limited": ("failed", "HTTP 429: slow down"),
    "widget": ("delivered", ""),
}


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader sees what is applied now


def _replies(shop, pre_agent) -> dict[str, int]:
    """Replies sent the way Kefu sends them now, one per old delivery state to come."""
    online(pre_agent)
    market = buyer_says(shop, buyer="m-1").conversation
    widget = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="w-1"),
        text="hi from the site",
        entry_point="widget",
        channel=Channel.WIDGET,
    ).conversation
    return {
        name: send_reply(actor=pre_agent, conversation=conv, text=name).pk
        for name, conv in (
            ("kept-in-kefu", market),
            ("refused", market),
            ("server-down", market),
            ("rate-limited", market),
            ("widget", widget),
        )
    }


@pytest.mark.django_db(transaction=True)
def test_an_old_database_keeps_its_cases_and_its_deliveries_say_what_happened(shop, pre_agent):
    replies = _replies(shop, pre_agent)
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        applied = [node for node in BEFORE_THE_MOVE if node[1] is not None]
        old = _migrate(BEFORE_THE_MOVE).loader.project_state(applied).apps
        with pytest.raises(LookupError):
            old.get_model("care", "Case")
        # A shop made before the move, with its cases in the metrics app.
        old_shop = create_shop(
            name="Old Lights",
            platform="aliexpress",
            slug="old-lights",
            owner_login="old-owner",
            owner_password="correct-horse-battery",
            currency="USD",
            timezone_name="Asia/Shanghai",
        ).shop
        conv = History(old_shop).conv("ivan")
        old_case = old.get_model("metrics", "Case").objects.create(
            shop_id=old_shop.pk,
            conversation_id=conv.pk,
            date=dt.date(2026, 3, 2),
            title="Cracked lamp",
            event="Lamp arrived cracked",
        )
        old.get_model("metrics", "ImportedConversation").objects.create(
            shop_id=old_shop.pk, external_id="c:c-1", conversation_id=conv.pk
        )
        # The delivery states as Kefu stored them before they were rewritten.
        older = _migrate(BEFORE_DELIVERY_STATES).loader.project_state(BEFORE_DELIVERY_STATES)
        OldOutbox = older.apps.get_model("conversations", "Outbox")
        for name, (status, error) in OLD_DELIVERIES.items():
            OldOutbox.objects.filter(message_id=replies[name]).update(
                status=status, last_error=error
            )
        new = _migrate(latest).loader.project_state(latest).apps
        with pytest.raises(LookupError):
            new.get_model("metrics", "Case")
    finally:
        _migrate(latest)

    case = Case.objects.get()
    assert (case.pk, case.shop, case.conversation, case.title) == (
        old_case.pk,
        old_shop,
        conv,
        "Cracked lamp",
    )
    assert case.event == "Lamp arrived cracked"
    imported = ImportedConversation.objects.get()
    assert (imported.shop, imported.external_id, imported.conversation) == (
        old_shop,
        "c:c-1",
        conv,
    )

    now = {
        name: tuple(Outbox.objects.filter(message_id=pk).values_list("status", "reason").get())
        for name, pk in replies.items()
    }
    assert now == {
        "kept-in-kefu": ("not_delivered", "no_callback_url"),
        "refused": ("not_delivered", "refused"),
        "server-down": ("not_delivered", "gave_up"),
        "rate-limited": ("not_delivered", "gave_up"),
        "widget": ("delivered", ""),
    }
