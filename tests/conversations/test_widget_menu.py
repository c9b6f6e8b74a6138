"""The widget offers the shop's live keyword set as questions under the welcome (R-50):
picking one sends it as the buyer's message, and the keyword reply answers it."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest
from django.test import Client

from kefu.automation.data.starter import KEYWORDS
from kefu.conversations.models import Message
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def _questions(page: str) -> list[str]:
    return [unescape(q) for q in re.findall(r'<button class="question">([^<]*)</button>', page)]


def _turn_keywords(owner, on: bool) -> None:
    client = login_client(owner)
    settings = client.get("/api/v1/automation/settings").json()
    answer = client.put(
        "/api/v1/automation/settings",
        data=json.dumps({**settings, "keyword_replies_enabled": on}),
        content_type="application/json",
    )
    assert answer.status_code == 200


def test_picking_a_question_sends_it_and_the_keyword_reply_answers(shop, owner):
    assert login_client(owner).post("/api/v1/shop/setup/starter").status_code == 200
    buyer = Client()
    # The starter set is off until the owner turns keyword replies on: no menu yet.
    assert _questions(buyer.get(f"/chat/{shop.slug}/").content.decode()) == []

    _turn_keywords(owner, True)
    page = Client().get(f"/chat/{shop.slug}/").content.decode()
    questions = _questions(page)
    assert questions == [k["keyword"] for k in KEYWORDS["en"]]
    assert page.count(f'hx-post="/chat/{shop.slug}/send/"') == len(questions) + 1

    picked = questions[1]
    buyer.get(f"/chat/{shop.slug}/")  # the widget's identity cookie
    sent = buyer.post(f"/chat/{shop.slug}/send/", {"text": picked})
    assert sent.status_code == 204
    asked = Message.objects.get(shop=shop, direction="buyer")
    assert asked.text == picked
    keyword = Message.objects.get(shop=shop, direction="auto", payload__automation="keyword")
    assert keyword.text == KEYWORDS["en"][1]["text"]
    shown = buyer.get(f"/chat/{shop.slug}/").content.decode()
    assert KEYWORDS["en"][1]["text"] in unescape(shown)
    assert _questions(shown) == []  # under the welcome only, before the first message


def test_no_menu_while_keyword_replies_are_off(shop, owner):
    assert login_client(owner).post("/api/v1/shop/setup/starter").status_code == 200
    _turn_keywords(owner, True)
    _turn_keywords(owner, False)
    assert _questions(Client().get(f"/chat/{shop.slug}/").content.decode()) == []
