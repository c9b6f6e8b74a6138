"""Returns and exchanges (R-30): each step with its time and who did it, the refund through
the order's refund record (rights and limits apply), the replacement through the reshipment
path, the buyer's script at each step, and the pages."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kefu.care.models import ReturnRequest
from kefu.care.returns import StepInput, advance_return, buyer_script, open_return
from kefu.conversations.models import Direction, Message
from kefu.orders.models import Order, OrderFlag, Parcel
from tests.conftest import login_client
from tests.helpers import buyer_says, online
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


def _step(actor, r, status, **extra):
    return advance_return(actor=actor, request=r, step=StepInput(status=status, **extra))


def test_a_return_goes_from_request_to_refund_step_by_step(shop, owner, after_agent, product):
    order = make_order(shop, "R-1", products=[product], amount="40.00", status="delivered")
    r = open_return(actor=after_agent, order=order, kind="return", reason="Too small")
    with pytest.raises(ValidationError):  # one open return per order
        open_return(actor=owner, order=order, kind="exchange", reason="again")
    with pytest.raises(ValidationError):  # no skipping to the refund
        _step(owner, r, "refunded", amount="40")
    r = _step(owner, r, "approved")
    with pytest.raises(ValidationError):
        _step(after_agent, r, "sent_back")  # the buyer's tracking number is needed
    r = _step(after_agent, r, "sent_back", tracking_number="RET123", carrier="YTO")
    assert "RET123" in buyer_script(r, language="en")
    assert "RET123" in buyer_script(r, language="zh-hans")
    r = _step(after_agent, r, "received")
    with pytest.raises(PermissionDenied):  # a sub-account without the refund right
        _step(after_agent, r, "refunded", amount="40")
    r = _step(owner, r, "refunded", amount="40")
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("40.00") and r.refund is not None
    assert r.refund.kind == "return"
    steps = list(r.steps.values_list("status", "actor__username"))
    assert steps == [
        ("requested", "max"),
        ("approved", "owner"),
        ("sent_back", "max"),
        ("received", "max"),
        ("refunded", "owner"),
    ]
    assert "原路退回" in buyer_script(r, language="zh-hans")
    # Done: the order may have a new return now.
    open_return(actor=owner, order=order, kind="exchange", reason="second item")


def test_an_exchange_ships_the_replacement_as_a_reshipment(shop, owner, product):
    order = make_order(shop, "X-1", products=[product], status="delivered")
    r = open_return(actor=owner, order=order, kind="exchange", reason="Wrong colour")
    for status, extra in (
        ("approved", {}),
        ("sent_back", {"tracking_number": "BACK1"}),
        ("received", {}),
    ):
        r = _step(owner, r, status, **extra)
    with pytest.raises(ValidationError):
        _step(owner, r, "refunded", amount="1")  # an exchange is not refunded
    r = _step(owner, r, "replacement_shipped", tracking_number="NEW777", carrier="SF")
    parcel = Parcel.objects.get(tracking_number="NEW777")
    assert r.replacement == parcel and parcel.order_id == order.pk
    assert OrderFlag.SEND_NEW_TRACKING in Order.objects.get(pk=order.pk).flags
    assert "NEW777" in buyer_script(r, language="en")


def test_the_return_pages_record_steps_and_send_the_script(shop, after_agent, product):
    online(after_agent)
    make_order(shop, "R-9", buyer="b-1", products=[product], status="delivered")
    conv = buyer_says(
        shop, "I want to return it", buyer="b-1", entry_point="order_detail", order="R-9"
    ).conversation
    assert conv.assignee == after_agent
    client = login_client(after_agent)
    client.post("/language/", {"language": "en", "next": "/"})
    made = client.post(
        "/care/returns/new/", {"conversation": conv.pk, "kind": "return", "reason": "Too big"}
    )
    r = ReturnRequest.objects.get()
    assert made.status_code == 302 and r.order.external_id == "R-9"
    page = client.get(f"/care/returns/{r.pk}/").content.decode()
    assert "We have your return request for order R-9" in page
    refused = client.post(f"/care/returns/{r.pk}/", {"step": "received"})
    assert refused.status_code == 400
    client.post(f"/care/returns/{r.pk}/", {"step": "approved"})
    r.refresh_from_db()
    assert r.status == "approved"
    sent = client.post(f"/care/returns/{r.pk}/send/", {"text": "Please send it back, thanks!"})
    assert sent.status_code == 302
    assert Message.objects.filter(
        conversation=conv, direction=Direction.AGENT, text__startswith="Please send it back"
    ).exists()
    assert "R-9" in client.get("/care/returns/").content.decode()
