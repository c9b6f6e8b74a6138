import json

import pytest

from kefu.automation.models import AutomationSettings, KeywordRule, Script
from kefu.automation.services import install_default_scripts
from tests.conftest import login_client

from .conftest import make_buyer, make_conversation

RULES = [
    {"keyword": "refund", "reply_type": "text", "text": "Refunds take 3-20 business days."},
    {"keyword": "tracking", "reply_type": "text", "text": "See the order page."},
    {
        "keyword": "coupon",
        "reply_type": "coupon",
        "coupon_code": "SPRING5",
        "coupon_value": "5",
        "coupon_valid_until": "2026-04-30",
    },
]


def _json(client, method, url, body=None):
    return getattr(client, method)(
        url, data=json.dumps(body or {}), content_type="application/json"
    )


# ---------------------------------------------------------------- API


def test_owner_saves_keyword_rules_through_the_api(owner):
    client = login_client(owner)
    resp = _json(client, "put", "/api/v1/automation/keyword-rules", {"rules": RULES})
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["version"] == 1
    assert [r["keyword"] for r in body["rules"]] == ["refund", "tracking", "coupon"]
    assert body["rules"][2]["coupon_currency"] == "USD"


def test_api_rejects_a_set_of_two_with_a_clear_message(owner):
    resp = _json(
        login_client(owner), "put", "/api/v1/automation/keyword-rules", {"rules": RULES[:2]}
    )
    assert resp.status_code == 400
    assert "3 to 9 active rules; this one has 2" in resp.json()["detail"]


def test_agent_cannot_change_keyword_rules_or_settings(pre_agent):
    client = login_client(pre_agent)
    assert (
        _json(client, "put", "/api/v1/automation/keyword-rules", {"rules": RULES}).status_code
        == 403
    )
    settings = {
        "welcome_enabled": True,
        "welcome_text": "hi",
        "out_of_hours_enabled": False,
        "out_of_hours_text": "",
        "agent_quiet_minutes": 5,
        "keyword_replies_enabled": True,
        "languages": ["en"],
    }
    assert _json(client, "put", "/api/v1/automation/settings", settings).status_code == 403
    assert not KeywordRule.objects.exists()
    assert not AutomationSettings.objects.exists()


def test_preview_via_api_saves_nothing(owner):
    resp = _json(
        login_client(owner),
        "post",
        "/api/v1/automation/keyword-rules/preview",
        {"rules": RULES, "samples": ["Where is my TRACKING?"]},
    )
    assert resp.status_code == 200
    assert resp.json()["rows"][0]["keyword"] == "tracking"
    assert not KeywordRule.objects.exists()


def test_anonymous_gets_401(db):
    from django.test import Client

    assert Client().get("/api/v1/automation/scripts").status_code == 401


def test_other_shop_sees_none_of_our_scripts(shop, rival, owner):
    install_default_scripts(shop=shop)
    script = Script.objects.filter(shop=shop).first()
    client = login_client(rival)
    assert client.get("/api/v1/automation/scripts").json() == []
    assert client.get(f"/api/v1/automation/scripts/{script.pk}").status_code == 404
    assert (
        _json(client, "post", f"/api/v1/automation/scripts/{script.pk}/render", {}).status_code
        == 404
    )


def test_render_fills_from_the_conversation_and_reports_gaps(shop, pre_agent, product):
    install_default_scripts(shop=shop)
    conv = make_conversation(shop, make_buyer(shop, "Anna"), product=product, order="8100234")
    script = Script.objects.get(shop=shop, key="split-parcels")
    resp = _json(
        login_client(pre_agent),
        "post",
        f"/api/v1/automation/scripts/{script.pk}/render",
        {"conversation_id": conv.pk, "language": "en"},
    )
    body = resp.json()
    assert body["has_gaps"] is True
    assert body["gaps"] == ["[tracking number?]"]
    assert "Hi Anna" in body["text"]
    assert "8100234" in body["text"]
    resp = _json(
        login_client(pre_agent),
        "post",
        f"/api/v1/automation/scripts/{script.pk}/render",
        {"conversation_id": conv.pk, "language": "en", "tracking_numbers": ["LP1", "LP2"]},
    )
    assert resp.json()["has_gaps"] is False
    assert "LP1, LP2" in resp.json()["text"]


