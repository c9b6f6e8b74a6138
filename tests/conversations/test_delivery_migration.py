"""Upgrading rewrites old delivery states honestly (decisions §30): a marketplace reply that was
"delivered" to a shop without a callback URL never left Kefu, and "failed" says why."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import Outbox
from kefu.desk.intake import receive_buyer_message
from kefu.desk.replies import send_reply
from kefu.integrations.channels import Channel
from tests.helpers import buyer_says, online

BEFORE = [("conversations", "0004_importedconversation")]


def _migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_old_rows_become_not_delivered_with_their_reason(shop, pre_agent):
    online(pre_agent)
    market = buyer_says(shop, buyer="m-1").conversation
    widget = receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id="w-1"),
        text="hi from the site",
        entry_point="widget",
        channel=Channel.WIDGET,
    ).conversation
    ids = {
        name: send_reply(actor=pre_agent, conversation=conv, text=name).pk
        for name, conv in (
            ("kept-in-kefu", market),
            ("refused", market),
            ("server-down", market),
            ("rate-limited", market),
            ("widget", widget),
        )
    }
    old_rows = {
        "kept-in-kefu": ("delivered", ""),
        "refused": ("failed", "HTTP 422: bad buyer id"),
        "server-down": ("failed", "HTTP 503: maintenance"),
        "rate-limited": ("failed", "HTTP 429: slow down"),
        "widget": ("delivered", ""),
    }
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE).loader.project_state(BEFORE).apps
        OldOutbox = old.get_model("conversations", "Outbox")
        for name, (status, error) in old_rows.items():
            OldOutbox.objects.filter(message_id=ids[name]).update(status=status, last_error=error)
    finally:
        _migrate(latest)
    now = {
        name: tuple(Outbox.objects.filter(message_id=pk).values_list("status", "reason").get())
        for name, pk in ids.items()
    }
    assert now == {
        "kept-in-kefu": ("not_delivered", "no_callback_url"),
        "refused": ("not_delivered", "refused"),
        "server-down": ("not_delivered", "gave_up"),
        "rate-limited": ("not_delivered", "gave_up"),
        "widget": ("delivered", ""),
    }
