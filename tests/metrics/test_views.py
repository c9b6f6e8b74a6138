"""The metrics pages: the dashboard with its exports and the daily inspection; who may see what."""

from __future__ import annotations

import csv as csv_module
import io
import json
import re

from openpyxl import load_workbook

from kefu.metrics import refresh
from tests.conftest import login_client
from tests.metrics.factories import RANGE, History, at


def test_dashboard_page_and_exports(history, owner, pre_agent):
    client = login_client(owner)
    page = client.get(f"/metrics/?{RANGE}&by=agent")
    assert page.status_code == 200
    html = page.content.decode()
    assert "接待人数" in html and 'data-chart="volume"' in html and "Lily" in html and "Max" in html
    csv = client.get(f"/metrics/?{RANGE}&by=day&export=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert csv["Content-Type"] == "text/csv"
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("day,reception count 接待人数")
    assert lines[1].startswith("2026-03-02,2,2,")
    # Times: raw seconds under a heading that says so, then the same time as a seller reads it.
    header, day2 = list(csv_module.reader(lines[:2]))
    raw = header.index("first response time 首次响应时间 (seconds 秒)")
    assert header[raw + 1] == "first response time 首次响应时间"
    assert (day2[raw], day2[raw + 1]) == ("1050.0", "17 min")  # 5 min and 30 min waits
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


def _chart(html: str) -> dict:
    found = re.search(
        r'<script id="metrics-chart-data" type="application/json">(.*?)</script>', html
    )
    assert found, "the chart data element is on the page"
    return json.loads(found.group(1))


def test_dashboard_charts_and_times_read_in_english(history, owner):
    html = (
        login_client(owner)
        .get(f"/metrics/?{RANGE}&by=agent", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    chart = _chart(html)
    assert chart["days"] == ["Mar 2", "Mar 3"]
    assert chart["day_axis"] == "Day (Asia/Shanghai)"
    assert chart["volume"]["counts"] == [2, 1] and chart["volume"]["rates"] == [100.0, 0.0]
    assert chart["volume"]["count_axis"] == "Buyers"
    assert chart["volume"]["rate_axis"] == "Reply rate (%)"
    first = chart["times"]["series"][0]
    assert first["name"] == "First response time"
    # 1050 s is under two hours: the axis is in minutes and the labels are durations.
    assert chart["times"]["axis"] == "Minutes" and chart["times"]["tick"] == "{value} min"
    assert first["values"] == [17.5, None] and first["labels"] == ["17 min", ""]
    # The totals and the rows read durations, and 24H回复量 has an English name.
    assert "17 min" in html and "1050" not in html
    assert "Messages replied within 24 h" in html and "Replied within 24 h" in html
    assert "(s)" not in html
    assert '<script src="/static/vendor/echarts/echarts.min.js"' in html


def test_dashboard_charts_and_times_read_in_chinese(history, owner):
    html = (
        login_client(owner)
        .get(f"/metrics/?{RANGE}&by=day", HTTP_ACCEPT_LANGUAGE="zh-hans")
        .content.decode()
    )
    chart = _chart(html)
    assert chart["days"] == ["3月2日", "3月3日"]
    assert chart["day_axis"] == "日期（Asia/Shanghai）"
    assert chart["volume"]["count_name"] == "接待人数"
    assert chart["volume"]["rate_name"] == "24小时回复率"
    assert chart["times"]["axis"] == "分钟" and chart["times"]["tick"] == "{value}分钟"
    assert chart["times"]["series"][0]["labels"] == ["17分钟", ""]
    assert "24H回复量" in html and "17分钟" in html


def test_dashboard_without_data_says_so_instead_of_an_empty_chart(owner):
    html = login_client(owner).get(f"/metrics/?{RANGE}", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert _chart(html)["empty"] is True
    assert "data-chart-empty" in html and 'data-chart="volume"' not in html
    assert "No buyer wrote in this range" in html


def test_inspection_shows_the_wait_as_a_duration(shop, owner, pre_agent):
    h = History(shop)
    h.buyer_says("slow", at(2, 10))
    h.reply("slow", at(2, 11, 5), pre_agent)
    refresh.rebuild_shop(shop=shop)
    client = login_client(owner)
    en = client.get("/metrics/inspection/?date=2026-03-02", HTTP_ACCEPT_LANGUAGE="en")
    assert "<td>1 h 5 min</td>" in en.content.decode()
    zh = client.get("/metrics/inspection/?date=2026-03-02", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "<td>1小时5分钟</td>" in zh.content.decode()


def test_buyers_without_any_reply_chart_the_volume_and_say_there_are_no_times(shop, owner):
    h = History(shop)
    h.buyer_says("waiting", at(2, 10))
    refresh.rebuild_shop(shop=shop)
    html = (
        login_client(owner)
        .get(f"/metrics/?{RANGE}&by=day", HTTP_ACCEPT_LANGUAGE="en")
        .content.decode()
    )
    chart = _chart(html)
    assert not chart["empty"] and chart["times"]["empty"]
    assert 'data-chart="volume"' in html and 'data-chart="times"' not in html
    assert "No reply by a person in this range yet" in html
