"""Routing's "least busy" is a counter kept by every write that changes it (issue 15 item 5):
after each thing a team does, every agent's counter equals the live conversations it holds."""

from __future__ import annotations

import pytest

from kefu.accounts.services import create_agent
from kefu.conversations import load, presence, state
from kefu.conversations.models import AgentPresence, Conversation
from kefu.desk.replies import send_reply
from tests.conftest import PASSWORD
from tests.helpers import buyer_says, online

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann(shop):
    return create_agent(actor=None, shop=shop, login="ann", groups=["pre_sale"], password=PASSWORD)[
        0
    ]


def counters() -> dict[int, int]:
    return dict(AgentPresence.objects.values_list("user_id", "open_load"))


def truth() -> dict[int, int]:
    return {user_id: load.true_load(user_id) for user_id in counters()}


def test_every_write_keeps_the_counter_true(shop, owner, pre_agent, ann):
    online(pre_agent, ann)
    first = buyer_says(shop, buyer="b-1").conversation
    buyer_says(shop, buyer="b-2")
    buyer_says(shop, buyer="b-3")
    assert counters() == truth() and sorted(counters().values()) == [1, 2]

    state.resolve_conversation(actor=owner, conversation=first)
    assert counters() == truth()

    buyer_says(shop, buyer="b-1", text="one more question")  # the buyer reopens it
    assert Conversation.objects.get(pk=first.pk).status == "open"
    assert counters() == truth()

    other = pre_agent if first.assignee_id == ann.pk else ann
    state.assign_conversation(actor=owner, conversation=first, agent=other)
    assert counters() == truth()

    state.resolve_conversation(actor=owner, conversation=first)
    send_reply(actor=other, conversation=first, text="Anything else I can help with?")
    assert Conversation.objects.get(pk=first.pk).status == "pending"  # the reply reopened it
    assert counters() == truth()

    presence.agent_went_offline(agent=other, reason="logout")
    presence.move_conversations_if_still_absent(agent_id=other.pk, reason="logout")
    assert Conversation.objects.filter(assignee=other).exclude(status="resolved").count() == 0
    assert counters() == truth()
    assert load.recount_loads() == 0  # nothing drifted


def test_the_least_busy_agent_by_counter_gets_the_next_chat(shop, pre_agent, ann):
    online(pre_agent)
    buyer_says(shop, buyer="b-1")
    buyer_says(shop, buyer="b-2")
    online(ann)

    assert buyer_says(shop, buyer="b-3").conversation.assignee == ann


def test_an_agent_first_present_after_holding_chats_starts_from_the_true_count(
    shop, owner, pre_agent
):
    online(pre_agent)
    conv = buyer_says(shop, buyer="b-1").conversation
    late = create_agent(
        actor=None, shop=shop, login="late", groups=["pre_sale"], password="x" * 12
    )[0]
    state.assign_conversation(actor=owner, conversation=conv, agent=late)

    presence.agent_socket_opened(user=late)

    assert counters()[late.pk] == 1


def test_the_sweep_puts_a_drifted_counter_right(shop, pre_agent):
    online(pre_agent)
    buyer_says(shop, buyer="b-1")
    AgentPresence.objects.filter(user=pre_agent).update(open_load=40)

    assert load.recount_loads(shop_id=shop.pk) == 1
    assert counters()[pre_agent.pk] == 1
