"""The metrics API: the report, the rebuild and the settings; who may see what."""

from __future__ import annotations

from tests.conftest import login_client
from tests.metrics.factories import RANGE


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
