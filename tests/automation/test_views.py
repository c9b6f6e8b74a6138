"""The automation pages: overview, automatic replies, keyword set, scripts, quick replies."""

import pytest

from kefu.automation.models import (
    AutomationSettings,
    KeywordRule,
    KeywordRuleSet,
    QuickReply,
    Script,
)
from kefu.automation.scripts import install_default_scripts
from tests.conftest import login_client

from .conftest import TRANSLATED_FORM, row_counts, settings_snapshot


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


# ---------------------------------------------------------------- a refused form saves nothing

AUTO_REPLY_FORM = {
    "welcome_enabled": "on",
    "welcome_text": "Hello! 9:00-18:00 Beijing time.",
    "out_of_hours_enabled": "on",
    "out_of_hours_text": "We are off duty.",
    "agent_quiet_minutes": "15",
    "keyword_replies_enabled": "on",
    "languages": ["en", "ru"],
    "opens_0": "09:00",
    "closes_0": "18:00",
    "opens_1": "09:00",
    "closes_1": "18:00",
    "holidays": "2026-10-01 National Day",
}


@pytest.mark.parametrize(
    "bad",
    [
        {"opens_2": "18:00", "closes_2": "09:00"},  # refused by the service, after parsing
        {"opens_2": "9am", "closes_2": "6pm"},  # refused while parsing
        {"holidays": "2026-10-01 National Day\n2026-10-01 Again"},
        {"holidays": "National Day"},
        {"agent_quiet_minutes": "ten"},
        {"agent_quiet_minutes": "5000"},
        {"languages": ["fr"]},
        {"welcome_text": "x" * 2001},
        {"welcome_text_es": "Escríbenos por WhatsApp +34 600 000 000"},
    ],
)
def test_a_refused_auto_reply_form_changes_no_setting(owner, shop, bad):
    client = login_client(owner)
    assert client.post("/automation/auto-replies/", AUTO_REPLY_FORM).status_code == 302
    before = settings_snapshot(shop)
    changed = {
        **AUTO_REPLY_FORM,
        "welcome_text": "A new welcome",
        "out_of_hours_enabled": "",
        "agent_quiet_minutes": "30",
        "languages": ["en"],
        "opens_0": "08:00",
        "holidays": "2026-05-01 Labour Day",
        **bad,
    }

    response = client.post("/automation/auto-replies/", changed)

    assert response.status_code == 400
    assert settings_snapshot(shop) == before


def test_a_refused_first_auto_reply_form_creates_nothing(owner, shop):
    form = {**AUTO_REPLY_FORM, "opens_0": "18:00", "closes_0": "09:00"}
    assert login_client(owner).post("/automation/auto-replies/", form).status_code == 400
    assert settings_snapshot(shop) == {"settings": None, "hours": [], "holidays": []}


def test_agent_without_the_right_is_refused_before_the_form_is_read(pre_agent, shop):
    form = {**AUTO_REPLY_FORM, "opens_0": "9am"}
    assert login_client(pre_agent).post("/automation/auto-replies/", form).status_code == 403
    assert settings_snapshot(shop) == {"settings": None, "hours": [], "holidays": []}


def _keyword_form(keywords, version):
    form = {"samples": "", "version": str(version)}
    for i, kw in enumerate(keywords):
        form.update({f"keyword_{i}": kw, f"type_{i}": "text", f"text_{i}": kw, f"active_{i}": "on"})
    return form


def test_a_refused_keyword_form_changes_nothing(owner, shop):
    client = login_client(owner)
    assert (
        client.post("/automation/keywords/", _keyword_form(["a", "b", "c"], 0)).status_code == 302
    )
    stale = client.post("/automation/keywords/", _keyword_form(["x", "y", "z"], 0))
    too_few = client.post("/automation/keywords/", _keyword_form(["x", "y"], 1))
    assert (stale.status_code, too_few.status_code) == (400, 400)
    assert "changed by someone else" in stale.content.decode()
    assert KeywordRuleSet.objects.get(shop=shop).version == 1
    assert list(KeywordRule.objects.values_list("version", "keyword")) == [
        (1, "a"),
        (1, "b"),
        (1, "c"),
    ]


def test_a_refused_script_form_changes_nothing(owner, shop):
    install_default_scripts(shop=shop)
    script = Script.objects.get(shop=shop, key="split-parcels")
    before = (script.title, sorted(script.variants.values_list("language", "body")))
    form = {
        "stage": "in_sale",
        "topic": "parcels",
        "title": "A new title",
        "body_en": "Hi {nickname}",
        "body_ru": "",
    }

    response = login_client(owner).post(f"/automation/scripts/{script.pk}/edit", form)

    assert response.status_code == 400
    script.refresh_from_db()
    assert (script.title, sorted(script.variants.values_list("language", "body"))) == before


def test_a_refused_quick_reply_form_saves_nothing(pre_agent):
    client = login_client(pre_agent)
    for form in ({"title": "thanks", "body": ""}, {"title": "t", "body": "b", "language": "fr"}):
        assert client.post("/automation/quick-replies/", form).status_code == 400
    assert not QuickReply.objects.exists()


# ---------------------------------------------------------------- reads are pure


def test_reading_every_page_writes_nothing(owner, shop):
    # Written straight to the table: the script services would create the settings row.
    script = Script.objects.create(shop=shop, stage="after_sale", topic="refund", title="Refund")
    script.variants.create(shop=shop, language="ru", body="Деньги вернутся за 3-20 дней.")
    client = login_client(owner)
    before = row_counts()
    for path in (
        "",
        "auto-replies/",
        "keywords/",
        "scripts/",
        "scripts/?stage=after_sale&language=ru&q=refund",
        "scripts/new",
        f"scripts/{script.pk}/edit",
        "quick-replies/",
    ):
        assert client.get(f"/automation/{path}").status_code == 200, path
    assert row_counts() == before
    assert not AutomationSettings.objects.filter(shop=shop).exists()
