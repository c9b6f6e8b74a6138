"""The reply box's scripts: the right script for the order's state, filled from the order and
parcels, gaps never sent (R-11, R-13, R-14)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.automation.models import AutomationHit
from kefu.automation.scripts import install_default_scripts
from kefu.conversations.models import Message
from kefu.desk import replies
from kefu.orders.inputs import ItemInput, OrderInput
from kefu.orders.tracking import TrackingInput, record_tracking
from kefu.orders.upserts import upsert_orders
from tests.conftest import login_client
from tests.helpers import add_product, buyer_says, online

pytestmark = pytest.mark.django_db


@pytest.fixture
def conv(shop, after_agent, owner):
    install_default_scripts(shop=shop)
    # A sub-account sees the orders of its own products: this order is Max's product.
    add_product(shop, "AE-LAMP", "Moon lamp", owner=after_agent)
    online(after_agent)
    conv = buyer_says(
        shop,
        entry_point="order_detail",
        order="AE-7001",
        name="Emma",
        text="Tracking says my parcel is ready for pickup at the post office?",
    ).conversation
    upsert_orders(
        shop=shop,
        inputs=[
            OrderInput(
                external_id="AE-7001",
                buyer_external_id=conv.buyer.external_id,
                currency="USD",
                paid_amount=Decimal("25"),
                status="shipped",
                items=(ItemInput(title="Moon lamp", product_external_id="AE-LAMP"),),
                placed_at=timezone.now() - dt.timedelta(days=20),
            )
        ],
    )
    arrived = timezone.now() - dt.timedelta(days=2)
    record_tracking(
        shop=shop,
        tracking_number="LX123456789CN",
        carrier="Cainiao",
        order_external_id="AE-7001",
        events=[TrackingInput(status="available_for_pickup", occurred_at=arrived)],
    )
    return conv


def test_pickup_parcel_brings_the_post_office_script_filled_from_the_order(conv, after_agent):
    client = login_client(after_agent)
    offers = client.get(f"/api/v1/conversations/{conv.pk}/suggestions").json()
    top = offers[0]
    assert top["title"] == "Parcel waiting at the local post office"
    assert "LX123456789CN" in top["text"] and "Emma" in top["text"]
    assert "{" not in top["text"]
    page = client.get(f"/inbox/{conv.pk}/tools/").content.decode()
    assert "Parcel waiting at the local post office" in page
    assert "待取件" in page  # the order's state in the agent's language, not a code
    assert "available_for_pickup" not in page


def test_a_reply_with_an_unfilled_gap_is_refused(conv, after_agent):
    with pytest.raises(ValidationError, match="发送前请补全空缺"):
        replies.send_reply(
            actor=after_agent, conversation=conv, text="Your order [order id?] ships today"
        )
    assert not Message.objects.filter(direction="agent").exists()


def test_sending_a_suggested_script_records_its_use(conv, after_agent):
    client = login_client(after_agent)
    top = client.get(f"/api/v1/conversations/{conv.pk}/suggestions").json()[0]
    response = client.post(
        f"/api/v1/conversations/{conv.pk}/replies",
        data=json.dumps({"text": top["text"], "script_variant_id": top["variant_id"]}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    hit = AutomationHit.objects.get(kind="script")
    assert hit.reply_message_id == response.json()["id"]
    assert hit.suggested is True


def test_scripts_without_examples_still_give_a_reply_box(shop, owner, pre_agent):
    """Issue 10: a shop whose own scripts have no example phrasings yet made the vectoriser
    fail, and the reply box answered 500."""
    from kefu.automation.scripts import ScriptInput, create_script

    create_script(
        actor=owner,
        data=ScriptInput(
            stage="pre_sale",
            topic="sizes",
            title="Sizes",
            variants={"en": "Our sizes run small, {buyer_name}."},
            examples="",
        ),
    )
    online(pre_agent)
    conv = buyer_says(shop, "What size should I take?").conversation
    client = login_client(pre_agent)

    tools = client.get(f"/inbox/{conv.pk}/tools/")
    api = client.get(f"/api/v1/conversations/{conv.pk}/suggestions")

    assert tools.status_code == 200
    assert api.status_code == 200
    assert [o["title"] for o in api.json()] == ["Sizes"]
