"""The outreach page: count before saving, schedule, control, results; in both languages."""

from __future__ import annotations

from kefu.outreach.models import Campaign, Segment
from tests.conftest import login_client
from tests.orders.factories import make_order


def test_the_page_counts_saves_schedules_and_pauses(shop, owner):
    make_order(shop, "O1", buyer="ann", amount="300.00")
    client = login_client(owner)
    page = client.get("/outreach/?preview=1&min_spend=100")
    assert page.status_code == 200
    assert "1 位买家" in page.content.decode() and "Ann" in page.content.decode()
    assert not Segment.objects.exists()
    assert client.post("/outreach/segments", {"name": "Big", "min_spend": "100"}).status_code == 302
    segment = Segment.objects.get(shop=shop)
    form = {"name": "D11", "segment": segment.pk, "starts_at": "2026-11-10T08:00"}
    bad = client.post("/outreach/campaigns", {**form, "text_zh": "加我微信私下交易"})
    assert bad.status_code == 400 and not Campaign.objects.exists()
    ok = client.post("/outreach/campaigns", {**form, "text_en": "Hi {name}"})
    assert ok.status_code == 302
    campaign = Campaign.objects.get(shop=shop)
    assert campaign.starts_at.utcoffset().total_seconds() == 0  # stored in UTC
    assert campaign.starts_at.hour == 0  # 08:00 in the shop's Shanghai time
    # Its start has passed: it is sending (the segment is re-read at every step).
    assert 'D11 <span class="muted">· Big · 发送中' in client.get("/outreach/").content.decode()
    client.post(f"/outreach/campaigns/{campaign.pk}/control", {"action": "pause"})
    campaign.refresh_from_db()
    assert campaign.status == "paused"
    assert "· Big · 已暂停" in client.get("/outreach/").content.decode()
    again = client.post(f"/outreach/campaigns/{campaign.pk}/control", {"action": "pause"})
    assert again.status_code == 400


def test_the_page_speaks_chinese(shop, owner):
    client = login_client(owner)
    client.post("/language/", {"language": "zh-hans", "next": "/outreach/"})
    page = client.get("/outreach/", headers={"accept-language": "zh-hans"})
    assert "营销活动" in page.content.decode()


def test_agents_without_the_right_cannot_open_it(shop, pre_agent):
    assert login_client(pre_agent).get("/outreach/").status_code in (403, 404)
