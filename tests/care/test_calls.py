"""The call group's tasks (R-42): a paid order close to its ship-by and a dispute near its
deadline become calls once; a call is logged; reached or agreed closes it, no answer or
refused keeps it; the outreach group sees every call, another sub-account its own orders'."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kefu.accounts.services import create_agent
from kefu.care import tasks
from kefu.care.calls import log_call
from kefu.care.models import CallLog, CallTask
from kefu.care.selectors import visible_call_tasks
from tests.conftest import PASSWORD, login_client
from tests.helpers import post_order_signed

pytestmark = pytest.mark.django_db


def _paid_order(shop, external_id: str, paid: dt.datetime, status: str = "WAIT_SELLER_SEND_GOODS"):
    response = post_order_signed(
        "/inbound",
        {
            "external_id": external_id,
            "buyer": {"external_id": f"b-{external_id}", "name": "Olga"},
            "status": status,
            "currency": "USD",
            "total_amount": "30.00",
            "paid_amount": "30.00",
            "placed_at": paid.isoformat(),
            "paid_at": paid.isoformat(),
            "items": [
                {"product_external_id": "P-100", "title": "Lamp", "quantity": 1, "unit_price": "30"}
            ],
        },
        shop,
    )
    assert response.status_code == 201, response.content


def test_late_shipments_and_disputes_become_calls_logged_until_closed(
    shop, owner, pre_agent, after_agent, product
):
    now = timezone.now()
    _paid_order(shop, "LATE-1", now - dt.timedelta(hours=66))  # ship-by (72 h) in 6 h
    _paid_order(shop, "FINE-1", now - dt.timedelta(hours=1))  # days left: no call
    _paid_order(shop, "DISP-1", now - dt.timedelta(hours=1), status="IN_ISSUE")
    from kefu.accounts.models import User
    from kefu.care.config import SettingsInput, save_care_settings

    save_care_settings(
        actor=owner,
        data=SettingsInput(
            dispute_hours={"aliexpress": 6},
            remind_hours_before=12,
            surge_factor=3,
            surge_min_count=3,
            promise_due_soon_hours=24,
        ),
    )
    first = tasks.watch_shop(shop.pk)
    assert first["calls"] == 2 and tasks.watch_shop(shop.pk)["calls"] == 0
    keys = set(CallTask.objects.values_list("reason", "order__external_id"))
    assert keys == {("late_shipment", "LATE-1"), ("dispute", "DISP-1")}

    caller = create_agent(
        actor=None, shop=shop, login="cathy", groups=["outreach"], password=PASSWORD
    )[0]
    assert visible_call_tasks(caller).count() == 2
    assert visible_call_tasks(pre_agent).count() == 2  # both orders hold Lily's lamp
    assert visible_call_tasks(after_agent).count() == 0
    late = CallTask.objects.get(reason="late_shipment")
    client = login_client(caller)
    client.post("/language/", {"language": "en", "next": "/"})
    page = client.get("/care/calls/").content.decode()
    assert "LATE-1" in page and "DISP-1" in page
    assert client.post("/care/calls/", {"task": late.pk, "outcome": "maybe"}).status_code == 400
    client.post("/care/calls/", {"task": late.pk, "outcome": "no_answer", "note": "voicemail"})
    late.refresh_from_db()
    assert (late.last_outcome, late.done_at) == ("no_answer", None)
    log_call(actor=caller, task=late, outcome="agreed", next_step="ship Friday")
    late.refresh_from_db()
    assert late.done_at is not None and late.last_outcome == "agreed"
    assert list(CallLog.objects.values_list("outcome", "agent__username")) == [
        ("no_answer", "cathy"),
        ("agreed", "cathy"),
    ]
    assert "LATE-1" not in client.get("/care/calls/").content.decode()
    assert User.objects.filter(username="cathy", in_outreach=True).exists()
