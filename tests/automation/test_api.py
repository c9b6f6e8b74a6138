"""Automation over the API: settings, keyword sets, scripts, suggestions, quick replies."""

import json

import pytest
from django.test import Client

from kefu.automation.models import (
    AutomationSettings,
    KeywordRule,
    KeywordRuleSet,
    QuickReply,
    Script,
)
from kefu.automation.scripts import install_default_scripts
from tests.conftest import login_client

from .conftest import TRANSLATED_FORM, make_buyer, make_conversation, row_counts, settings_snapshot

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


def test_api_reads_and_writes_translations(shop, owner, translated_texts):
    client = login_client(owner)
    current = client.get("/api/v1/automation/settings").json()
    assert current["welcome_translations"]["ru"] == TRANSLATED_FORM["welcome_text_ru"]

    unchanged = client.put(
        "/api/v1/automation/settings",
        data=json.dumps({k: v for k, v in current.items() if not k.endswith("translations")}),
        content_type="application/json",
    )
    assert unchanged.json()["welcome_translations"] == current["welcome_translations"]

    bad = client.put(
        "/api/v1/automation/settings",
        data=json.dumps({**current, "welcome_translations": {"fr": "Bonjour"}}),
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "unknown language 'fr'" in bad.json()["detail"]
    assert (
        AutomationSettings.objects.get(pk=translated_texts.pk).welcome_translations
        == (current["welcome_translations"])
    )


# ---------------------------------------------------------------- a refused request saves nothing

SETTINGS = {
    "welcome_enabled": True,
    "welcome_text": "Hello!",
    "out_of_hours_enabled": True,
    "out_of_hours_text": "We are off duty.",
    "agent_quiet_minutes": 15,
    "keyword_replies_enabled": True,
    "languages": ["en", "ru"],
    "welcome_translations": {"ru": "Здравствуйте!"},
}
HOURS = {
    "intervals": [{"weekday": d, "opens": "09:00", "closes": "18:00"} for d in range(5)],
    "holidays": [{"day": "2026-10-01", "name": "National Day"}],
}


@pytest.fixture
def saved(owner, shop):
    client = login_client(owner)
    assert _json(client, "put", "/api/v1/automation/settings", SETTINGS).status_code == 200
    assert _json(client, "put", "/api/v1/automation/business-hours", HOURS).status_code == 200
    return client


@pytest.mark.parametrize(
    "bad",
    [
        {"languages": ["fr"]},
        {"languages": []},
        {"agent_quiet_minutes": 5000},
        {"welcome_translations": {"fr": "Bonjour"}},
        {"welcome_text": "Add me on WhatsApp and pay there, it is cheaper"},
    ],
)
def test_a_refused_settings_request_changes_nothing(saved, shop, bad):
    before = settings_snapshot(shop)
    changed = {**SETTINGS, "welcome_text": "A new welcome", "agent_quiet_minutes": 30, **bad}
    response = _json(saved, "put", "/api/v1/automation/settings", changed)
    assert response.status_code in (400, 422)
    assert settings_snapshot(shop) == before


@pytest.mark.parametrize(
    "bad",
    [
        {"intervals": [{"weekday": 0, "opens": "18:00", "closes": "09:00"}]},
        {
            "intervals": [
                {"weekday": 0, "opens": "09:00", "closes": "12:00"},
                {"weekday": 0, "opens": "11:00", "closes": "18:00"},
            ]
        },
        {"holidays": [{"day": "2026-05-01"}, {"day": "2026-05-01"}]},
    ],
)
def test_a_refused_hours_request_changes_nothing(saved, shop, bad):
    before = settings_snapshot(shop)
    response = _json(saved, "put", "/api/v1/automation/business-hours", {**HOURS, **bad})
    assert response.status_code == 400
    assert settings_snapshot(shop) == before


def test_a_stale_keyword_set_request_creates_nothing(owner, shop):
    client = login_client(owner)
    body = {"rules": RULES, "expected_version": 4}
    response = _json(client, "put", "/api/v1/automation/keyword-rules", body)
    assert response.status_code == 400
    assert "changed by someone else" in response.json()["detail"]
    assert not KeywordRuleSet.objects.filter(shop=shop).exists()
    assert not KeywordRule.objects.exists()


def test_a_refused_script_request_changes_nothing(owner, shop):
    install_default_scripts(shop=shop)
    script = Script.objects.get(shop=shop, key="split-parcels")
    before = (script.title, sorted(script.variants.values_list("language", "body")))
    body = {"stage": "in_sale", "topic": "parcels", "title": "New", "variants": {"en": "{nick}"}}
    response = _json(login_client(owner), "put", f"/api/v1/automation/scripts/{script.pk}", body)
    assert response.status_code == 400
    script.refresh_from_db()
    assert (script.title, sorted(script.variants.values_list("language", "body"))) == before


def test_a_refused_quick_reply_request_saves_nothing(pre_agent):
    body = {"title": "thanks", "body": "Thank you!", "language": "fr"}
    response = _json(login_client(pre_agent), "post", "/api/v1/automation/quick-replies", body)
    assert response.status_code == 400
    assert not QuickReply.objects.exists()


# ---------------------------------------------------------------- reads are pure


def test_reading_every_endpoint_writes_nothing(owner, shop):
    # Written straight to the table: the script services would create the settings row.
    script = Script.objects.create(shop=shop, stage="after_sale", topic="refund", title="Refund")
    script.variants.create(shop=shop, language="ru", body="Деньги вернутся за 3-20 дней.")
    client = login_client(owner)
    before = row_counts()
    for path in (
        "settings",
        "business-hours",
        "keyword-rules",
        "scripts",
        "scripts?stage=after_sale&language=ru&q=refund",
        f"scripts/{script.pk}",
        "quick-replies",
        "report?days=7",
    ):
        assert client.get(f"/api/v1/automation/{path}").status_code == 200, path
    assert row_counts() == before
    assert not AutomationSettings.objects.filter(shop=shop).exists()


@pytest.mark.parametrize("body", ['"ru"', "[]", "42", "null"])
def test_a_body_that_is_not_an_object_is_400_and_changes_nothing(shop, owner, body):
    """Issue 10 (fuzzing): ninja's schemas read any value by its attributes, so `"ru"` was an
    object of defaults: 200, and the agent's language choice for the buyer was gone."""
    from kefu.automation.buyer_language import set_buyer_language
    from kefu.automation.selectors import buyer_language

    buyer = make_buyer(shop)
    set_buyer_language(actor=owner, buyer=buyer, language="es")

    response = login_client(owner).put(
        f"/api/v1/automation/buyers/{buyer.pk}/language", data=body, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json() == {"detail": "Cannot parse request body"}
    buyer.refresh_from_db()
    assert buyer_language(buyer) == "es"
