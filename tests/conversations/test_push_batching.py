"""Live pushes leave once per transaction (issue 15): a buyer message's events (created,
assigned, received, automatic reply) are read and sent together after the commit, and a
rolled-back transaction pushes nothing, not even into the next one."""

from __future__ import annotations

import pytest
from django.db import transaction

from kefu.conversations import realtime
from kefu.conversations.models import ConversationEvent
from tests.helpers import buyer_says, inbox_events, online

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def pushes(monkeypatch) -> list[list[int]]:
    calls: list[list[int]] = []
    original = realtime.publish

    def recording(event_ids: list[int]) -> None:
        calls.append(list(event_ids))
        original(event_ids)

    monkeypatch.setattr(realtime, "publish", recording)
    return calls


def message_then_failure(shop) -> None:
    with transaction.atomic():
        buyer_says(shop, buyer="b-1")
        raise RuntimeError("the connection dropped")


def test_one_push_carries_every_event_of_the_message(shop, pre_agent, pushes):
    online(pre_agent)

    buyer_says(shop, buyer="b-1")

    events = list(ConversationEvent.objects.order_by("pk").values_list("pk", "kind"))
    assert {"created", "assigned", "message_received"} <= {kind for _, kind in events}
    assert pushes == [[pk for pk, _ in events]]


def test_a_rolled_back_transaction_pushes_nothing_and_the_next_one_pushes_its_own(
    shop, pre_agent, pushes
):
    online(pre_agent)

    with pytest.raises(RuntimeError):
        message_then_failure(shop)
    assert not ConversationEvent.objects.exists()

    buyer_says(shop, buyer="b-2")

    assert len(pushes) == 1
    assert pushes[0] == list(ConversationEvent.objects.order_by("pk").values_list("pk", flat=True))


def test_an_agent_socket_gets_every_event_of_the_transaction_in_order_from_one_push(
    shop, pre_agent, monkeypatch
):
    import json

    from asgiref.sync import async_to_sync
    from asgiref.testing import ApplicationCommunicator
    from channels.db import database_sync_to_async
    from channels.layers import get_channel_layer

    from kefu.conversations.consumers import AgentConsumer

    online(pre_agent)
    layer = get_channel_layer()
    sends: list[str] = []
    original = layer.group_send

    async def counting(group: str, message: dict) -> None:
        sends.append(group)
        await original(group, message)

    monkeypatch.setattr(layer, "group_send", counting)

    async def scenario() -> list[dict]:
        scope = {"type": "websocket", "path": "/ws/inbox/", "headers": [], "user": pre_agent}
        socket = ApplicationCommunicator(AgentConsumer.as_asgi(), scope)
        await socket.send_input({"type": "websocket.connect"})
        assert (await socket.receive_output(5))["type"] == "websocket.accept"
        await database_sync_to_async(buyer_says)(shop, buyer="b-1")
        written = await database_sync_to_async(ConversationEvent.objects.count)()
        # As many frames as the transaction wrote events, each waited for (a loaded machine
        # may take longer than any fixed quiet spell to relay the push), then nothing more.
        frames = []
        while sum(len(inbox_events(f)) for f in frames) < written:
            frames.append(json.loads((await socket.receive_output(10))["text"]))
        assert await socket.receive_nothing(timeout=0.5)
        await socket.send_input({"type": "websocket.disconnect", "code": 1000})
        await socket.wait(5)
        return frames

    frames = async_to_sync(scenario)()

    events = list(ConversationEvent.objects.order_by("pk").values_list("pk", "kind"))
    assert len(events) >= 3
    # One frame holding them all, in order.
    assert len(frames) == 1
    assert [(e["type"], e["id"], e["kind"]) for e in inbox_events(frames[0])] == [
        ("event", pk, kind) for pk, kind in events
    ]
    # One channel-layer message for the agent's group, not one per event.
    assert sends.count(realtime.user_group(pre_agent.pk)) == 1
