"""A keyword rule's coupon reaches the buyer as a readable offer in their language (issue 13):
value, minimum spend, last valid day in the shop's time zone and how to use it, in the
callback's text beside its structured fields, and as an offer card in the widget."""

from __future__ import annotations

import json
import uuid

import pytest
from django.test import Client

from kefu.automation.config import settings_for_update, update_automation_settings
from kefu.automation.models import KeywordRule
from kefu.conversations.models import Message
from tests.conftest import login_client
from tests.helpers import online, post_signed

pytestmark = pytest.mark.django_db


def _rules(coupon: dict[str, object]) -> list[dict[str, object]]:
    return [
        {"keyword": "refund", "reply_type": "text", "text": "Refunds take 3-20 business days."},
        {"keyword": "tracking", "reply_type": "text", "text": "Tracking updates daily."},
        {"keyword": "coupon", "reply_type": "coupon", **coupon},
        {"keyword": "купон", "reply_type": "coupon", **coupon},
        {"keyword": "cupón", "reply_type": "coupon", **coupon},
        {"keyword": "优惠券", "reply_type": "coupon", **coupon},
    ]


WELCOME5 = {
    "coupon_code": "WELCOME5",
    "coupon_value": "5",
    "coupon_currency": "USD",
    "coupon_min_spend": "30",
    "coupon_valid_until": "2026-12-31",
}


