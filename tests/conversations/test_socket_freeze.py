"""The web process freezes its sockets' objects a generation at a time (kefu.core.collector,
decisions §109), and thaws every few freezes so frozen garbage is collected."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest
import pytest_asyncio
from channels.db import database_sync_to_async

from kefu.core import collector
from tests.conversations.test_sockets import _connect, _cookie_headers
from tests.helpers import buyer_says, inbox_events, online
from tests.ws import Socket


@pytest.fixture
def freezer(monkeypatch):
    """A fresh, enabled freezer with small numbers; the collector unfrozen after."""
    fresh = collector.SocketFreezer()
    fresh.enabled = True
    monkeypatch.setattr(collector, "sockets", fresh)
    monkeypatch.setattr(collector, "FIRST_FREEZE_SOCKETS", 2)
    monkeypatch.setattr(collector, "QUIET_SECONDS", 0.05)
    gc.unfreeze()
    yield fresh
    gc.unfreeze()


def _frozen(thing: object) -> bool:
    """Out of every generation the collector walks (gc.get_objects lists those only)."""
    return gc.is_tracked(thing) and not any(o is thing for o in gc.get_objects())


@pytest_asyncio.fixture
async def _sockets_closed():
    yield
    await Socket.close_all()


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
@pytest.mark.usefixtures("_sockets_closed")
async def test_a_generation_of_sockets_is_frozen_once_up_and_still_gets_pushes(
    shop, pre_agent, owner, freezer
):
    await database_sync_to_async(online)(pre_agent)
    first = await _connect("/ws/inbox/", await database_sync_to_async(_cookie_headers)(pre_agent))
    await asyncio.sleep(0.2)
    assert freezer.open == 1 and freezer.freezes == 0  # one socket is not a generation

    second = await _connect("/ws/inbox/", await database_sync_to_async(_cookie_headers)(owner))
    # What the process holds while the sockets are up: frozen once they have been quiet.
    held = [object()]
    assert not _frozen(held)
    for _ in range(100):
        if freezer.freezes:
            break
        await asyncio.sleep(0.05)
    assert freezer.freezes == 1 and freezer.open_at_freeze == 2
    assert _frozen(held)

    # Frozen, the sockets still get the shop's pushes.
    await database_sync_to_async(buyer_says)(shop, text="Is it waterproof?")
    for socket in (first, second):
        kinds: list[str] = []
        while "message_received" not in kinds:
            kinds += [e["kind"] for e in inbox_events(await socket.receive_json(timeout=10))]

    await first.disconnect()
    await asyncio.sleep(0.1)
    assert freezer.open == 1


@pytest.mark.asyncio
async def test_the_next_freeze_waits_for_as_many_new_sockets_as_were_open(freezer):
    freezer.open_at_freeze = 3
    for _ in range(2):
        freezer.opened()
    await asyncio.sleep(0.2)
    assert freezer.freezes == 0
    freezer.opened()
    await asyncio.sleep(0.2)
    assert freezer.freezes == 1 and freezer.open_at_freeze == 3 and freezer.opened_since == 0


def test_a_thawing_freeze_collects_the_garbage_earlier_freezes_kept(freezer, monkeypatch):
    monkeypatch.setattr(collector, "THAW_EVERY", 2)

    class Node:
        pass

    node = Node()
    node.me = node  # type: ignore[attr-defined]  # a cycle, as a closed socket's objects are
    gone = weakref.ref(node)
    freezer.freeze()
    del node
    gc.collect()
    assert gone() is not None  # frozen: the collector keeps it
    freezer.freeze()  # the second freeze thaws first
    assert gone() is None
