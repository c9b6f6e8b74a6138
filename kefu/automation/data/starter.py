# ruff: noqa: E501 - Chinese lines are measured in display width; the text reads better unbroken.
"""The starter texts of a new shop: welcome and out-of-hours replies in the four script
languages and a starter keyword set (R-07, R-08, R-50).

Written for Kefu in its own words. No text names a number of hours or days: the shop's own
promises live in its order settings and reach buyers through scripts ({ship_by_hours},
{refund_days}), while these texts are sent as written. Each keyword is a whole question a
buyer can pick from the widget's menu (R-50), which the widget heads "These questions may help
you"; the welcome itself does not say so: on a marketplace it arrives without that menu.
"""

from __future__ import annotations

from typing import TypedDict

WELCOME: dict[str, str] = {
    "en": "Hello and welcome! Thank you for your message: an agent will answer you shortly. "
    "If it is about an order, please add the order number.",
    "ru": "Здравствуйте и добро пожаловать! Спасибо за сообщение: оператор скоро ответит. "
    "Если вопрос о заказе, добавьте, пожалуйста, номер заказа.",
    "es": "¡Hola y bienvenido! Gracias por tu mensaje: un agente te responderá enseguida. "
    "Si es sobre un pedido, añade el número de pedido.",
    "zh-hans": "亲，欢迎光临！感谢您的留言，客服马上为您解答。如果是订单问题，请附上订单号。",
}

OUT_OF_HOURS: dict[str, str] = {
    "en": "Thanks for your message! Our team is away right now and will answer as soon as "
    "we are back. Leave your question and order number here and nothing will be missed.",
    "ru": "Спасибо за сообщение! Сейчас мы не на связи и ответим сразу, как вернемся. "
    "Оставьте здесь вопрос и номер заказа, и мы ничего не пропустим.",
    "es": "¡Gracias por tu mensaje! Ahora mismo no estamos, y te responderemos en cuanto "
    "volvamos. Deja aquí tu pregunta y el número de pedido y no se nos escapará nada.",
    "zh-hans": "亲，感谢您的留言！客服现在不在线，上班后会第一时间回复您。请留下您的问题和订单号，我们不会漏掉的。",
}


class StarterKeyword(TypedDict):
    keyword: str
    text: str


# One set per shop, in the language its buyers mostly write: cross-border shops in English,
# Taobao and Tmall shops in Chinese. Three to nine active rules make a set.
KEYWORDS: dict[str, list[StarterKeyword]] = {
    "en": [
        {
            "keyword": "When will my order ship",
            "text": "Thank you for your order! We ship within the time promised on the product "
            "page after payment, and the tracking number appears on your order page as soon "
            "as the parcel leaves us. An agent will confirm the details for you.",
        },
        {
            "keyword": "Where is my parcel",
            "text": "You can follow your parcel with the tracking number on your order page. "
            "International parcels often show no new scan for several days while they travel "
            "between countries. An agent will check yours as well.",
        },
        {
            "keyword": "How do I get a refund",
            "text": "Open the order, choose the refund or return option and tell us what "
            "happened, with a photo if something is wrong. The money goes back to the account "
            "you paid with. An agent will look at your case shortly.",
        },
        {
            "keyword": "My payment failed",
            "text": "Sorry the payment did not go through. Please try again in a few minutes, "
            "or choose another card or payment method at checkout: during big sales payment "
            "systems are busy. Your order stays reserved, and an agent will help if it still "
            "fails.",
        },
        {
            "keyword": "Can I change my address",
            "text": "Please send the new address from the account that placed the order, "
            "before the parcel ships. An agent will check whether it can still be changed.",
        },
    ],
    "zh-hans": [
        {
            "keyword": "什么时候发货",
            "text": "亲，付款后会在商品页承诺的时间内发货，发出后可在订单页查看运单号。客服稍后会为您确认具体时间。",
        },
        {
            "keyword": "物流到哪了",
            "text": "亲，可以在订单页用运单号查看物流进度，包裹在转运途中有几天不更新是正常的，客服也会帮您核实。",
        },
        {
            "keyword": "怎么申请退款",
            "text": "亲，在订单页申请退款或退货并说明情况，商品有问题请附上照片，退款会原路退回您的支付账户，客服会尽快为您处理。",
        },
        {
            "keyword": "付款失败怎么办",
            "text": "亲，付款没成功的话请稍等几分钟再试，或者换一张卡、换一种支付方式；大促期间支付系统比较繁忙，订单会为您保留，还不行的话客服会协助您。",
        },
        {
            "keyword": "可以改地址吗",
            "text": "亲，请用下单付款的账号把新地址发给我们，发货前都可以修改，客服会马上为您核实。",
        },
    ],
}

# The language of a shop's plain welcome text and keyword set, by platform.
DOMESTIC_PLATFORMS = ("taobao", "tmall")
