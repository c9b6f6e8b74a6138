"""Issue 17: kill the worker mid-campaign and start it again; every targeted buyer gets exactly
one message. The worker is a real process running the beat's task (`send_due_campaigns`) on
the test database, killed with SIGKILL while it is part-way through the buyers: no cleanup,
no exception handler runs. A new worker then finishes the campaign."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from kefu.conversations.models import Message, Outbox, OutboxStatus
from kefu.conversations.tasks import deliver_due_outbox
from kefu.outreach.models import Campaign, Recipient
from kefu.outreach.tasks import send_due_campaigns
from tests.outreach.test_campaigns import make_campaign, order, segment

ROOT = Path(__file__).resolve().parents[2]
BUYERS = 150

# The worker: Django on the test's own database, the beat's task, nothing else.
WORKER = """
import sys
from django.conf import settings
settings.DATABASES["default"]["NAME"] = sys.argv[1]
import django
django.setup()
from kefu.outreach import services
# Small rounds (a transaction each), so the kill lands between two of them or inside one.
services.SEND_ROUND = 5
from kefu.outreach.tasks import send_due_campaigns
send_due_campaigns()
print("finished")
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_campaign_leaves_every_buyer_exactly_one_message(shop, owner):
    for i in range(BUYERS):
        order(shop, f"W{i}", f"w{i}", country="RU")
    campaign = make_campaign(
        owner,
        segment(owner, statuses="paid"),
        window_start=0,
        window_end=24,
        starts_at=timezone.now() - timezone.timedelta(minutes=5),
        per_minute=600,
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kefu.settings", "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", WORKER, str(connection.settings_dict["NAME"])],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    sent = Recipient.objects.filter(campaign=campaign)
    deadline = time.monotonic() + 120
    while sent.count() < 10 and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=30)
    reached = sent.count()
    assert 0 < reached < BUYERS, f"killed after {reached} of {BUYERS}: not mid-campaign"
    # Nothing half-sent: every recipient row has its message, every message its outbox row.
    assert not sent.filter(message__isnull=True, blocked=False).exists()
    assert Message.objects.filter(payload__campaign_id=campaign.pk).count() == reached

    # The restarted worker's beat runs the task again (the minute has passed: throttle free).
    Recipient.objects.filter(campaign=campaign).update(
        sent_at=timezone.now() - timezone.timedelta(minutes=2)
    )
    while send_due_campaigns():
        Recipient.objects.filter(campaign=campaign).update(
            sent_at=timezone.now() - timezone.timedelta(minutes=2)
        )
    assert sent.count() == BUYERS
    per_buyer = list(
        Message.objects.filter(payload__campaign_id=campaign.pk).values_list("buyer_id", flat=True)
    )
    assert len(per_buyer) == BUYERS and len(set(per_buyer)) == BUYERS
    # The messages whose delivery task died with the worker are still in the outbox, pending:
    # the sweeper sends them; none is lost, none goes twice.
    assert Outbox.objects.filter(message__payload__campaign_id=campaign.pk).count() == BUYERS
    while deliver_due_outbox():
        pass
    assert not Outbox.objects.filter(status=OutboxStatus.PENDING).exists()
    assert Campaign.objects.get(pk=campaign.pk).status == "scheduled"
