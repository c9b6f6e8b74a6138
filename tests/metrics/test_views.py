"""The metrics pages: the dashboard with its exports and the daily inspection; who may see what."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from kefu.metrics import refresh
from tests.conftest import login_client
from tests.metrics.factories import RANGE, History, at


def test_dashboard_page_and_exports(history, owner, pre_agent):
    client = login_client(owner)
    page = client.get(f"/metrics/?{RANGE}&by=agent")
    assert page.status_code == 200
    html = page.content.decode()
    assert "接待人数" in html and "<svg" in html and "Lily" in html and "Max" in html
    csv = client.get(f"/metrics/?{RANGE}&by=day&export=csv")
    assert csv["Content-Type"] == "text/csv"
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("day,reception count 接待人数")
    assert lines[1].startswith("2026-03-02,2,2,")
    xlsx = client.get(f"/metrics/?{RANGE}&by=agent&export=xlsx")
    ws = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][1] == "reception count 接待人数"
    assert {r[0] for r in rows[1:-2]} >= {"Lily", "Max"}
    assert rows[-2][0] == "total" and rows[-2][1] == 3


def test_dashboard_agent_sees_own_row_only(history, pre_agent, after_agent):
    html = login_client(pre_agent).get(f"/metrics/?{RANGE}&by=agent").content.decode()
    assert f'data-row="{pre_agent.pk}"' in html
    assert f'data-row="{after_agent.pk}"' not in html
    assert 'data-row="0"' not in html
    assert "Reporting currency" not in html


def test_pages_need_login(db):
    from django.test import Client

    for url in ("/metrics/", "/metrics/inspection/"):
        r = Client().get(url)
        assert r.status_code == 302 and "/login" in r["Location"]


def test_inspection_is_owner_only_and_lists_slow_and_unanswered(shop, owner, pre_agent):
    h = History(shop)
    h.buyer_says("slow", at(2, 10))
    h.reply("slow", at(2, 11), pre_agent)  # 60 minutes > 30
    h.buyer_says("quick", at(2, 10))
    h.reply("quick", at(2, 10, 1), pre_agent)
    h.buyer_says("ignored", at(2, 12))
    refresh.rebuild_shop(shop=shop)
    assert login_client(pre_agent).get("/metrics/inspection/?date=2026-03-02").status_code == 403
    r = login_client(owner).get("/api/v1/metrics/inspection?date=2026-03-02")
    doc = r.json()
    assert [s["buyer"] for s in doc["slow_replies"]] == ["slow"]
    assert doc["slow_replies"][0]["minutes"] == 60
    assert [u["buyer"] for u in doc["unanswered"]] == ["ignored"]
    assert doc["findings"] == []
    page = login_client(owner).get("/metrics/inspection/?date=2026-03-02")
    assert page.status_code == 200 and "slow" in page.content.decode()
