"""One click on the revisit table (R-34): the revisit script goes to the buyer in their
language through the rule guard and the outbox, or a call task is created; opted-out buyers
are shown and never messaged; revisits come first on the call list while the inbox is quiet;
results count replies and reorders within 7 days; a revisit that led to a second sale is
saved to the case archive with both orders (R-52)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.care.calls import add_call_tasks
from kefu.care.complaints import ComplaintInput, open_complaint
from kefu.care.followups import RuleInput, save_rule
from kefu.care.models import CallTask, Case, Revisit
from kefu.care.revisit_actions import revisit_subject, send_revisit
from kefu.care.revisits import revisit_table
from kefu.conversations.models import Message, Outbox
from kefu.outreach.models import OptOut
from tests.conftest import login_client
from tests.helpers import add_product, buyer_says, post_order_signed, set_quiet_hours

pytestmark = pytest.mark.django_db

SCRIPT = {
    "en": "Hi {name}, your tea is running low - shall we send more?",
    "ru": "{name}, чай скоро закончится - прислать ещё?",
}


def _order(shop, external_id: str, buyer: str, *, placed, delivered=None, language="ru"):
    payload = {
        "external_id": external_id,
        "buyer": {"external_id": buyer, "name": "Ivan", "language": language},
        "status": "TRADE_FINISHED" if delivered else "WAIT_SELLER_SEND_GOODS",
        "currency": "USD",
        "total_amount": "9.00",
        "paid_amount": "9.00",
        "placed_at": placed.isoformat(),
        "paid_at": placed.isoformat(),
        "items": [{"product_external_id": "TEA", "title": "Tea", "quantity": 1, "unit_price": "9"}],
    }
    if delivered:
        payload["delivered_at"] = delivered.isoformat()
    response = post_order_signed("/inbound", payload, shop)
    assert response.status_code in (200, 201), response.content


@pytest.fixture
def due_revisit(shop, owner, pre_agent):
    """A 30-day tea delivered 28 days ago: due a revisit now (3 days' lead)."""
    add_product(shop, "TEA", "Green tea", usage_cycle_days=30, owner=pre_agent)
    now = timezone.now()
    delivered = now - dt.timedelta(days=28)
    _order(shop, "T-1", "ivan", placed=now - dt.timedelta(days=33), delivered=delivered)
    save_rule(actor=owner, data=RuleInput(kind="revisit", texts=SCRIPT))
    # Whatever the hour the suite runs at: no quiet hours.
    set_quiet_hours(owner, "00:00", "00:00")
    (row,) = revisit_table(owner)
    return row


def test_one_click_sends_the_revisit_script_in_the_buyers_language_once(shop, owner, due_revisit):
    client = login_client(owner)
    form = {"order": due_revisit.order_id, "product": due_revisit.product_id, "way": "message"}
    response = client.post("/care/revisits/act/", form)
    assert response.status_code == 302
    revisit = Revisit.objects.get()
    assert revisit.message.text == "Ivan, чай скоро закончится - прислать ещё?"
    assert revisit.message.conversation.group == "after_sale"
    assert Outbox.objects.filter(message=revisit.message).exists()
    (row,) = revisit_table(owner)
    assert row.revisited == "message"
    page = client.get("/care/revisits/").content.decode()
    assert 'data-revisited="message"' in page
    # A second click sends nothing.
    again = client.post("/care/revisits/act/", form)
    assert again.status_code == 400
    assert Message.objects.filter(payload__automation="revisit").count() == 1


def test_an_opted_out_buyer_is_shown_never_messaged_and_can_be_called(shop, owner, due_revisit):
    buyer_says(shop, "退订", buyer="ivan")
    assert OptOut.objects.filter(buyer__external_id="ivan").exists()
    (row,) = revisit_table(owner)
    assert row.opted_out
    client = login_client(owner)
    page = client.get("/care/revisits/").content.decode()
    assert "data-opted-out" in page
    refused = client.post(
        "/care/revisits/act/",
        {"order": row.order_id, "product": row.product_id, "way": "message"},
    )
    assert refused.status_code == 400
    assert not Message.objects.filter(payload__automation="revisit").exists()
    called = client.post(
        "/care/revisits/act/", {"order": row.order_id, "product": row.product_id, "way": "call"}
    )
    assert called.status_code == 302
    task = CallTask.objects.get(reason="revisit")
    assert task.order.external_id == "T-1"
    assert Revisit.objects.get().call_task == task


def test_revisits_come_first_on_the_call_list_while_the_inbox_is_quiet(shop, owner, due_revisit):
    client = login_client(owner)
    client.post(
        "/care/revisits/act/",
        {"order": due_revisit.order_id, "product": due_revisit.product_id, "way": "call"},
    )
    # A late shipment to explain: paid 66 h ago, ship-by in 6 h.
    _order(shop, "LATE-1", "olga", placed=timezone.now() - dt.timedelta(hours=66))
    add_call_tasks(shop=shop)
    quiet = client.get("/care/calls/").content.decode()
    assert "data-inbox-quiet" in quiet
    assert quiet.index("revisit:order:") < quiet.index("late_shipment:order:")
    # A buyer waits in the inbox: the calls that cannot wait come first again.
    buyer_says(shop, "Where is my parcel?", buyer="someone")
    busy = client.get("/care/calls/").content.decode()
    assert "data-inbox-quiet" not in busy
    assert busy.index("late_shipment:order:") < busy.index("revisit:order:")


def test_results_count_replies_and_reorders_and_a_second_sale_becomes_a_case(
    shop, owner, due_revisit
):
    client = login_client(owner)
    client.post(
        "/care/revisits/act/",
        {"order": due_revisit.order_id, "product": due_revisit.product_id, "way": "message"},
    )
    buyer_says(shop, "Yes please, the same again", buyer="ivan")
    _order(shop, "T-2", "ivan", placed=timezone.now() + dt.timedelta(minutes=1))
    api = client.get("/api/v1/care/revisits/results").json()
    assert (api["revisits"], api["replied"], api["reordered"]) == (1, 1, 1)
    assert api["rows"][0]["second_order_external_id"] == "T-2"
    page = client.get("/care/revisits/").content.decode()
    assert 'data-revisit-totals="1/1/1"' in page
    revisit = Revisit.objects.get()
    saved = client.post(f"/care/revisits/{revisit.pk}/case/")
    assert saved.status_code == 302
    case = Case.objects.get()
    revisit.refresh_from_db()
    assert (revisit.case, revisit.second_order.external_id) == (case, "T-2")
    assert "T-2" in case.title
    assert case.conversation == revisit.message.conversation
    archive = client.get("/metrics/cases/").content.decode()
    assert "data-case-revisit" in archive and "T-2" in archive
    # Saved once.
    assert client.post(f"/care/revisits/{revisit.pk}/case/").status_code == 400


def test_an_order_more_than_7_days_later_is_not_the_revisits_sale(shop, owner, due_revisit):
    order, product = revisit_subject(
        owner, order_id=due_revisit.order_id, product_id=due_revisit.product_id
    )
    sent_at = timezone.now() - dt.timedelta(days=9)
    send_revisit(actor=owner, order=order, product=product, now=sent_at)
    _order(shop, "T-LATE", "ivan", placed=sent_at + dt.timedelta(days=8))
    api = login_client(owner).get("/api/v1/care/revisits/results").json()
    assert (api["revisits"], api["reordered"]) == (1, 0)
    revisit = Revisit.objects.get()
    assert login_client(owner).post(f"/care/revisits/{revisit.pk}/case/").status_code == 400
    assert not Case.objects.exists()


def test_quiet_hours_and_an_open_complaint_refuse_the_message(shop, owner, due_revisit):
    order, product = revisit_subject(
        owner, order_id=due_revisit.order_id, product_id=due_revisit.product_id
    )
    set_quiet_hours(owner, "22:00", "08:00")
    # 23:30 in Shanghai.
    night = dt.datetime(2026, 12, 1, 15, 30, tzinfo=dt.UTC)
    api = login_client(owner)
    with pytest.raises(ValidationError) as quiet:
        send_revisit(actor=owner, order=order, product=product, now=night)
    assert "08:00" in str(quiet.value)
    set_quiet_hours(owner, "00:00", "00:00")
    open_complaint(actor=owner, data=ComplaintInput(cause="quality"), order=order)
    refused = api.post(
        "/api/v1/care/revisits/send",
        {"order_id": order.pk, "product_id": product.pk},
        content_type="application/json",
    )
    assert refused.status_code == 400
    assert not Revisit.objects.exists()


def test_sub_accounts_act_only_on_the_rows_of_their_products(
    shop, owner, pre_agent, after_agent, due_revisit
):
    row = due_revisit
    form = {"order": row.order_id, "product": row.product_id, "way": "call"}
    assert login_client(after_agent).post("/care/revisits/act/", form).status_code == 404
    assert (
        login_client(after_agent)
        .post(
            "/api/v1/care/revisits/call",
            {"order_id": row.order_id, "product_id": row.product_id},
            content_type="application/json",
        )
        .status_code
        == 404
    )
    assert login_client(pre_agent).post("/care/revisits/act/", form).status_code == 302
    assert Revisit.objects.get().actor == pre_agent
