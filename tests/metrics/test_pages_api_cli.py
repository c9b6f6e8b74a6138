"""Dashboard, inspection, cases, exports, API and CLI; who may see what."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from openpyxl import load_workbook

from kefu.cli import main as kefu
from kefu.metrics import services
from kefu.metrics.models import Case
from tests.conftest import login_client
from tests.metrics.factories import History, at


@pytest.fixture
def history(shop, pre_agent, after_agent):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    h.reply("b1", at(2, 10, 5), pre_agent)
    h.buyer_says("b2", at(2, 11), group="after_sale")
    h.reply("b2", at(2, 11, 30), after_agent, group="after_sale")
    h.buyer_says("b3", at(3, 9))
    h.order("b1", at(2, 12), "40.00")
    services.rebuild_shop(shop=shop)
    return h


RANGE = "from=2026-03-02&to=2026-03-03"


def test_api_report_owner_sees_shop_and_every_agent(history, owner, pre_agent, after_agent):
    r = login_client(owner).get(f"/api/v1/metrics?{RANGE}&by=agent")
    assert r.status_code == 200
    doc = r.json()
    assert doc["total"]["reception_count"] == 3
    assert doc["total"]["guided_gmv"] == "40.00"
    assert doc["total"]["consult_conversion_rate"] == 0.5
    keys = {row["key"] for row in doc["rows"]}
    assert keys == {str(pre_agent.pk), str(after_agent.pk), "0"}
    assert doc["previous"]["from"] == "2026-02-28"


def test_api_report_agent_sees_only_its_own_figures(history, pre_agent):
    doc = login_client(pre_agent).get(f"/api/v1/metrics?{RANGE}&by=agent").json()
    assert doc["own_figures_only"] is True
    assert [row["key"] for row in doc["rows"]] == [str(pre_agent.pk)]
    assert doc["total"]["reception_count"] == 1
    assert doc["total"]["guided_gmv"] == "40.00"


def test_api_requires_authentication_and_scopes_by_shop(history, rival, owner):
    from django.test import Client

    assert Client().get(f"/api/v1/metrics?{RANGE}").status_code == 401
    doc = login_client(rival).get(f"/api/v1/metrics?{RANGE}").json()
    assert doc["total"]["reception_count"] == 0
    assert login_client(rival).post("/api/v1/metrics/rebuild").status_code == 200
    # The rival's rebuild did not touch this shop.
    assert (
        login_client(owner).get(f"/api/v1/metrics?{RANGE}").json()["total"]["reception_count"] == 3
    )


def test_api_bad_range_is_400(owner, shop):
    r = login_client(owner).get("/api/v1/metrics?from=2026-03-05&to=2026-03-01")
    assert r.status_code == 400


def test_api_rebuild_and_settings_are_owner_only(history, owner, pre_agent):
    agent = login_client(pre_agent)
    assert agent.post("/api/v1/metrics/rebuild").status_code == 403
    r = agent.put(
        "/api/v1/metrics/settings", data={"rates": {"CNY": "0.14"}}, content_type="application/json"
    )
    assert r.status_code == 403
    r = login_client(owner).put(
        "/api/v1/metrics/settings",
        data={"rates": {"CNY": "0.14"}, "slow_reply_minutes": 10},
        content_type="application/json",
    )
    assert r.status_code == 200
    assert r.json()["rates"] == {"CNY": "0.14000000"}
    assert r.json()["slow_reply_minutes"] == 10
    assert login_client(owner).post("/api/v1/metrics/rebuild").json()["buyers"] == 3


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

    for url in ("/metrics/", "/metrics/inspection/", "/metrics/cases/", "/metrics/cases/new/"):
        r = Client().get(url)
        assert r.status_code == 302 and "/login" in r["Location"]


def test_inspection_is_owner_only_and_lists_slow_and_unanswered(shop, owner, pre_agent):
    h = History(shop)
    h.buyer_says("slow", at(2, 10))
    h.reply("slow", at(2, 11), pre_agent)  # 60 minutes > 30
    h.buyer_says("quick", at(2, 10))
    h.reply("quick", at(2, 10, 1), pre_agent)
    h.buyer_says("ignored", at(2, 12))
    services.rebuild_shop(shop=shop)
    assert login_client(pre_agent).get("/metrics/inspection/?date=2026-03-02").status_code == 403
    r = login_client(owner).get("/api/v1/metrics/inspection?date=2026-03-02")
    doc = r.json()
    assert [s["buyer"] for s in doc["slow_replies"]] == ["slow"]
    assert doc["slow_replies"][0]["minutes"] == 60
    assert [u["buyer"] for u in doc["unanswered"]] == ["ignored"]
    assert doc["findings"] == []
    page = login_client(owner).get("/metrics/inspection/?date=2026-03-02")
    assert page.status_code == 200 and "slow" in page.content.decode()


def test_case_archive_save_search_export_and_scoping(shop, owner, pre_agent, after_agent, rival):
    h = History(shop)
    h.buyer_says("b1", at(2, 10))
    conv = h.conv("b1")
    conv.assignee = pre_agent
    conv.save()
    client = login_client(owner)
    r = client.post(
        "/metrics/cases/new/",
        {
            "conversation": conv.pk,
            "date": "2026-03-02",
            "title": "Broken lamp, calm buyer",
            "event": "Lamp arrived cracked",
            "follow_up": "Sent photos request, reshipped",
            "outcome": "Five-star review",
            "outcome_kind": "resolved",
            "tags": "damage",
        },
    )
    assert r.status_code == 302
    case = Case.objects.get()
    assert (case.agent, case.agent_name, case.buyer_name) == (pre_agent, "Lily", "b1")
    assert "Broken lamp" in client.get("/metrics/cases/?q=cracked").content.decode()
    assert "Broken lamp" not in client.get("/metrics/cases/?q=refund").content.decode()
    csv = client.get("/metrics/cases/?export=csv").content.decode("utf-8-sig")
    assert "Lamp arrived cracked" in csv
    # Over the API, another shop sees nothing and cannot file against this conversation.
    assert login_client(rival).get("/api/v1/metrics/cases").json() == []
    r = login_client(rival).post(
        "/api/v1/metrics/cases",
        data={"title": "x", "event": "y", "conversation_id": conv.pk},
        content_type="application/json",
    )
    assert r.status_code == 404
    assert [c["title"] for c in login_client(pre_agent).get("/api/v1/metrics/cases").json()] == [
        "Broken lamp, calm buyer"
    ]
    assert login_client(after_agent).get("/api/v1/metrics/cases").json() == []
    assert Case.objects.count() == 1


def test_cli_metrics_json_and_table(history, capsys):
    assert (
        kefu(
            ["metrics", "--shop", "aurora", "--from", "2026-03-02", "--to", "2026-03-03", "--json"]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["total"]["reception_count"] == 3
    assert doc["rows"] == []
    for name in (
        "reception_count",
        "replied_buyers",
        "messages_received",
        "messages_replied",
        "replied_24h",
        "reply_rate_24h",
        "consult_conversion_rate",
        "guided_gmv",
    ):
        assert name in doc["total"]
    assert (
        kefu(
            [
                "metrics",
                "--shop",
                "aurora",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
                "--by",
                "group",
                "--json",
            ]
        )
        == 0
    )
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert {r["key"] for r in rows} == {"pre_sale", "after_sale"}
    assert (
        kefu(
            [
                "metrics",
                "--shop",
                "aurora",
                "--from",
                "2026-03-02",
                "--to",
                "2026-03-03",
                "--by",
                "day",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "接待人数" in out and "2026-03-02" in out
    assert "100.0%" in out  # rates print as percentages


def test_cli_rebuild_and_errors(history, capsys):
    assert kefu(["metrics", "rebuild", "--shop", "aurora"]) == 0
    assert "rebuilt aurora: 3 buyers" in capsys.readouterr().out
    assert kefu(["metrics", "rebuild", "--shop", "nope"]) == 2
    assert "no shop" in capsys.readouterr().err
    assert kefu(["metrics", "--shop", "aurora", "--from", "2026-03-05", "--to", "2026-03-01"]) == 2


def test_dates_default_to_the_last_seven_shop_days(shop, capsys):
    assert kefu(["metrics", "--shop", "aurora", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (dt.date.fromisoformat(doc["to"]) - dt.date.fromisoformat(doc["from"])).days == 6
