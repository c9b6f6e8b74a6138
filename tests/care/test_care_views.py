"""The care pages as a seller uses them: complaints from a chat to the analysis and its
export, the reply box's "track this promise", the promise board, the risk board's dispute
deadlines, the workbench's alert bar and the after-sale settings."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from kefu.care import tasks
from kefu.care.complaints import ComplaintChange, ComplaintInput, open_complaint, update_complaint
from kefu.care.models import CareSettings, Complaint, Promise
from kefu.desk.replies import send_reply
from tests.conftest import login_client
from tests.helpers import buyer_says, online, post_order_signed
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


def english(user):
    """A signed-in client that chose the English interface (sub-accounts start in Chinese)."""
    client = login_client(user)
    client.post("/language/", {"language": "en", "next": "/"})
    return client


def test_a_complaint_from_a_chat_through_its_page(shop, owner, pre_agent, after_agent, product):
    online(pre_agent)
    conv = buyer_says(shop, "The lamp is broken", product="P-100").conversation
    client = english(pre_agent)
    form = client.get(f"/care/complaints/new/?conversation={conv.pk}")
    assert form.status_code == 200 and "Quality" in form.content.decode()
    refused = client.post(
        "/care/complaints/new/", {"conversation": conv.pk, "cause": "aliens", "summary": "x"}
    )
    assert refused.status_code == 400 and not Complaint.objects.exists()
    made = client.post(
        "/care/complaints/new/",
        {"conversation": conv.pk, "cause": "quality", "severity": "high", "summary": "cracked"},
    )
    complaint = Complaint.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/care/complaints/{complaint.pk}/"
    page = client.get(f"/care/complaints/{complaint.pk}/").content.decode()
    assert "Desk lamp" in page and "cracked" in page
    bad = client.post(
        f"/care/complaints/{complaint.pk}/", {"status": "resolved", "cause": "quality"}
    )
    assert bad.status_code == 400
    done = client.post(
        f"/care/complaints/{complaint.pk}/",
        {
            "status": "resolved",
            "resolution": "kept",
            "cause": "quality",
            "severity": "high",
            "owner": pre_agent.pk,
            "compensation_kind": "coupon",
            "compensation_amount": "3.50",
            "compensation_currency": "",
            "compensation_state": "accepted",
            "summary": "cracked; coupon accepted",
        },
    )
    assert done.status_code == 302
    complaint.refresh_from_db()
    assert (complaint.resolution, str(complaint.compensation_amount)) == ("kept", "3.50")
    listing = client.get("/care/complaints/?status=all").content.decode()
    assert f"#{complaint.pk}" in listing
    # Another sub-account does not see it.
    assert english(after_agent).get(f"/care/complaints/{complaint.pk}/").status_code == 404


def test_the_cause_analysis_counts_turned_around_and_exports(shop, owner, product, after_agent):
    order = make_order(shop, "O-A", products=[product], placed_at=timezone.now())
    kept = open_complaint(actor=owner, order=order, data=ComplaintInput(cause="quality"))
    update_complaint(
        actor=owner, complaint=kept, change=ComplaintChange(status="resolved", resolution="kept")
    )
    open_complaint(actor=owner, data=ComplaintInput(cause="price"))
    client = english(owner)
    page = client.get("/care/complaints/analysis/")
    body = page.content.decode()
    assert page.status_code == 200
    assert 'id="care-chart-data"' in body and "care_charts.js" in body
    assert "2 complaints, 1 resolved, 1 turned around" in body
    exported = client.get("/care/complaints/analysis/?export=csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["dimension", "key", "label", "complaints"]
    by_cause = {r[1]: r for r in rows if r[0] == "cause"}
    assert by_cause["quality"][6] == "1" and by_cause["quality"][7] == "1.0"
    product_row = next(r for r in rows if r[0] == "product")
    # One complaint over its one order of the period.
    assert (product_row[2], product_row[8], product_row[9]) == ("Desk lamp", "1", "1.0")
    xlsx = client.get("/care/complaints/analysis/?export=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    # A sub-account without these complaints sees none of them.
    assert "0 complaints" in english(after_agent).get("/care/complaints/analysis/").content.decode()


def test_the_reply_box_offers_to_track_a_promise_prefilled(shop, pre_agent, product):
    online(pre_agent)
    conv = buyer_says(shop, "Where is my refund?", product="P-100").conversation
    client = english(pre_agent)
    assert "Track this promise" not in client.get(f"/inbox/{conv.pk}/tools/").content.decode()
    client.post(f"/inbox/{conv.pk}/reply/", {"text": "Sorry! We will refund within 5 days."})
    tools = client.get(f"/inbox/{conv.pk}/tools/").content.decode()
    assert "Track this promise" in tools and "data-promise-offer" in tools
    link = tools.split('href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    form = client.get(link)
    assert form.status_code == 200
    html = form.content.decode()
    assert "We will refund within 5 days." in html
    due = html.split('name="due" value="', 1)[1].split('"', 1)[0]
    message = html.split('name="message" value="', 1)[1].split('"', 1)[0]
    saved = client.post(
        "/care/promises/new/",
        {"conversation": conv.pk, "message": message, "what": "Refund within 5 days", "due": due},
    )
    assert saved.status_code == 302
    promise = Promise.objects.get()
    assert (promise.kind, promise.owner, promise.message_id) == ("reply", pre_agent, int(message))
    assert "Track this promise" not in client.get(f"/inbox/{conv.pk}/tools/").content.decode()
    board = client.get("/care/promises/").content.decode()
    assert "Refund within 5 days" in board


def test_an_overdue_promise_shows_on_the_board_and_the_alert_bar(shop, owner, pre_agent, product):
    online(pre_agent)
    conv = buyer_says(shop, "Invoice?", product="P-100").conversation
    send_reply(actor=pre_agent, conversation=conv, text="发票明天寄出")
    import time_machine

    from kefu.care.promises import PromiseInput, record_promise

    promise = record_promise(
        actor=pre_agent,
        conversation=conv,
        data=PromiseInput(what="发票明天寄出", due_at=timezone.now() + dt.timedelta(hours=1)),
    )
    later = promise.due_at + dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=False):
        tasks.watch_shop(shop.pk)
        client = english(pre_agent)
        board = client.get("/care/promises/").content.decode()
        bar = client.get("/care/alerts/bar/").content.decode()
    overdue = board.split('data-promises="overdue"', 1)[1].split("</table>", 1)[0]
    assert "发票明天寄出" in overdue
    assert "Promise overdue: 发票明天寄出" in bar
    with time_machine.travel(later, tick=False):
        chinese = login_client(pre_agent).get("/care/alerts/bar/").content.decode()
    assert "承诺已逾期：发票明天寄出" in chinese
    closed = client.post(f"/care/promises/{promise.pk}/close/", {"outcome": "kept"})
    assert closed.status_code == 302
    assert "Promise overdue" not in client.get("/care/alerts/bar/").content.decode()


def test_the_risk_board_shows_a_dispute_near_its_deadline(shop, owner, product):
    response = post_order_signed(
        "/inbound",
        {
            "external_id": "WH-D",
            "buyer": {"external_id": "b-9", "name": "Olga"},
            "status": "IN_ISSUE",
            "placed_at": "2026-11-20T01:00:00+00:00",
        },
        shop,
    )
    assert response.status_code == 201
    tasks.watch_shop(shop.pk)
    dispute = Complaint.objects.get()
    # Not yet within a day of its 5-day deadline: not on the board.
    page = english(owner).get("/orders/risk/").content.decode()
    assert f"/care/complaints/{dispute.pk}/" not in page
    CareSettings.objects.create(shop=shop, dispute_hours={"aliexpress": 120})
    import time_machine

    assert dispute.respond_by is not None
    with time_machine.travel(dispute.respond_by - dt.timedelta(hours=3), tick=False):
        page = english(owner).get("/orders/risk/").content.decode()
    assert f"/care/complaints/{dispute.pk}/" in page and "WH-D" in page


def test_the_settings_are_the_owners_and_a_sub_account_only_reads(shop, owner, pre_agent):
    form = {
        "hours_aliexpress": "96",
        "hours_tmall": "48",
        "hours_taobao": "48",
        "hours_generic": "72",
        "remind_hours_before": "6",
        "surge_min_count": "5",
        "surge_factor": "2.5",
        "promise_due_soon_hours": "12",
        "causes": "Quality 质量问题\nWrong item 发错货\nFragile packaging",
    }
    assert english(pre_agent).get("/care/settings/").status_code == 200
    assert english(pre_agent).post("/care/settings/", form).status_code == 403
    assert not CareSettings.objects.exists()
    bad = english(owner).post("/care/settings/", {**form, "surge_factor": "0.5"})
    assert bad.status_code == 400 and not CareSettings.objects.exists()
    assert english(owner).post("/care/settings/", form).status_code == 302
    saved = CareSettings.objects.get()
    assert (saved.dispute_hours["aliexpress"], saved.surge_min_count) == (96, 5)
    page = english(owner).get("/care/complaints/new/").content.decode()
    assert "Fragile packaging" in page and "Price" not in page
