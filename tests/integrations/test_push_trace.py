"""The push bench's stage trace (kefu.core.stagetrace, decisions §104) and the web process's
frozen start-up objects."""

from __future__ import annotations

import asyncio
import gc
import json
import time
from typing import Any

import pytest
from django.test import Client

from kefu.accounts.models import Shop
from kefu.conversations import realtime
from kefu.conversations.relay import RelayLifespan
from kefu.core import stagetrace
from kefu.desk import intake_queue
from kefu.integrations.signing import signed_headers
from tests.helpers import online


def post_batch(shop: Shop, messages: list[dict[str, Any]]) -> int:
    body = json.dumps({"messages": messages}).encode()
    return (
        Client()
        .post(
            "/api/v1/inbound/messages/batch",
            data=body,
            content_type="application/json",
            headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
        )
        .status_code
    )


@pytest.fixture
def traced(monkeypatch, settings, tmp_path):
    """Stage trace on, into tmp_path; the garbage collector's callbacks as they were after."""
    settings.KEFU_PUSH_TRACE = str(tmp_path / "trace")
    monkeypatch.setattr(stagetrace, "ENABLED", True)
    monkeypatch.setattr(stagetrace, "_out", None)
    callbacks = list(gc.callbacks)
    yield tmp_path
    gc.callbacks[:] = callbacks


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_traced_when_read_committed_and_pushed(shop, pre_agent, traced, monkeypatch):
    """A record per batch naming its messages, with its times in the order they happen:
    queued, read by the worker, committed, pushed (the push's send is between the commit and
    the record)."""
    import kefu.integrations.api as inbound_api

    # Queued only: the drain below is the one that stores them.
    monkeypatch.setattr(inbound_api, "kick", lambda lanes: None)
    sends: list[float] = []
    send = realtime._send
    monkeypatch.setattr(realtime, "_send", lambda events: (sends.append(time.time()), send(events)))
    online(pre_agent)
    messages = [
        {
            "external_id": f"m-{n}",
            "buyer": {"external_id": f"b-{n}", "name": "Olga"},
            "entry_point": "product_page",
            "text": f"question {n} about the lamp",
        }
        for n in range(3)
    ]
    assert post_batch(shop, messages) == 202

    assert intake_queue.drain() == 3

    lines = [json.loads(x) for f in traced.glob("trace.*") for x in f.read_text().splitlines()]
    batches = [x for x in lines if x["stage"] == "batch"]
    assert sorted(i for b in batches for i in b["ids"]) == ["m-0", "m-1", "m-2"]
    for batch in batches:
        assert max(batch["queued"]) <= batch["picked"] <= batch["committed"] <= batch["t"]
        # Its push left between its commit and its record.
        assert any(batch["committed"] <= at <= batch["t"] for at in sends)


def test_the_web_process_freezes_its_start_up_objects(monkeypatch):
    """After the lifespan's start-up, what it built is out of the collector's walks."""
    import kefu.conversations.relay as relay

    monkeypatch.setattr(relay, "warm_up", lambda: [])
    sent: list[dict[str, Any]] = []
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    gc.unfreeze()
    try:
        asyncio.run(RelayLifespan(None)({"type": "lifespan"}, receive, send))
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
