"""Product cards (R-21): an agent sends a suggested product to the buyer from the sidebar or the
API; it is a reply like any other (rule guard, outbox, delivery), scoped to the shop."""

from __future__ import annotations

import json
from decimal import Decimal

import httpx
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from kefu.catalog.models import Product
from kefu.compliance.models import ComplianceFinding
from kefu.conversations.models import ConversationEvent, Message, Outbox
from kefu.desk import replies
from kefu.desk.replies import send_product_card
from kefu.integrations import adapters
from kefu.integrations.signing import sign
from tests.conftest import login_client
from tests.helpers import add_product, buyer_says, online

pytestmark = pytest.mark.django_db

SHADE_URL = "https://www.aliexpress.com/item/200.html"


@pytest.fixture
def shade(shop, product) -> Product:
    """Suggested beside the desk lamp: related to it, priced, with a marketplace link."""
    return add_product(
        shop,
        "P-200",
        "Lamp shade",
        price=Decimal("12.5"),
        currency="USD",
        url=SHADE_URL,
        stock=10,
        related=[product],
    )


@pytest.fixture
def conv(shop, pre_agent, product):
    online(pre_agent)
    conversation = buyer_says(shop, product=product.external_id).conversation
    assert conversation.assignee == pre_agent
    return conversation


def agent_messages() -> int:
    return Message.objects.filter(direction="agent").count()


# --- the service ----------------------------------------------------------------------------


def test_card_carries_the_product_and_goes_out_through_the_outbox(conv, pre_agent, shade):
    message = send_product_card(actor=pre_agent, conversation=conv, product=shade)
    assert message.kind == "product_card"
    assert message.payload == {
        "product_external_id": "P-200",
        "title": "Lamp shade",
        "price": "12.50",
        "currency": "USD",
        "url": SHADE_URL,
    }
    # The fallback for channels without cards; a card is not signed (the next text reply is).
    assert message.text == f"Lamp shade · 12.50 USD\n{SHADE_URL}"
    assert Outbox.objects.get(message=message).status in ("pending", "delivered")
    assert ConversationEvent.objects.filter(kind="reply_sent", message=message).exists()
    conv.refresh_from_db()
    assert (conv.status, conv.unread_count, conv.waiting_since) == ("pending", 0, None)


def test_the_agents_first_text_reply_after_a_card_is_still_signed(conv, pre_agent, shade):
    send_product_card(actor=pre_agent, conversation=conv, product=shade)
    reply = replies.send_reply(actor=pre_agent, conversation=conv, text="It fits your lamp.")
    assert reply.text == "It fits your lamp.\n— Lily, Aurora Lights"


def test_product_without_price_or_web_link_sends_only_what_is_known(conv, pre_agent, product):
    product.url = "javascript:alert(1)"
    product.save()
    message = send_product_card(actor=pre_agent, conversation=conv, product=product)
    assert message.text == "Desk lamp"
    assert (message.payload["price"], message.payload["url"]) == (None, "")


def test_product_of_another_shop_is_refused_and_nothing_is_stored(conv, pre_agent, other_shop):
    foreign = add_product(other_shop, "P-200", "Rival lamp")
    with pytest.raises(PermissionDenied):
        send_product_card(actor=pre_agent, conversation=conv, product=foreign)
    assert agent_messages() == 0
    assert not Outbox.objects.exists()
    assert not ConversationEvent.objects.filter(kind="reply_sent").exists()


def test_product_without_a_title_is_refused(conv, pre_agent, shop):
    blank = Product.objects.create(shop=shop, external_id="P-300", title=" ")
    with pytest.raises(ValidationError):
        send_product_card(actor=pre_agent, conversation=conv, product=blank)
    assert agent_messages() == 0


def test_rule_guard_blocks_a_card_linking_off_the_marketplace(conv, pre_agent, shade):
    shade.url = "https://cheap-lamps.example.com/shade"
    shade.save()
    with pytest.raises(replies.RuleStop) as stop:
        send_product_card(actor=pre_agent, conversation=conv, product=shade, confirm_warnings=True)
    assert stop.value.needs_confirmation is False
    assert stop.value.verdict.codes == {"off_platform"}
    assert agent_messages() == 0
    assert not Outbox.objects.exists()
    finding = ComplianceFinding.objects.get()
    assert (finding.code, finding.blocked, finding.conversation_id) == (
        "off_platform",
        True,
        conv.pk,
    )


