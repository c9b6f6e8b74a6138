import datetime as dt
import json
from typing import get_args

import pytest
import time_machine
from django.test import Client

from kefu.compliance.api import SourceName
from kefu.compliance.models import ComplianceFinding, Source
from kefu.compliance.services import check_outgoing, context_for_shop
from tests.conftest import login_client

pytestmark = pytest.mark.django_db


def _post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def _warn(shop, actor, text="That's the courier's fault."):
    return check_outgoing(
        shop=shop, actor=actor, text=text, context=context_for_shop(shop), source="reply"
    )


def test_anonymous_gets_401():
    client = Client()
    assert _post(client, "/api/v1/compliance/check", {"text": "hi"}).status_code == 401
    assert client.get("/api/v1/compliance/findings").status_code == 401
    assert client.get("/api/v1/compliance/rules").status_code == 401


def test_check_returns_the_verdict_shape_with_shop_defaults(shop, pre_agent):
    client = login_client(pre_agent)
    response = _post(
        client,
        "/api/v1/compliance/check",
        {"text": "We can't issue an invoice. Add me on WeChat.", "free_shipping": True},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["verdict"] == "block"
    assert body["platform"] == "aliexpress"
    codes = [f["code"] for f in body["findings"]]
    assert codes == ["invoice", "off_platform"]
    invoice = body["findings"][0]
    assert invoice["severity"] == "warn"  # AliExpress softens invoices
    assert invoice["span"] == [3, 25]
    assert invoice["match"] == "can't issue an invoice"
    assert set(invoice["explanation"]) == {"zh", "en"}
    assert set(invoice["alternative"]) == {"zh", "en"}
    assert invoice["requirement"] == "R-22"
    assert not ComplianceFinding.objects.exists()  # a plain check records nothing


def test_check_can_use_another_platform_and_can_record(shop, pre_agent):
    client = login_client(pre_agent)
    body = _post(
        client, "/api/v1/compliance/check", {"text": "我们不开发票", "platform": "tmall"}
    ).json()
    assert body["verdict"] == "block"
    assert body["pack_version"].startswith("tmall")
    recorded = _post(
        client,
        "/api/v1/compliance/check",
        {"text": "我们不开发票", "record": True, "source": "campaign"},
    )
    assert recorded.status_code == 200
    row = ComplianceFinding.objects.get()
    assert row.source == "campaign"
    assert row.actor == pre_agent
    refused = _post(
        client,
        "/api/v1/compliance/check",
        {"text": "hi", "record": True, "platform": "tmall"},
    )
    assert refused.status_code == 400


def test_check_rejects_bad_input(pre_agent):
    client = login_client(pre_agent)
    assert _post(client, "/api/v1/compliance/check", {"text": ""}).status_code == 400
    assert (
        _post(client, "/api/v1/compliance/check", {"text": "x", "platform": "ebay"}).status_code
        == 400
    )


def test_owner_sees_all_findings_agent_only_own(shop, owner, pre_agent, after_agent):
    _warn(shop, pre_agent)
    _warn(shop, after_agent)
    owner_rows = login_client(owner).get("/api/v1/compliance/findings").json()
    assert sorted(r["agent"] for r in owner_rows) == ["lily", "max"]
    lily = login_client(pre_agent)
    own = lily.get("/api/v1/compliance/findings").json()
    assert [r["agent"] for r in own] == ["lily"]
    assert own[0]["code"] == "blame_courier"
    assert own[0]["severity"] == "warn"
    assert lily.get("/api/v1/compliance/findings?agent=max").status_code == 403
    assert len(lily.get("/api/v1/compliance/findings?agent=lily").json()) == 1
    by_agent = login_client(owner).get("/api/v1/compliance/findings?agent=max").json()
    assert [r["agent"] for r in by_agent] == ["max"]


def test_findings_filter_by_day_in_shop_time(shop, owner, pre_agent):
    # 23:30 UTC on 1 March is 07:30 on 2 March in Shanghai, the shop's zone.
    with time_machine.travel(dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)):
        _warn(shop, pre_agent)
    client = login_client(owner)
    assert len(client.get("/api/v1/compliance/findings?date=2026-03-02").json()) == 1
    assert client.get("/api/v1/compliance/findings?date=2026-03-01").json() == []
    assert client.get("/api/v1/compliance/findings?date=not-a-day").status_code == 400


def test_another_shops_findings_are_invisible(shop, pre_agent, other_shop, rival):
    _warn(shop, pre_agent)
    assert login_client(rival).get("/api/v1/compliance/findings").json() == []
    assert login_client(rival).get("/api/v1/compliance/findings?agent=lily").json() == []


def test_rules_lists_the_shops_pack(shop, pre_agent):
    body = login_client(pre_agent).get("/api/v1/compliance/rules").json()
    assert body["platform"] == "aliexpress"
    codes = {r["code"] for r in body["rules"]}
    assert {"invoice", "privacy", "off_platform", "wait_patiently"} <= codes


def test_api_sources_mirror_the_model():
    assert set(get_args(SourceName)) == set(Source.values)


def test_recorded_check_names_only_a_conversation_the_caller_may_see(shop, pre_agent, product):
    from tests.helpers import buyer_says, online

    online(pre_agent)
    visible = buyer_says(shop, "hi", buyer="ivan", product=product.external_id).conversation
    hidden = buyer_says(shop, "hi", buyer="olga", entry_point="dispute").conversation
    client = login_client(pre_agent)
    body = {"text": "我们不开发票", "record": True, "source": "reply"}

    refused = _post(client, "/api/v1/compliance/check", {**body, "conversation_id": hidden.pk})
    accepted = _post(client, "/api/v1/compliance/check", {**body, "conversation_id": visible.pk})

    assert refused.status_code == 404
    assert accepted.status_code == 200
    assert list(ComplianceFinding.objects.values_list("conversation_id", flat=True)) == [visible.pk]


def test_shipping_policy_read_by_everyone_set_by_the_owner(shop, owner, pre_agent):
    agent = login_client(pre_agent)
    assert agent.get("/api/v1/compliance/shipping-policy").json() == {
        "free_shipping": False,
        "excluded_regions": [],
    }
    body = {"free_shipping": True, "excluded_regions": ["新疆", "西藏"]}
    put = agent.put(
        "/api/v1/compliance/shipping-policy", data=json.dumps(body), content_type="application/json"
    )
    assert put.status_code == 403
    main = login_client(owner)
    bad = main.put(
        "/api/v1/compliance/shipping-policy",
        data=json.dumps({"free_shipping": False, "excluded_regions": ["新疆"]}),
        content_type="application/json",
    )
    # The reason in the caller's language (a new login's interface language is zh-Hans).
    assert bad.status_code == 400 and "只有设置包邮时才能填写不包邮地区" in bad.json()["detail"]
    ok = main.put(
        "/api/v1/compliance/shipping-policy", data=json.dumps(body), content_type="application/json"
    )
    assert ok.status_code == 200 and ok.json() == body
    # The guard now knows: no listing, no order, yet free shipping is promised.
    check = _post(agent, "/api/v1/compliance/check", {"text": "新疆要补15元运费"})
    assert check.json()["verdict"] == "block"
    page = _post(agent, "/api/v1/compliance/check", {"text": "新疆请按页面显示的运费支付"})
    assert page.json()["verdict"] == "ok"
