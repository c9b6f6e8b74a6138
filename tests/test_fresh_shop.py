"""Issue 12's fresh shop, end to end, by the seller's paths only: `kefu shop create`, agents by
CLI, products from a Taobao GBK product file, orders from a Taobao export, related products on
the products API, a buyer's message through the signed webhook; then what the team sees."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.accounts.models import User
from kefu.cli import main
from kefu.conversations import presence
from kefu.conversations.models import Conversation
from tests.catalog.test_product_import import (
    ORDER_HEADERS,
    ORDERS,
    PRODUCT_HEADERS,
    PRODUCTS,
    _csv_gbk,
    _fresh_import_group,  # noqa: F401 - the autouse fixture the imports need
    _import,
    fresh_shop,  # noqa: F401 - pytest fixture
)
from tests.conftest import login_client
from tests.helpers import post_signed, routing_of

pytestmark = pytest.mark.django_db


def test_a_fresh_shop_answers_its_first_buyer(
    fresh_shop,  # noqa: F811
    tmp_path,
    capsys,
    django_capture_on_commit_callbacks,
):
    shop = fresh_shop
    products = _csv_gbk(tmp_path / "products.csv", PRODUCT_HEADERS, PRODUCTS)
    orders = _csv_gbk(tmp_path / "orders.csv", ORDER_HEADERS, ORDERS)
    assert _import("products", products, capsys)[0] == 0
    assert _import("orders", orders, capsys)[0] == 0

    owner = User.objects.get(shop=shop, role="owner")
    boss = login_client(owner)
    cream_id = boss.get("/api/v1/catalog/products?q=SKU-CREAM").json()[0]["id"]
    related = boss.patch(
        f"/api/v1/catalog/products/{cream_id}",
        json.dumps({"related": ["600002"]}),
        content_type="application/json",
    )
    assert related.status_code == 200, related.content

    # Lily has her inbox open; the buyer of order T-9001 writes from the cream's page.
    lily = User.objects.get(username="lily")
    presence.agent_socket_opened(user=lily)
    sent = post_signed(
        Client(),
        shop,
        {
            "external_id": "tb-msg-1",
            "buyer": {"external_id": "小红", "name": "小红"},
            "entry_point": "product_page",
            "product_external_id": "600001",
            "text": "面霜什么时候发货？",
        },
    )
    # A new shop queues buyer messages: 202 at once, the routing from the status endpoint.
    assert sent.status_code == 202, sent.content
    routed = routing_of(shop, "tb-msg-1")
    assert routed["status"] == "processed"
    conv = routed["conversation_id"]
    assert routed["assigned_agent"] == "lily"

    agent = login_client(lily)
    assert agent.get(f"/inbox/{conv}/").status_code == 200
    buyer_id = Conversation.objects.get(pk=conv).buyer_id
    sidebar = agent.get(f"/orders/sidebar/{buyer_id}/?conversation={conv}").content.decode()
    assert "T-9001" in sidebar  # her product's order, beside the chat
    assert "氨基酸洁面乳" in sidebar  # the related product, to send as a card

    # The cream ships free: asking for extra postage is stopped before it leaves.
    blocked = agent.post(f"/inbox/{conv}/reply/", {"text": "亲，需要再补10元邮费哦"})
    assert blocked.status_code >= 400 or "guard" in blocked.content.decode()
    texts = agent.get(f"/api/v1/conversations/{conv}/messages").json()
    assert not any("邮费" in m["text"] for m in texts if m["direction"] == "agent")

    # A fair reply is sent, but with no callback URL it honestly did not reach the buyer.
    with django_capture_on_commit_callbacks(execute=True):  # the worker's delivery
        sent_reply = agent.post(
            f"/api/v1/conversations/{conv}/replies",
            json.dumps({"text": "亲，付款后48小时内发货哦"}),
            content_type="application/json",
        )
    assert sent_reply.status_code == 201, sent_reply.content
    reply = agent.get(f"/api/v1/conversations/{conv}/messages").json()[-1]
    assert (reply["delivery"], reply["delivery_reason"]) == ("not_delivered", "no_callback_url")

    # The figures follow at once, with no worker running.
    capsys.readouterr()
    assert main(["metrics", "--shop", shop.slug, "--json"]) == 0
    total = json.loads(capsys.readouterr().out)["total"]
    assert total["reception_count"] >= 1 and total["replied_buyers"] >= 1, total
