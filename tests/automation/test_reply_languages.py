"""Welcome and out-of-hours replies in the buyer's language (R-07, R-11)."""

from __future__ import annotations

import json

import pytest

from kefu.automation.models import AutomationSettings, BuyerAutomationState
from kefu.conversations.buyers import BuyerIn
from kefu.desk.intake import receive_buyer_message
from tests.conftest import login_client

PAGE_FORM = {
    "welcome_enabled": "on",
    "welcome_text": "Hello! We answer 9:00-18:00 Beijing time.",
    "welcome_text_ru": "Здравствуйте! Отвечаем с 9:00 до 18:00 по Пекину.",
    "welcome_text_es": "¡Hola! Respondemos de 9:00 a 18:00, hora de Pekín.",
    "welcome_text_en": "",
    "welcome_text_zh-hans": "",
    "out_of_hours_enabled": "on",
    "out_of_hours_text": "We are off duty and answer tomorrow.",
    "out_of_hours_text_ru": "Мы сейчас не работаем и ответим завтра.",
    "agent_quiet_minutes": "10",
    "keyword_replies_enabled": "on",
    "languages": ["en", "ru", "es", "zh-hans"],
    "opens_0": "09:00",
    "closes_0": "18:00",
}


def says(shop, text, buyer, language=""):
    return receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id=buyer, name=buyer.title(), language=language),
        text=text,
        entry_point="product_page",
    )


@pytest.fixture
def texts(shop, owner):
    response = login_client(owner).post("/automation/auto-replies/", PAGE_FORM)
    assert response.status_code == 302
    return AutomationSettings.objects.get(shop=shop)


def test_page_stores_one_text_per_language_and_drops_empty_ones(texts):
    assert texts.welcome_translations == {
        "ru": PAGE_FORM["welcome_text_ru"],
        "es": PAGE_FORM["welcome_text_es"],
    }
    assert texts.out_of_hours_translations == {"ru": PAGE_FORM["out_of_hours_text_ru"]}


def test_each_buyer_is_welcomed_in_their_language(shop, texts):
    ru = says(shop, "Здравствуйте, лампа есть в наличии?", "olga").auto_replies
    es = says(shop, "Hola, ¿cuándo llega mi pedido a Chile?", "lucia").auto_replies
    zh = says(shop, "这款台灯有现货吗？", "wang").auto_replies

    assert ru[0].text == PAGE_FORM["welcome_text_ru"]
    assert es[0].text == PAGE_FORM["welcome_text_es"]
    assert zh[0].text == PAGE_FORM["welcome_text"]  # no Chinese text: the default one


def test_the_agents_correction_and_the_marketplace_language_count(shop, texts):
    # Nothing to detect in a thumbs-up: the marketplace's "ru-RU" decides.
    thumbs_up = says(shop, "👍", "ivan", language="ru-RU")
    assert thumbs_up.auto_replies[0].text == PAGE_FORM["welcome_text_ru"]
    # An agent said this buyer reads Spanish, whatever the message looks like.
    first = says(shop, "hi", "pablo")
    BuyerAutomationState.objects.filter(buyer=first.message.buyer).update(language_override="es")
    AutomationSettings.objects.filter(pk=texts.pk).update(
        welcome_translations={"es": "¡Hola otra vez!"}
    )
    from kefu.conversations.models import Message

    Message.objects.filter(buyer=first.message.buyer).update(
        sent_at=first.message.sent_at.replace(year=2020)
    )
    assert says(shop, "hello", "pablo").auto_replies[0].text == "¡Hola otra vez!"


def test_a_translation_breaking_a_rule_is_refused_and_nothing_saved(shop, owner, texts):
    form = {**PAGE_FORM, "welcome_text_ru": "Оплатите на карту Сбербанка, так дешевле."}
    form["welcome_text_es"] = "Escríbenos por WhatsApp +34 600 000 000"

    response = login_client(owner).post("/automation/auto-replies/", form)

    assert response.status_code == 400
    assert "welcome (es)" in response.content.decode()
    assert AutomationSettings.objects.get(pk=texts.pk).welcome_translations == {
        "ru": PAGE_FORM["welcome_text_ru"],
        "es": PAGE_FORM["welcome_text_es"],
    }


def test_api_reads_and_writes_translations(shop, owner, texts):
    client = login_client(owner)
    current = client.get("/api/v1/automation/settings").json()
    assert current["welcome_translations"]["ru"] == PAGE_FORM["welcome_text_ru"]

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
        AutomationSettings.objects.get(pk=texts.pk).welcome_translations
        == (current["welcome_translations"])
    )
