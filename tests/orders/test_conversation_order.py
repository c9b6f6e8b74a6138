"""An agent names the order a conversation is about; only an order of that buyer it may see."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.automation.selectors import placeholder_context_for
from kefu.conversations.models import Conversation, ConversationEvent
from tests.helpers import add_product

from ..conftest import login_client
from ..helpers import buyer_says, online
from .factories import make_order


@pytest.fixture
def chat(shop, pre_agent, product):
    """Ivan asks about Lily's product; he has two orders of it and names neither."""
    online(pre_agent)
    conv = buyer_says(shop, "Where is my lamp?", buyer="ivan", product=product.external_id)
    older = make_order(shop, "OLD-1", buyer="ivan", products=[product])
    newer = make_order(shop, "NEW-2", buyer="ivan", products=[product])
    return conv.conversation, older, newer


def events(conv):
    return list(ConversationEvent.objects.filter(conversation=conv, kind="order_chosen"))


def test_agent_chooses_the_order_and_the_conversation_follows_it(chat, pre_agent):
    conv, older, _newer = chat
    client = login_client(pre_agent)

    response = client.post(f"/inbox/{conv.pk}/order/", {"order": older.pk})

    assert response.status_code == 302
    conv.refresh_from_db()
    assert conv.order_external_id == "OLD-1"
    assert placeholder_context_for(conversation=conv, agent=pre_agent).order_id == "OLD-1"
    sidebar = client.get(
        f"/orders/sidebar/{conv.buyer_id}/?conversation={conv.pk}&highlight=OLD-1"
    ).content.decode()
    assert 'class="order-card highlighted" data-order="OLD-1"' in sidebar
    # The other order offers the choice; the chosen one does not.
    assert sidebar.count('class="inline choose-order"') == 1
    [event] = events(conv)
    assert (event.actor, event.data["order"], event.data["previous"]) == (pre_agent, "OLD-1", "")

    client.post(f"/inbox/{conv.pk}/order/", {"order": older.pk})
    assert len(events(conv)) == 1  # choosing it again changes nothing


def test_order_of_another_buyer_is_refused_and_nothing_changes(chat, shop, pre_agent, product):
    conv, _older, _newer = chat
    someone_elses = make_order(shop, "OTHER-9", buyer="olga", products=[product])

    response = login_client(pre_agent).post(f"/inbox/{conv.pk}/order/", {"order": someone_elses.pk})

    assert response.status_code == 400
    assert response.content.decode() == "这笔订单属于其他买家。"  # the UI speaks Chinese by default
    conv.refresh_from_db()
    assert conv.order_external_id == ""
    assert events(conv) == []


def test_who_may_choose(chat, pre_agent, after_agent, owner, rival, other_shop):
    conv, older, newer = chat
    theirs = make_order(other_shop, "THEIRS", buyer="ivan")
    url = f"/inbox/{conv.pk}/order/"

    assert Client().post(url, {"order": older.pk}).status_code == 302  # to the login page
    assert login_client(rival).post(url, {"order": theirs.pk}).status_code == 404
    assert login_client(after_agent).post(url, {"order": older.pk}).status_code == 404
    assert login_client(pre_agent).post(url, {"order": theirs.pk}).status_code == 404
    assert login_client(pre_agent).post(url, {"order": "x"}).status_code == 400
    conv.refresh_from_db()
    assert conv.order_external_id == ""

    assert login_client(owner).post(url, {"order": newer.pk}).status_code == 302
    assert Conversation.objects.get(pk=conv.pk).order_external_id == "NEW-2"


def test_api_links_an_order(chat, pre_agent, after_agent):
    conv, older, _newer = chat

    def link(user, order):
        return login_client(user).post(
            f"/api/v1/orders/{order.pk}/link",
            data=json.dumps({"conversation_id": conv.pk}),
            content_type="application/json",
        )

    assert link(after_agent, older).status_code == 404
    response = link(pre_agent, older)
    assert response.status_code == 200
    assert response.json() == {"conversation_id": conv.pk, "order_external_id": "OLD-1"}
    assert Conversation.objects.get(pk=conv.pk).order_external_id == "OLD-1"


def test_from_the_page_the_choice_keeps_the_draft_and_the_panel_follows(chat, pre_agent):
    conv, older, _newer = chat
    client = login_client(pre_agent)

    response = client.post(
        f"/inbox/{conv.pk}/order/", {"order": older.pk}, headers={"HX-Request": "true"}
    )

    # No reload (the reply being typed survives): the page re-reads sidebar, scripts, timeline.
    assert response.status_code == 204
    assert json.loads(response["HX-Trigger"]) == {"kefu:order-chosen": {"order": "OLD-1"}}
    panel = client.get(f"/orders/sidebar/{conv.buyer_id}/?conversation={conv.pk}&highlight=")
    assert 'class="order-card highlighted" data-order="OLD-1"' in panel.content.decode()


def test_scripts_never_fill_in_another_order_than_the_named_one(shop, product, after_agent):
    from kefu.orders.facts import order_facts

    online(after_agent)
    # Max's own product, and an order of it; the buyer asks about another agent's order.
    mine = add_product(shop, "MAX-1", "Max's lamp", owner=after_agent)
    make_order(shop, "MAXS-1", buyer="ivan", products=[mine])
    make_order(shop, "LILYS-2", buyer="ivan", products=[product])
    conv = buyer_says(
        shop, "Where is my order?", buyer="ivan", entry_point="order_detail", order="LILYS-2"
    ).conversation

    facts = order_facts(after_agent, conv)

    assert facts.order_id is None  # a gap, not MAXS-1
    assert facts.tracking_numbers == ()


def test_the_order_month_a_script_names_is_the_shops_month(shop, product, pre_agent):
    """An order placed at 01:30 on 1 March in Shanghai (17:30 on 28 February in UTC) is the
    buyer's March order in the script."""
    import datetime as dt

    from kefu.orders.facts import order_facts

    assert shop.timezone == "Asia/Shanghai"
    online(pre_agent)
    make_order(
        shop,
        "MARCH-1",
        buyer="ivan",
        products=[product],
        placed_at=dt.datetime(2026, 2, 28, 17, 30, tzinfo=dt.UTC),
    )
    conv = buyer_says(shop, "Where is my order?", buyer="ivan", order="MARCH-1").conversation

    facts = order_facts(pre_agent, conv)

    assert facts.order_id == "MARCH-1"
    assert facts.order_month == dt.date(2026, 3, 1)
