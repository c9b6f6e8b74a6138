"""Issue 17: the outbox delivers a campaign in batches — claimed with a statement per kind of
row, recorded set-based — keeping the one-row outbox's guarantees: a crash between sending and
recording re-sends only with the same Idempotency-Key, failures wait out their backoff with the
reason recorded, and a reply queued behind a campaign leaves with the next batch."""

from __future__ import annotations

import datetime as dt
import json
import threading

import httpx
import pytest
import time_machine
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from kefu.accounts.models import Shop
from kefu.conversations import delivery, outbound
from kefu.conversations.models import ConversationEvent, Outbox, OutboxStatus
from kefu.conversations.tasks import deliver_due_outbox, deliver_outbox_rows
from kefu.desk import replies
from kefu.integrations.adapters import CallbackAdapter
from kefu.outreach import results, services
from kefu.outreach.models import Recipient
from tests.helpers import buyer_says, online
from tests.outreach.test_campaigns import make_campaign, order, segment

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


class Killed(BaseException):
    """The worker dying mid-batch: no handler of the delivery code runs."""


class Marketplace:
    """The shop's callback: answers per buyer, records every request it was sent."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, answers: dict[str, int] | None = None):
        self.answers = answers or {}
        self.requests: list[tuple[str, str]] = []  # (buyer, Idempotency-Key)
        self.die_after: int | None = None
        monkeypatch.setattr(CallbackAdapter, "transport", httpx.MockTransport(self.endpoint))

    def endpoint(self, request: httpx.Request) -> httpx.Response:
        if self.die_after is not None and len(self.requests) >= self.die_after:
            raise Killed
        buyer = json.loads(request.content)["buyer_external_id"]
        self.requests.append((buyer, request.headers["Idempotency-Key"]))
        return httpx.Response(self.answers.get(buyer, 200))


def _campaign_rows(shop, owner, buyers: int, prefix: str = "c", country: str = "RU") -> list[int]:
    """A campaign's messages stored through its step, their delivery not yet run."""
    Shop.objects.filter(pk=shop.pk).update(callback_url="https://marketplace.example/kefu")
    for i in range(buyers):
        order(shop, f"{prefix.upper()}{i}", f"{prefix}{i}", country=country)
    chosen = segment(owner, name=prefix, statuses="paid", countries=country)
    campaign = make_campaign(owner, chosen, per_minute=600, window_start=0, window_end=24)
    services.send_campaign_step(campaign=campaign, now=dt.datetime(2026, 11, 10, 7, tzinfo=UTC))
    ids = list(
        Outbox.objects.filter(message__payload__campaign_id=campaign.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    assert len(ids) == buyers
    return ids


def test_a_campaign_is_delivered_in_batches_with_statements_per_batch_not_per_row(
    shop, owner, monkeypatch
):
    marketplace = Marketplace(monkeypatch)
    small = _campaign_rows(shop, owner, 5, prefix="s")
    large = _campaign_rows(shop, owner, 60, prefix="l", country="ES")
    with CaptureQueriesContext(connection) as five:
        assert deliver_outbox_rows(small) == 5
    with CaptureQueriesContext(connection) as sixty:
        assert deliver_outbox_rows(large) == 60
    # Claim (service rows, then the campaign's), read, record: the same for 5 rows and 60.
    assert len(sixty.captured_queries) == len(five.captured_queries) <= 8
    assert sorted(b for b, _ in marketplace.requests) == sorted(
        [f"s{i}" for i in range(5)] + [f"l{i}" for i in range(60)]
    )
    assert Outbox.objects.filter(status=OutboxStatus.DELIVERED).count() == 65
    assert not Outbox.objects.filter(delivered_at__isnull=True).exists()


def test_a_reply_queued_behind_a_campaign_leaves_with_the_next_batch(
    shop, owner, pre_agent, monkeypatch
):
    marketplace = Marketplace(monkeypatch)
    campaign = _campaign_rows(shop, owner, 30)
    online(pre_agent)
    conv = buyer_says(shop, "Where is my parcel?", buyer="waiting").conversation
    # The reply's own delivery task is still in the queue (its on-commit hook not run).
    reply = replies.send_reply(actor=pre_agent, conversation=conv, text="It left today.")
    monkeypatch.setattr(delivery, "BATCH", 10)
    delivery.deliver_batch(ids=campaign)
    assert marketplace.requests[0][0] == "waiting"
    assert Outbox.objects.get(message=reply).status == OutboxStatus.DELIVERED
    assert len(marketplace.requests) == 10  # the reply and nine of the campaign
    # When the reply's own task runs it finds nothing to send: no second copy.
    assert delivery.deliver_outbox_row(outbox_id=reply.outbox.pk) == "skipped"
    assert deliver_due_outbox() == 21
    assert [b for b, _ in marketplace.requests].count("waiting") == 1


def test_failures_wait_out_their_backoff_and_keep_their_reasons(shop, owner, monkeypatch, settings):
    settings.KEFU_OUTBOX_MAX_ATTEMPTS = 2
    marketplace = Marketplace(monkeypatch, {"c1": 503, "c2": 422})
    ids = _campaign_rows(shop, owner, 3)
    start = timezone.now()
    assert deliver_outbox_rows(ids) == 3
    by_buyer = {
        row.message.buyer.external_id: row
        for row in Outbox.objects.filter(pk__in=ids).select_related("message__buyer")
    }
    assert by_buyer["c0"].status == OutboxStatus.DELIVERED
    unreachable, refused = by_buyer["c1"], by_buyer["c2"]
    assert (unreachable.status, unreachable.attempts) == (OutboxStatus.PENDING, 1)
    assert "503" in unreachable.last_error
    assert dt.timedelta(seconds=14) < unreachable.next_attempt_at - start < dt.timedelta(seconds=20)
    assert (refused.status, refused.reason) == (OutboxStatus.NOT_DELIVERED, "refused")
    assert ConversationEvent.objects.filter(
        kind="delivery_failed", message=refused.message
    ).exists()
    # Not due yet: nothing goes again before the backoff.
    assert deliver_due_outbox() == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        assert deliver_due_outbox() == 1
    unreachable.refresh_from_db()
    assert (unreachable.status, unreachable.reason, unreachable.attempts) == (
        OutboxStatus.NOT_DELIVERED,
        "gave_up",
        2,
    )
    assert [b for b, _ in marketplace.requests].count("c1") == 2
    recipient = Recipient.objects.filter(message__outbox__pk=ids[0]).get()
    (result,) = results.campaign_results(recipient.campaign)
    assert (result.sent, result.delivered, result.not_delivered) == (3, 1, 2)
    assert result.not_delivered_reasons == {"refused": 1, "gave_up": 1}


def test_a_crash_mid_batch_resends_only_what_was_sent_with_the_same_key(shop, owner, monkeypatch):
    marketplace = Marketplace(monkeypatch)
    ids = _campaign_rows(shop, owner, 20)
    marketplace.die_after = 7
    with pytest.raises(Killed):
        deliver_due_outbox()
    # Seven left Kefu, nothing was recorded: every row is still pending, claimed once.
    rows = Outbox.objects.filter(pk__in=ids)
    assert set(rows.values_list("status", "attempts")) == {(OutboxStatus.PENDING, 1)}
    marketplace.die_after = None
    assert deliver_due_outbox() == 0  # the restarted worker waits out the claim's backoff
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1)):
        assert deliver_due_outbox() == 20
    assert set(rows.values_list("status", "attempts")) == {(OutboxStatus.DELIVERED, 2)}
    sent = marketplace.requests
    assert len(sent) == 27 and len({key for _, key in sent}) == 20
    # The seven sent twice carry the key they had the first time: the channel drops the copy.
    first = dict(sent[:7])
    assert all(first.get(buyer, key) == key for buyer, key in sent[7:])