def test_suggestions_and_script_use_via_api(shop, pre_agent):
    install_default_scripts(shop=shop)
    conv = make_conversation(shop, make_buyer(shop), group="after_sale")
    conv.assignee = pre_agent  # a sub-account reaches only its own conversations
    conv.save(update_fields=["assignee"])
    client = login_client(pre_agent)
    resp = _json(
        client,
        "post",
        "/api/v1/automation/suggestions",
        {"text": "¿Cuándo recibiré mi reembolso?", "conversation_id": conv.pk, "language": "es"},
    )
    top = resp.json()[0]
    assert top["title"] == "When will my refund arrive"
    assert top["language"] == "es"
    assert "wording close to" in top["reason"]
    used = _json(
        client,
        "post",
        f"/api/v1/automation/scripts/{top['script_id']}/uses",
        {"conversation_id": conv.pk, "language": "es", "suggested": True},
    )
    assert used.status_code == 201


def test_quick_replies_api_is_personal(pre_agent, after_agent):
    mine = _json(
        login_client(pre_agent),
        "post",
        "/api/v1/automation/quick-replies",
        {"title": "thanks", "body": "Thank you!"},
    )
    assert mine.status_code == 201
    other = login_client(after_agent)
    assert other.get("/api/v1/automation/quick-replies").json() == []
    assert other.delete(f"/api/v1/automation/quick-replies/{mine.json()['id']}").status_code == 404


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize(
    "name", ["overview", "keywords", "auto_replies", "scripts", "quick_replies", "script_new"]
)
def test_pages_render_for_the_owner(owner, shop, name):
    install_default_scripts(shop=shop)
    resp = login_client(owner).get(f"/automation/{_paths[name]}")
    assert resp.status_code == 200


_paths = {
    "overview": "",
    "keywords": "keywords/",
    "auto_replies": "auto-replies/",
    "scripts": "scripts/",
    "quick_replies": "quick-replies/",
    "script_new": "scripts/new",
}


def test_agent_sees_scripts_but_not_owner_pages(pre_agent, shop):
    install_default_scripts(shop=shop)
    client = login_client(pre_agent)
    assert client.get("/automation/scripts/").status_code == 200
    assert client.get("/automation/").status_code == 403
    assert client.get("/automation/keywords/").status_code == 403
    assert client.post("/automation/keywords/preview", {"keyword_0": "x"}).status_code == 403


def test_other_shop_cannot_edit_our_script_page(shop, rival):
    install_default_scripts(shop=shop)
    script = Script.objects.filter(shop=shop).first()
    assert login_client(rival).get(f"/automation/scripts/{script.pk}/edit").status_code == 404


def test_keyword_page_saves_and_previews(owner):
    client = login_client(owner)
    form = {"samples": "有優惠券嗎", "version": "0"}
    for i, (kw, text) in enumerate([("优惠券", "领券"), ("refund", "r"), ("ship", "s")]):
        form.update(
            {f"keyword_{i}": kw, f"type_{i}": "text", f"text_{i}": text, f"active_{i}": "on"}
        )
    preview = client.post("/automation/keywords/preview", form)
    assert "领券" in preview.content.decode()
    assert not KeywordRule.objects.exists()
    assert client.post("/automation/keywords/", form).status_code == 302
    assert KeywordRule.objects.filter(version=1).count() == 3
    form["keyword_2"] = ""
    resp = client.post("/automation/keywords/", form)
    assert resp.status_code == 400
    assert "this one has 2" in resp.content.decode()


def test_auto_reply_page_saves_settings_and_hours(owner, shop):
    client = login_client(owner)
    resp = client.post(
        "/automation/auto-replies/",
        {
            "welcome_enabled": "on",
            "welcome_text": "Hello! 9:00-18:00 Beijing time.",
            "out_of_hours_enabled": "on",
            "out_of_hours_text": "We are off duty.",
            "agent_quiet_minutes": "15",
            "keyword_replies_enabled": "on",
            "languages": ["en", "ru"],
            "opens_0": "09:00",
            "closes_0": "18:00",
            "holidays": "2026-10-01 National Day",
        },
    )
    assert resp.status_code == 302
    conf = AutomationSettings.objects.get(shop=shop)
    assert conf.welcome_enabled
    assert conf.agent_quiet_minutes == 15
    assert conf.language_list() == ["en", "ru"]
    assert shop.business_hours.count() == 1
    assert shop.holidays.get().name == "National Day"
