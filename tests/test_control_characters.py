"""One rule for control characters, at every boundary text comes in by (issue 10 item 2):
they are removed, on SQLite and PostgreSQL alike — never a 500, never a lost message."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from kefu.accounts.models import Shop
from kefu.automation.models import QuickReply
from kefu.care.models import Case
from kefu.cli import main as kefu
from kefu.conversations.models import Buyer, Message
from kefu.orders.models import Order
from tests.conftest import login_client
from tests.helpers import buyer_says, online, post_order_signed, post_signed, routing_of

pytestmark = pytest.mark.django_db

NASTY = ["\x00", "\x07", "\x1b", "\x7f", "\x00\x00"]


def _clean(text: str) -> bool:
    return not any(c in text for c in "\x00\x07\x1b\x7f")


@pytest.mark.parametrize("bad", NASTY)
def test_the_signed_webhook_stores_the_message_cleaned(shop, pre_agent, bad):
    online(pre_agent)
    response = post_signed(
        Client(),
        shop,
        {
            "external_id": f"m{bad}-1",
            "buyer": {"external_id": f"b{bad}-1", "name": f"Iv{bad}an"},
            "entry_point": "product_page",
            "text": f"Hello{bad} is it in stock?",
        },
    )

    assert response.status_code == 202, response.content
    assert response.json()["external_id"] == "m-1"
    routed = routing_of(shop, "m-1")
    assert routed["status"] == "processed"
    message = Message.objects.get(pk=routed["message_id"])
    assert message.text == "Hello is it in stock?"
    assert (message.external_id, message.buyer.external_id, message.buyer.name) == (
        "m-1",
        "b-1",
        "Ivan",
    )
    again = post_signed(
        Client(),
        shop,
        {
            "external_id": f"m{bad}-1",
            "buyer": {"external_id": "b-1"},
            "entry_point": "product_page",
            "text": "retry",
        },
    )
    assert again.json()["duplicate"] is True  # the cleaned id is what retries match


def test_the_order_webhook_stores_the_order_cleaned(shop):
    response = post_order_signed(
        "/inbound",
        {
            "external_id": "WH\x00-9",
            "buyer": {"external_id": "ru\x00_ivan", "name": "Ivan\x00"},
            "status": "WAIT_BUYER_PAY",
            "currency": "USD",
            "total_amount": "10.00",
            "placed_at": "2024-11-11T01:00:00+00:00",
        },
        shop,
    )

    assert response.status_code == 201, response.content
    order = Order.objects.get(shop=shop)
    assert (order.external_id, order.buyer.external_id) == ("WH-9", "ru_ivan")


def test_the_widget_takes_text_name_and_client_id_cleaned(shop, pre_agent):
    online(pre_agent)
    client = Client()
    client.get(f"/chat/{shop.slug}/")

    response = client.post(
        f"/chat/{shop.slug}/send/",
        {"text": "Do you\x00 ship?", "name": "Ma\x00ria", "client_id": "c\x00-1"},
    )

    assert response.status_code == 204
    message = Message.objects.get(direction="buyer")
    assert (message.text, message.buyer.name) == ("Do you ship?", "Maria")
    assert _clean(message.external_id or "")


def test_replies_quick_replies_cases_and_shop_settings_are_cleaned(shop, owner, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop, "Hello").conversation
    lily = login_client(pre_agent)
    boss = login_client(owner)

    page = lily.post(f"/inbox/{conv.pk}/reply/", {"text": "Yes\x00, in stock"})
    api = lily.post(
        f"/api/v1/conversations/{conv.pk}/replies",
        json.dumps({"text": "Ships\x07 today"}),
        content_type="application/json",
    )
    quick = lily.post(
        "/api/v1/automation/quick-replies",
        json.dumps({"title": "t\x00", "body": "Thank you\x00!"}),
        content_type="application/json",
    )
    case = boss.post(
        "/api/v1/metrics/cases",
        json.dumps({"title": "Late\x00 parcel", "event": "Buyer\x00 angry"}),
        content_type="application/json",
    )
    patched = boss.patch(
        "/api/v1/shop", json.dumps({"name": "Aurora\x00 Lights"}), content_type="application/json"
    )

    assert page.status_code < 500 and api.status_code == 201
    assert quick.status_code == 201 and case.status_code == 201 and patched.status_code == 200
    texts = list(Message.objects.filter(direction="agent").values_list("text", flat=True))
    assert texts and all(_clean(t) for t in texts)
    assert any(t.startswith("Yes, in stock") for t in texts)
    assert QuickReply.objects.get().body == "Thank you!"
    assert Case.objects.get().title == "Late parcel"
    assert Shop.objects.get(pk=shop.pk).name == "Aurora Lights"


@pytest.mark.parametrize("query", ["%00", "lamp%00", "%07%1b"])
def test_searches_answer_instead_of_failing(shop, owner, query):
    buyer_says(shop, "Is the lamp in stock?")
    client = login_client(owner)

    assert client.get(f"/inbox/list/?view=all&q={query}").status_code == 200
    assert client.get(f"/inbox/?q={query}").status_code == 200
    assert client.get(f"/api/v1/conversations?view=all&q={query}").status_code == 200


def test_a_history_line_with_a_nul_byte_is_imported_and_the_others_too(shop, tmp_path):
    lines = [
        {
            "external_id": f"x{i}",
            "buyer_external_id": "ivan",
            "direction": "buyer",
            "sent_at": f"2026-03-02T10:0{i}:00+08:00",
            "text": text,
            "entry_point": "product_page",
        }
        for i, text in enumerate(["Hello", "Is it\x00 in stock?", "Thanks"])
    ]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")

    assert kefu(["import", "messages", str(path), "--shop", shop.slug]) == 0

    texts = sorted(Message.objects.values_list("text", flat=True))
    assert texts == ["Hello", "Is it in stock?", "Thanks"]
    assert Buyer.objects.get(shop=shop).external_id == "ivan"


def test_a_body_is_cleaned_whichever_way_json_writes_a_control_character():
    # loads_clean skips the walk for a body with no escape or DEL that could hold one: the
    # result must be the walk's for every character, escaped (ASCII) or raw, key or value.
    from kefu.core.controls import clean_data, loads_clean

    for code in [*range(0x300), 0x2028, 0xFEFF, 0x1F600]:
        ch = chr(code)
        for ascii_only in (True, False):
            raw = json.dumps({f"k{ch}": [f"a{ch}b", {"x": ch}]}, ensure_ascii=ascii_only)
            assert loads_clean(raw.encode()) == clean_data(json.loads(raw)), (hex(code), raw)
    for raw in (rb'{"a": "\b\f\t\n\r"}', rb'{"a": "\u007F\u001f"}', b'{"a": "\x7f"}'):
        assert loads_clean(raw) == clean_data(json.loads(raw))
    assert loads_clean(rb'{"a": "x\u0000y"}') == {"a": "xy"}
