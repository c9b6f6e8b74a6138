"""The workbench pages: what each account sees, unread state, search, query counts."""

from __future__ import annotations

import pytest

from tests.conftest import login_client
from tests.helpers import add_product, buyer_says, online

pytestmark = pytest.mark.django_db


def test_owner_sees_all_and_agent_sees_own_products_and_assigned(
    shop, owner, pre_agent, after_agent
):
    add_product(shop, "P-MAX", "Ring light", owner=after_agent)
    online(pre_agent)
    buyer_says(shop, buyer="b-1", name="Assigned Anna")  # routed to Lily
    buyer_says(
        shop, buyer="b-2", name="Product Pavel", product="P-MAX"
    )  # Max's product, Lily holds it
    all_page = login_client(owner).get("/inbox/?view=all").content.decode()
    assert "Assigned Anna" in all_page and "Product Pavel" in all_page
    max_page = login_client(after_agent).get("/inbox/?view=all").content.decode()
    assert "Product Pavel" in max_page and "Assigned Anna" not in max_page


def test_opening_a_conversation_clears_unread_for_its_agent_only(shop, owner, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    owner_client = login_client(owner)
    owner_client.get(f"/inbox/{conv.pk}/")
    assert owner_client.post(f"/inbox/{conv.pk}/read/").status_code == 204
    conv.refresh_from_db()
    assert conv.unread_count == 1  # the owner looking does not read it for Lily
    lily = login_client(pre_agent)
    page = lily.get(f"/inbox/{conv.pk}/").content.decode()
    assert f'data-read-url="/inbox/{conv.pk}/read/"' in page
    lily.post(f"/inbox/{conv.pk}/read/")
    conv.refresh_from_db()
    assert conv.unread_count == 0


def test_a_get_never_marks_a_conversation_read(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    lily = login_client(pre_agent)
    lily.get(f"/inbox/{conv.pk}/")
    lily.get(f"/inbox/{conv.pk}/messages/")
    conv.refresh_from_db()
    assert conv.unread_count == 1


def test_search_finds_message_text_and_buyer_name(shop, owner):
    buyer_says(shop, buyer="b-1", name="Olga", text="Where is my parcel RU123?")
    buyer_says(shop, buyer="b-2", name="Pierre", text="Bonjour")
    client = login_client(owner)
    found = client.get("/inbox/list/?view=all&q=RU123").content.decode()
    assert "Olga" in found and "Pierre" not in found
    assert "Pierre" in client.get("/inbox/list/?view=all&q=pierre").content.decode()


def test_reply_through_the_page_and_enter_to_send_contract(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop).conversation
    client = login_client(pre_agent)
    response = client.post(f"/inbox/{conv.pk}/reply/", {"text": "Yes!"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Trigger"] == "kefu:sent"
    bad = client.post(f"/inbox/{conv.pk}/reply/", {"text": " "}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "消息为空" in bad.content.decode()
    assert conv.messages.filter(direction="agent").count() == 1


def test_interface_language_follows_the_choice(shop, owner):
    client = login_client(owner)
    client.post("/language/", {"language": "en", "next": "/inbox/"})
    assert "Inbox" in client.get("/inbox/").content.decode()
    client.post("/language/", {"language": "zh-hans", "next": "/inbox/"})
    page = client.get("/inbox/").content.decode()
    assert "收件箱" in page
    owner.refresh_from_db()
    assert owner.language == "zh-hans"


def test_inbox_list_query_count_does_not_grow_with_conversations(
    shop, owner, pre_agent, django_assert_max_num_queries
):
    online(pre_agent)
    for n in range(30):
        buyer_says(shop, buyer=f"b-{n}", product=None)
    client = login_client(owner)
    client.get("/inbox/list/?view=all")
    with django_assert_max_num_queries(8):
        response = client.get("/inbox/list/?view=all")
    assert response.content.decode().count('class="conv-list"') == 1
    assert response.content.decode().count("<li ") == 30


def test_widget_speaks_the_browser_language_and_english_to_others(shop):
    from django.test import Client

    def page(accept: str) -> str:
        return Client().get("/chat/aurora/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()

    assert "Chatea con nosotros" in page("es-ES")
    assert "在线咨询" in page("zh-CN,zh;q=0.9")
    # A language the widget does not speak: the shop's default (it serves English first).
    assert "Chat with us" in page("de-DE")


def test_agent_corrects_the_buyer_language_and_detection_no_longer_overrides_it(shop, pre_agent):
    online(pre_agent)
    conv = buyer_says(shop, text="Hello, do you ship to Spain?").conversation
    client = login_client(pre_agent)
    assert client.post(f"/inbox/{conv.pk}/language/", {"language": "es"}).status_code == 302
    buyer_says(shop, text="Thanks, and how long does it take?")
    conv.buyer.refresh_from_db()
    assert conv.buyer.language == "es"
    assert client.post(f"/inbox/{conv.pk}/language/", {"language": "xx"}).status_code == 400