@pytest.mark.django_db(transaction=True)
def test_two_workers_claim_different_rows_without_waiting(shop, owner, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite runs one write at a time; the claim is one statement")
    Marketplace(monkeypatch)
    # Committed for real here: keep the delivery tasks in the (absent) queue.
    monkeypatch.setattr(outbound, "_enqueue_deliveries", lambda ids: None)
    ids = _campaign_rows(shop, owner, 20)
    held = threading.Event()
    release = threading.Event()
    claims: dict[str, list[int]] = {}

    def first_worker() -> None:
        try:
            with transaction.atomic():
                claims["a"] = delivery.claim(now=timezone.now(), limit=12, bulk=True)
                held.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert held.wait(10)
    try:
        # The first claim's rows are locked and uncommitted: skipped, not waited for (a
        # claim that waited on them would fail here on the lock timeout).
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            claims["b"] = delivery.claim(now=timezone.now(), limit=12, bulk=True)
    finally:
        release.set()
        worker.join()
    assert len(claims["a"]) == 12 and len(claims["b"]) == 8
    assert sorted(claims["a"] + claims["b"]) == sorted(ids)


@pytest.mark.django_db(transaction=True)
def test_upgrading_puts_waiting_campaign_messages_behind_replies(
    shop, owner, pre_agent, monkeypatch
):
    from django.db.migrations.executor import MigrationExecutor

    monkeypatch.setattr(outbound, "_enqueue_deliveries", lambda ids: None)
    campaign = _campaign_rows(shop, owner, 3)
    online(pre_agent)
    conv = buyer_says(shop, "Where is my parcel?", buyer="waiting").conversation
    reply = replies.send_reply(actor=pre_agent, conversation=conv, text="It left today.")
    before = [("conversations", "0007_intake_queue")]
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        MigrationExecutor(connection).migrate(before)  # the rows as an older Kefu stored them
    finally:
        MigrationExecutor(connection).migrate(latest)
    assert set(Outbox.objects.filter(pk__in=campaign).values_list("bulk", flat=True)) == {True}
    assert Outbox.objects.get(message=reply).bulk is False
