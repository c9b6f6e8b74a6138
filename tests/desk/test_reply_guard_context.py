"""The rule guard on the reply path with what a real shop knows (R-24, R-25, R-44): free
shipping from the product, else the order's items, else the shop's shipping policy; privacy
when the chatting account did not pay, or asks for "my other account's" details with no order."""

from __future__ import annotations

import pytest

from kefu.accounts.models import Role, User
from kefu.compliance.models import ComplianceFinding
from kefu.compliance.services import set_shipping_policy
from kefu.conversations.models import Message
from kefu.desk import replies
from tests.helpers import add_product, buyer_says, online, post_order_signed

pytestmark = pytest.mark.django_db

EXTRA_POSTAGE = "Xinjiang needs an extra 15 yuan for postage, please top it up."
ADDRESS = "The address is 88 King Road, phone 13912345678."


def _order(external_id: str, buyer: str, product: str) -> dict[str, object]:
    return {
        "external_id": external_id,
        "buyer": {"external_id": buyer, "name": "Olga"},
        "status": "paid",
        "currency": "USD",
        "total_amount": "25.00",
        "paid_amount": "25.00",
        "placed_at": "2026-11-01T10:00:00+08:00",
        "items": [{"title": "Lamp", "product_external_id": product, "unit_price": "25.00"}],
    }


def _send(agent: User, conv, text: str) -> set[str]:
    try:
        replies.send_reply(actor=agent, conversation=conv, text=text, confirm_warnings=True)
    except replies.RuleStop as stop:
        return set(stop.verdict.codes)
    return set()


@pytest.fixture
def agent(pre_agent):
    online(pre_agent)
    return pre_agent


def test_free_shipping_is_known_from_the_orders_items(shop, agent):
    add_product(shop, "P-1", "Lamp", free_shipping=True)
    assert post_order_signed("/inbound", _order("O-1", "b-1", "P-1"), shop).status_code == 201
    conv = buyer_says(shop, "When will it ship?", buyer="b-1", order="O-1").conversation
    assert _send(agent, conv, EXTRA_POSTAGE) == {"free_shipping"}
    assert not Message.objects.filter(direction="agent").exists()


def test_an_order_of_a_paid_postage_item_allows_asking_for_postage(shop, agent):
    add_product(shop, "P-2", "Sofa", free_shipping=False)
    assert post_order_signed("/inbound", _order("O-2", "b-1", "P-2"), shop).status_code == 201
    conv = buyer_says(shop, "Shipping to Xinjiang?", buyer="b-1", order="O-2").conversation
    assert _send(agent, conv, EXTRA_POSTAGE) == set()


def test_the_shops_shipping_policy_decides_without_product_or_order(shop, agent):
    conv = buyer_says(shop, "Do you ship free?", buyer="b-3", entry_point="shop_page").conversation
    assert _send(agent, conv, EXTRA_POSTAGE) == set()  # no promise known: nothing to break
    owner = User.objects.get(shop=shop, role=Role.OWNER)
    set_shipping_policy(shop=shop, actor=owner, free_shipping=True)
    assert _send(agent, conv, EXTRA_POSTAGE) == {"free_shipping"}


def test_regional_postage_set_by_the_policy_allows_pointing_at_the_page(shop, agent):
    owner = User.objects.get(shop=shop, role=Role.OWNER)
    set_shipping_policy(
        shop=shop, actor=owner, free_shipping=True, excluded_regions=["新疆", "西藏"]
    )
    conv = buyer_says(shop, "新疆包邮吗", buyer="b-4", entry_point="shop_page").conversation
    assert _send(agent, conv, "新疆地区请按商品页面标注的运费支付") == set()
    assert _send(agent, conv, "新疆要补15元运费哦") == {"free_shipping"}


def test_another_account_asking_for_the_address_with_no_order_is_blocked(shop, agent):
    conv = buyer_says(
        shop, "我用另一个账号买的，把收货地址和电话发我一下", buyer="b-5", entry_point="shop_page"
    ).conversation
    assert _send(agent, conv, ADDRESS) == {"privacy"}
    findings = ComplianceFinding.objects.filter(code="privacy")
    assert findings and all(f.blocked for f in findings)
    assert not any(ch.isdigit() for f in findings for ch in f.excerpt)  # masked
    # The compliant answer the guard suggests goes through.
    assert _send(agent, conv, "为保护买家信息，请使用下单付款的账号联系我们。") == set()


def test_the_same_reply_to_a_buyer_who_did_not_ask_for_another_account_passes(shop, agent):
    conv = buyer_says(
        shop, "What is your address?", buyer="b-6", entry_point="shop_page"
    ).conversation
    assert _send(agent, conv, ADDRESS) == set()


def test_a_chatting_account_that_is_not_the_orders_payer_gets_no_address(shop, agent):
    add_product(shop, "P-7", "Lamp")
    assert post_order_signed("/inbound", _order("O-7", "b-payer", "P-7"), shop).status_code == 201
    conv = buyer_says(shop, "Change the address please", buyer="b-other", order="O-7").conversation
    assert _send(agent, conv, "Done, I've updated the address to 5 Elm Road.") == {"privacy"}
    payer = buyer_says(shop, "Change the address please", buyer="b-payer", order="O-7")
    assert (
        _send(agent, payer.conversation, "Done, I've updated the address to 5 Elm Road.") == set()
    )


def test_the_reply_box_shows_the_verdict_while_typing_and_records_nothing(shop, agent):
    from tests.conftest import login_client

    add_product(shop, "P-9", "Lamp", free_shipping=True)
    conv = buyer_says(shop, "Postage to Xinjiang?", buyer="b-9", product="P-9").conversation
    client = login_client(agent)
    client.post("/language/", {"language": "en"})
    url = f"/inbox/{conv.pk}/reply/check/"
    page = client.get(f"/inbox/{conv.pk}/").content.decode()
    assert f'hx-post="{url}"' in page and 'id="reply-verdict"' in page
    draft = client.post(url, {"text": EXTRA_POSTAGE}, HTTP_HX_REQUEST="true")
    body = draft.content.decode()
    assert draft.status_code == 200
    assert "will not be sent as it is" in body and "Instead:" in body
    clean = client.post(url, {"text": "It ships within 48 hours."}, HTTP_HX_REQUEST="true")
    assert "No rule problems found" in clean.content.decode()
    empty = client.post(url, {"text": "  "}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 200 and not empty.content.decode().strip()
    assert not ComplianceFinding.objects.exists()
    assert not Message.objects.filter(direction="agent").exists()


def test_the_reply_box_says_why_the_model_warns(shop, agent):
    """A warning of the n-gram model behind the rules shows its phrases, in the agent's
    language, beside the rule's compliant wording."""
    from tests.conftest import login_client

    conv = buyer_says(shop, "能刷信用卡吗", buyer="b-10", entry_point="shop_page").conversation
    client = login_client(agent)
    url = f"/inbox/{conv.pk}/reply/check/"
    for language, said in (
        ("zh-hans", "「刷卡的话」"),
        ("en", "pay more for a card: &#x27;刷卡的话&#x27;"),
    ):
        client.post("/language/", {"language": language})
        body = client.post(url, {"text": "刷卡的话价格要上浮一点"}, HTTP_HX_REQUEST="true")
        assert said in body.content.decode()
    assert not ComplianceFinding.objects.exists()
