"""The automation pages: overview, automatic replies, keyword set, scripts, quick replies."""

import pytest

from kefu.automation.models import AutomationSettings, KeywordRule, Script
from kefu.automation.scripts import install_default_scripts
from tests.conftest import login_client

from .conftest import TRANSLATED_FORM


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


def test_page_stores_one_text_per_language_and_drops_empty_ones(translated_texts):
    assert translated_texts.welcome_translations == {
        "ru": TRANSLATED_FORM["welcome_text_ru"],
        "es": TRANSLATED_FORM["welcome_text_es"],
    }
    assert translated_texts.out_of_hours_translations == {
        "ru": TRANSLATED_FORM["out_of_hours_text_ru"]
    }


def test_a_translation_breaking_a_rule_is_refused_and_nothing_saved(shop, owner, translated_texts):
    form = {**TRANSLATED_FORM, "welcome_text_ru": "Оплатите на карту Сбербанка, так дешевле."}
    form["welcome_text_es"] = "Escríbenos por WhatsApp +34 600 000 000"

    response = login_client(owner).post("/automation/auto-replies/", form)

    assert response.status_code == 400
    assert "welcome (es)" in response.content.decode()
    assert AutomationSettings.objects.get(pk=translated_texts.pk).welcome_translations == {
        "ru": TRANSLATED_FORM["welcome_text_ru"],
        "es": TRANSLATED_FORM["welcome_text_es"],
    }
