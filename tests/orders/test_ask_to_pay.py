"""The purple mark's duty: a refunded parcel delivered after all asks the buyer to pay, once."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kefu.conversations import marks
from kefu.conversations.models import Message
from kefu.orders import ask_to_pay
from tests.helpers import buyer_says, online


@pytest.fixture
def conv(shop, after_agent):
    online(after_agent)
    return buyer_says(
        shop, entry_point="order_detail", order="8001", text="Parcel lost!"
    ).conversation


def test_purple_mark_asks_to_pay_once_after_delivery(shop, conv, after_agent, owner):
    from decimal import Decimal

    from kefu.orders.models import Order

    order = Order.objects.create(
        shop=shop,
        external_id="8001",
        buyer=conv.buyer,
        currency="USD",
        paid_amount=Decimal("20"),
        status="refunded",
        placed_at=timezone.now(),
    )
    mark = marks.add_mark(actor=after_agent, conversation=conv, color="purple", amount="20")
    assert ask_to_pay.ask_to_pay_after_delivery() == 0  # not delivered yet
    Order.objects.filter(pk=order.pk).update(flags=["ask_buyer_to_pay"])
    assert ask_to_pay.ask_to_pay_after_delivery() == 1
    assert ask_to_pay.ask_to_pay_after_delivery() == 0
    ask = Message.objects.get(conversation=conv, direction="auto", payload__automation="ask_to_pay")
    conv.buyer.refresh_from_db()
    assert ask.text == ask_to_pay.ASK_TO_PAY.get(conv.buyer.language, ask_to_pay.ASK_TO_PAY["en"])
    mark.refresh_from_db()
    assert mark.duty_done_at is not None