def test_callback_delivery_carries_the_card(
    shop, conv, pre_agent, shade, monkeypatch, django_capture_on_commit_callbacks
):
    shop.callback_url = "https://marketplace.example/callback"
    shop.save()
    seen: list[httpx.Request] = []

    def marketplace(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    monkeypatch.setattr(adapters.CallbackAdapter, "transport", httpx.MockTransport(marketplace))
    with django_capture_on_commit_callbacks(execute=True):
        message = send_product_card(actor=pre_agent, conversation=conv, product=shade)
    (request,) = seen
    timestamp = int(request.headers["X-Kefu-Timestamp"])
    assert request.headers["X-Kefu-Signature"] == sign(
        shop.webhook_secret, request.content, timestamp=timestamp
    )
    body = json.loads(request.content)
    assert (body["kind"], body["payload"], body["text"]) == (
        "product_card",
        message.payload,
        message.text,
    )
    assert Outbox.objects.get(message=message).status == "delivered"


# --- the sidebar and the page -----------------------------------------------------------------


def test_sidebar_offers_send_and_the_card_appears_in_the_timeline(conv, pre_agent, shade):
    client = login_client(pre_agent)
    sidebar = client.get(
        f"/orders/sidebar/{conv.buyer_id}/?conversation={conv.pk}&highlight="
    ).content.decode()
    assert f'action="/inbox/{conv.pk}/product-card/"' in sidebar
    assert 'name="product" value="P-200"' in sidebar
    assert "csrfmiddlewaretoken" in sidebar

    response = client.post(
        f"/inbox/{conv.pk}/product-card/", {"product": "P-200"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 204
    # Its own event: the reply box keeps what the agent is drafting.
    assert response["HX-Trigger"] == "kefu:card-sent"
    timeline = client.get(f"/inbox/{conv.pk}/messages/").content.decode()
    assert 'class="product-card" data-product="P-200"' in timeline
    assert f'href="{SHADE_URL}"' in timeline and "12.50 USD" in timeline


def test_send_button_and_card_speak_chinese_in_the_chinese_interface(conv, pre_agent, shade):
    client = login_client(pre_agent)
    client.post("/language/", {"language": "zh-hans"})
    sidebar = client.get(f"/orders/sidebar/{conv.buyer_id}/?conversation={conv.pk}").content
    assert "将此商品以商品卡片发送给买家" in sidebar.decode()
    client.post(f"/inbox/{conv.pk}/product-card/", {"product": "P-200"}, HTTP_HX_REQUEST="true")
    assert "查看商品" in client.get(f"/inbox/{conv.pk}/messages/").content.decode()


def test_plain_form_post_is_redirected_back_to_the_conversation(conv, owner, shade):
    response = login_client(owner).post(f"/inbox/{conv.pk}/product-card/", {"product": "P-200"})
    assert (response.status_code, response["Location"]) == (302, f"/inbox/{conv.pk}/")
    assert agent_messages() == 1


def test_sidebar_without_a_conversation_of_this_buyer_offers_no_send(conv, owner, shade, shop):
    other = buyer_says(shop, buyer="b-2", name="Pavel").conversation
    sidebar = (
        login_client(owner)
        .get(f"/orders/sidebar/{conv.buyer_id}/?conversation={other.pk}")
        .content.decode()
    )
    assert "product-card" not in sidebar


def test_sub_account_that_may_not_see_the_conversation_is_refused(conv, after_agent, shade):
    client = login_client(after_agent)  # another group, not its product, not assigned
    response = client.post(f"/inbox/{conv.pk}/product-card/", {"product": "P-200"})
    assert response.status_code == 404
    api = client.post(
        f"/api/v1/conversations/{conv.pk}/product-cards",
        data=json.dumps({"product_external_id": "P-200"}),
        content_type="application/json",
    )
    assert api.status_code == 404
    assert agent_messages() == 0


def test_unknown_or_foreign_product_is_404_on_the_page(conv, pre_agent, other_shop):
    add_product(other_shop, "P-RIVAL", "Rival lamp")
    client = login_client(pre_agent)
    for product in ("P-404", "P-RIVAL", ""):
        response = client.post(f"/inbox/{conv.pk}/product-card/", {"product": product})
        assert response.status_code == 404, product
    assert agent_messages() == 0


def test_page_shows_the_guard_and_a_warning_can_be_confirmed_for_the_card(conv, pre_agent, shade):
    client = login_client(pre_agent)
    client.post("/language/", {"language": "en"})
    shade.url = "https://cheap-lamps.example.com/shade"
    shade.save()
    blocked = client.post(
        f"/inbox/{conv.pk}/product-card/", {"product": "P-200"}, HTTP_HX_REQUEST="true"
    )
    assert blocked.status_code == 422 and "was not sent" in blocked.content.decode()
    assert blocked["HX-Retarget"] == "#action-error"

    shade.url = SHADE_URL
    shade.title = "Lamp shade, we cannot issue an invoice"
    shade.save()
    warned = client.post(
        f"/inbox/{conv.pk}/product-card/", {"product": "P-200"}, HTTP_HX_REQUEST="true"
    )
    body = warned.content.decode()
    assert warned.status_code == 409
    assert f'hx-post="/inbox/{conv.pk}/product-card/"' in body
    assert 'name="product" value="P-200"' in body
    assert agent_messages() == 0
    confirmed = client.post(
        f"/inbox/{conv.pk}/product-card/",
        {"product": "P-200", "confirm_warnings": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert confirmed.status_code == 204
    assert ComplianceFinding.objects.filter(code="invoice", overridden=True).exists()
    assert Message.objects.get(direction="agent").kind == "product_card"


def test_buyer_sees_the_card_in_the_chat_widget(shop, pre_agent, shade):
    online(pre_agent)
    buyer = Client()
    buyer.get("/chat/aurora/")  # sets the widget's signed buyer cookie
    sent = buyer.post("/chat/aurora/send/", {"text": "Do you have a shade?", "client_id": "c1"})
    assert sent.status_code == 204
    conv = Message.objects.get(direction="buyer").conversation
    send_product_card(actor=pre_agent, conversation=conv, product=shade)
    for url in ("/chat/aurora/", "/chat/aurora/messages/?after=0"):
        page = buyer.get(url).content.decode()
        assert 'class="product-card" data-product="P-200"' in page, url
        assert f'href="{SHADE_URL}"' in page and "Lamp shade" in page


# --- the API ----------------------------------------------------------------------------------


def api_post(client: Client, conversation_id: int, body: dict[str, object]):
    return client.post(
        f"/api/v1/conversations/{conversation_id}/product-cards",
        data=json.dumps(body),
        content_type="application/json",
    )


def test_api_sends_a_card_201(conv, pre_agent, shade):
    response = api_post(login_client(pre_agent), conv.pk, {"product_external_id": "P-200"})
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["payload"]["price"], body["payload"]["url"]) == (
        "product_card",
        "12.50",
        SHADE_URL,
    )
    messages = login_client(pre_agent).get(f"/api/v1/conversations/{conv.pk}/messages").json()
    assert messages[-1]["payload"]["title"] == "Lamp shade"
    assert messages[0]["payload"] == {}  # the buyer's text message


def test_api_refuses_bad_input_400_and_stores_nothing(conv, pre_agent, shop):
    Product.objects.create(shop=shop, external_id="P-300", title="")
    client = login_client(pre_agent)
    for body in ({"product_external_id": ""}, {}, {"product_external_id": "P-300"}):
        assert api_post(client, conv.pk, body).status_code == 400, body
    assert agent_messages() == 0


def test_api_without_the_csrf_token_is_403_and_stores_nothing(conv, pre_agent, shade):
    client = Client(enforce_csrf_checks=True)
    client.force_login(pre_agent)
    assert api_post(client, conv.pk, {"product_external_id": "P-200"}).status_code == 403
    assert agent_messages() == 0


def test_api_unknown_product_or_conversation_is_404(conv, pre_agent, rival, other_shop, shade):
    add_product(other_shop, "P-RIVAL", "Rival lamp")
    client = login_client(pre_agent)
    assert api_post(client, conv.pk, {"product_external_id": "P-404"}).status_code == 404
    assert api_post(client, conv.pk, {"product_external_id": "P-RIVAL"}).status_code == 404
    assert api_post(client, 999_999, {"product_external_id": "P-200"}).status_code == 404
    rival_client = login_client(rival)
    assert api_post(rival_client, conv.pk, {"product_external_id": "P-RIVAL"}).status_code == 404
    assert agent_messages() == 0


def test_api_rule_guard_answers_422_for_a_block_and_409_for_a_warning(conv, pre_agent, shade):
    client = login_client(pre_agent)
    shade.url = "https://cheap-lamps.example.com/shade"
    shade.save()
    blocked = api_post(client, conv.pk, {"product_external_id": "P-200"})
    assert blocked.status_code == 422 and blocked.json()["verdict"]["verdict"] == "block"
    shade.url = SHADE_URL
    shade.title = "Lamp shade, we cannot issue an invoice"
    shade.save()
    assert api_post(client, conv.pk, {"product_external_id": "P-200"}).status_code == 409
    assert agent_messages() == 0
    confirmed = api_post(
        client, conv.pk, {"product_external_id": "P-200", "confirm_warnings": True}
    )
    assert confirmed.status_code == 201