def _save_rules(owner, coupon=WELCOME5):
    response = login_client(owner).put(
        "/api/v1/automation/keyword-rules",
        data=json.dumps({"rules": _rules(coupon)}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return response


OFFERS = {
    "en": (
        "Where is my coupon?",
        [
            "A coupon for you: 5.00 USD off your order.",
            "For orders of 30.00 USD or more.",
            "Valid until Dec. 31, 2026, 23:59 (UTC+08:00).",
            "To use it, enter the code WELCOME5 at checkout.",
        ],
    ),
    "ru": (
        "Здравствуйте, у вас есть купон?",
        [
            "Для вас купон: скидка 5,00 USD на заказ.",
            "Для заказов от 30,00 USD.",
            "Действует до 31 декабря 2026 г., 23:59 (UTC+08:00).",
            "Чтобы воспользоваться, введите код WELCOME5 при оформлении заказа.",
        ],
    ),
    "es": (
        "Hola, ¿tienen algún cupón de descuento para mi pedido?",
        [
            "Un cupón para ti: 5,00 USD de descuento en tu pedido.",
            "Para pedidos de 30,00 USD o más.",
            "Válido hasta el 31 de diciembre de 2026, 23:59 (UTC+08:00).",
            "Para usarlo, introduce el código WELCOME5 al pagar.",
        ],
    ),
    "zh-hans": (
        "你好，有优惠券吗？",
        [
            "送您一张优惠券：订单立减 5.00 USD。",
            "订单满 30.00 USD 可用。",
            "有效期至 2026年12月31日 23:59（UTC+08:00）。",
            "使用方法：结账时输入优惠码 WELCOME5。",
        ],
    ),
}


@pytest.mark.parametrize("language", list(OFFERS))
def test_a_marketplace_buyer_gets_the_offer_in_their_language_text_and_fields(
    shop, owner, pre_agent, marketplace, language, django_capture_on_commit_callbacks
):
    online(pre_agent)
    _save_rules(owner)
    text, lines = OFFERS[language]
    with django_capture_on_commit_callbacks(execute=True):
        response = post_signed(
            Client(),
            shop,
            {
                "external_id": f"m-{language}",
                "buyer": {"external_id": f"b-{language}", "name": "Buyer", "language": language},
                "entry_point": "order_detail",
                "text": text,
            },
        )
    # Queued (202); the intake worker the answer woke stored it and sent the offer.
    assert response.status_code == 202, response.content
    (sent,) = [b for b in marketplace if b["kind"] == "coupon"]
    assert sent["text"] == "\n".join(lines)
    coupon = sent["payload"]["coupon"]
    assert {k: v for k, v in coupon.items() if k != "display"} == {
        "code": "WELCOME5",
        "kind": "amount",
        "value": "5.00",
        "currency": "USD",
        "min_spend": "30.00",
        "min_spend_currency": "USD",
        "valid_until": "2026-12-31",
        "valid_until_end": "2026-12-31T23:59:59+08:00",
        "time_zone": "Asia/Shanghai",
        "language": language,
    }
    assert coupon["display"]["lines"] == lines
    assert sent["payload"]["automation"] == "keyword"
    stored = Message.objects.get(direction="auto", kind="coupon")
    assert stored.text == sent["text"]
    # The agent's timeline shows the same offer card, without the buyer's copy button.
    conversation = stored.conversation_id
    page = login_client(owner).get(f"/inbox/{conversation}/").content.decode()
    assert 'class="coupon-card"' in page and "<code>WELCOME5</code>" in page
    assert "coupon-copy" not in page


def test_a_percentage_coupon_reads_as_a_percentage_with_the_spend_in_the_shops_currency(
    shop, owner, pre_agent, marketplace, django_capture_on_commit_callbacks
):
    online(pre_agent)
    _save_rules(
        owner,
        {
            "coupon_code": "TENOFF",
            "coupon_value": "10",
            "coupon_currency": "%",
            "coupon_min_spend": "50",
            "coupon_valid_until": "2026-06-30",
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(
            Client(),
            shop,
            {
                "external_id": "m-pct",
                "buyer": {"external_id": "b-pct", "name": "Ann", "language": "en"},
                "entry_point": "order_detail",
                "text": "Do you have a coupon?",
            },
        )
    (sent,) = [b for b in marketplace if b["kind"] == "coupon"]
    assert sent["text"].splitlines()[:2] == [
        "A coupon for you: 10% off your order.",
        "For orders of 50.00 USD or more.",
    ]
    coupon = sent["payload"]["coupon"]
    assert (coupon["kind"], coupon["value"], coupon["currency"]) == ("percent", "10.00", None)


def test_a_percentage_of_100_or_more_is_refused_and_nothing_is_saved(owner):
    response = login_client(owner).put(
        "/api/v1/automation/keyword-rules",
        data=json.dumps(
            {"rules": _rules({**WELCOME5, "coupon_currency": "%", "coupon_value": "100"})}
        ),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "percentage off is less than 100" in response.json()["detail"]
    assert not KeywordRule.objects.exists()


def test_the_widget_shows_the_offer_as_a_card_in_the_buyers_language(shop, owner, pre_agent):
    online(pre_agent)
    _save_rules(owner)
    buyer = Client(HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    assert buyer.get(f"/chat/{shop.slug}/").status_code == 200
    sent = buyer.post(
        f"/chat/{shop.slug}/send/",
        {"text": "Hola, ¿tienen algún cupón?", "client_id": uuid.uuid4().hex, "language": "es"},
    )
    assert sent.status_code == 204
    page = buyer.get(f"/chat/{shop.slug}/").content.decode()
    assert 'class="coupon-card"' in page
    assert '<p class="coupon-value">5,00 USD</p>' in page
    assert "Válido hasta el 31 de diciembre de 2026, 23:59 (UTC+08:00)." in page
    assert '<code>WELCOME5</code> <button type="button" class="coupon-copy"' in page
    assert "Copiar código" in page
    assert " style=" not in page and "<script>" not in page  # CSP: styles and scripts in files


WIDGET = {
    "en": ("en-US,en;q=0.9", ["Chat with us", "Type a message…", ">Send<", "Connection lost"]),
    "ru": (
        "ru-RU,ru;q=0.9",
        ["Чат с нами", "Введите сообщение…", ">Отправить<", "Связь прервалась"],
    ),
    "es": (
        "es-MX,es;q=0.8",
        ["Chatea con nosotros", "Escribe un mensaje…", ">Enviar<", "Se perdió la conexión"],
    ),
    "zh-hans": ("zh-CN,zh;q=0.9", ["在线咨询", "输入消息……", ">发送<", "连接已断开"]),
}


@pytest.mark.parametrize("language", list(WIDGET))
def test_the_widget_speaks_the_browsers_language(shop, language):
    accept, phrases = WIDGET[language]
    response = Client(HTTP_ACCEPT_LANGUAGE=accept).get(f"/chat/{shop.slug}/")
    assert response["Content-Language"] == language
    page = response.content.decode()
    assert f'<html lang="{language}">' in page
    for phrase in phrases:
        assert phrase in page


def test_the_conversations_language_beats_the_browsers_and_the_shop_default_comes_last(
    shop, owner, pre_agent
):
    online(pre_agent)
    buyer = Client(HTTP_ACCEPT_LANGUAGE="en-US")
    buyer.get(f"/chat/{shop.slug}/")
    buyer.post(
        f"/chat/{shop.slug}/send/",
        {"text": "Здравствуйте! Когда вы отправите мой заказ?", "client_id": uuid.uuid4().hex},
    )
    assert "Отправить" in buyer.get(f"/chat/{shop.slug}/").content.decode()

    # A browser asking for a language the widget does not speak gets the shop's default: the
    # first language the shop serves.
    current = settings_for_update(shop)
    update_automation_settings(
        actor=owner,
        welcome_enabled=current.welcome_enabled,
        welcome_text=current.welcome_text,
        out_of_hours_enabled=current.out_of_hours_enabled,
        out_of_hours_text=current.out_of_hours_text,
        agent_quiet_minutes=current.agent_quiet_minutes,
        keyword_replies_enabled=current.keyword_replies_enabled,
        languages=["zh-hans"],
    )
    german = Client(HTTP_ACCEPT_LANGUAGE="de-DE").get(f"/chat/{shop.slug}/").content.decode()
    assert '<html lang="zh-hans">' in german and "发送" in german


def test_the_widgets_refusals_are_in_the_buyers_language(shop):
    buyer = Client(HTTP_ACCEPT_LANGUAGE="ru")
    buyer.get(f"/chat/{shop.slug}/")
    empty = buyer.post(f"/chat/{shop.slug}/send/", {"text": "   "})
    assert empty.status_code == 400
    assert empty.content.decode() == "Сначала введите сообщение."
    stranger = Client(HTTP_ACCEPT_LANGUAGE="es").post(f"/chat/{shop.slug}/send/", {"text": "hola"})
    assert stranger.status_code == 400
    assert stranger.content.decode() == "Recarga el chat para iniciar una conversación."


def test_the_preview_shows_the_offer_a_buyer_writing_each_sample_would_read(owner):
    response = login_client(owner).post(
        "/api/v1/automation/keyword-rules/preview",
        data=json.dumps(
            {
                "rules": _rules(WELCOME5),
                "samples": ["有优惠券吗？", "Do you have a coupon for me?"],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    chinese, english = response.json()["rows"]
    assert chinese["reply"].startswith("送您一张优惠券：订单立减 5.00 USD。")
    assert english["reply"].endswith("To use it, enter the code WELCOME5 at checkout.")
    assert not KeywordRule.objects.exists()


def test_the_embedding_page_can_ask_for_a_language(shop):
    page = Client(HTTP_ACCEPT_LANGUAGE="en-US").get(f"/chat/{shop.slug}/?lang=ru")
    assert page["Content-Language"] == "ru" and "Отправить" in page.content.decode()


@pytest.mark.parametrize(
    ("accept", "notice"),
    [
        ("en", "Please wait"),
        ("ru", "Подождите"),
        ("es", "Espera"),
        ("zh-CN", "请等待"),
    ],
)
def test_the_rate_limit_notice_is_in_each_language(shop, rate_clock, accept, notice):
    buyer = Client(HTTP_ACCEPT_LANGUAGE=accept)
    buyer.get(f"/chat/{shop.slug}/")
    # Digits only: the buyer's own language is not detected from them, the browser's holds.
    answers = [
        buyer.post(f"/chat/{shop.slug}/send/", {"text": f"{n} 1", "client_id": uuid.uuid4().hex})
        for n in range(shop.widget_messages_per_minute + 1)
    ]
    assert answers[-1].status_code == 429
    assert notice in answers[-1].content.decode()
