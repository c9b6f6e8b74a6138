"""Short messages to buyers in their language: payment reminders and holding messages.

Buyers read these in the marketplace chat, so they are in the buyer's language (en, ru, es,
zh-hans), not the agent's interface language. Placeholders: {order}, {name}, {number},
{carrier}, {days}, {link}.
"""

from __future__ import annotations

from typing import Final

from kefu.accounts.models import Platform, Shop

LANGUAGES: Final = ("en", "ru", "es", "zh-hans")

PAYMENT_REMINDER: Final[dict[str, str]] = {
    "en": (
        "Hi {name}, thank you for your order {order}! It is reserved for you but not paid "
        "yet. If anything stopped you at checkout, just reply here and we will help."
    ),
    "ru": (
        "Здравствуйте, {name}! Спасибо за заказ {order}. Мы его отложили, но оплата ещё не "
        "поступила. Если что-то помешало оплатить, напишите нам, и мы поможем."
    ),
    "es": (
        "Hola {name}, ¡gracias por tu pedido {order}! Lo tenemos reservado, pero aún no "
        "está pagado. Si tuviste algún problema al pagar, respóndenos y te ayudamos."
    ),
    "zh-hans": (
        "亲爱的{name}，感谢您拍下订单 {order}！宝贝已为您预留，目前还未付款。"
        "如果付款时遇到任何问题，直接回复我们就好，客服马上帮您处理～"
    ),
}

STALLED_HOLDING: Final[dict[str, str]] = {
    "en": (
        "Hi {name}, we are watching your parcel {number} ({carrier}). Its tracking has not "
        "updated for {days} days, which happens on busy routes; we have asked the carrier to "
        "check it and will write to you as soon as we hear back. {link}"
    ),
    "ru": (
        "Здравствуйте, {name}! Мы следим за вашей посылкой {number} ({carrier}). Статус не "
        "обновлялся {days} дн. — так бывает на загруженных направлениях. Мы запросили "
        "перевозчика и сразу напишем, как получим ответ. {link}"
    ),
    "es": (
        "Hola {name}, estamos siguiendo tu paquete {number} ({carrier}). El seguimiento no se "
        "actualiza desde hace {days} días, algo habitual en rutas muy cargadas; ya lo hemos "
        "consultado con el transportista y te escribiremos en cuanto sepamos algo. {link}"
    ),
    "zh-hans": (
        "亲，您的包裹 {number}（{carrier}）物流信息已经 {days} 天没有更新了，"
        "我们已经联系快递核实，有消息第一时间通知您，请您放心～ {link}"
    ),
}

PICKUP_HOLDING: Final[dict[str, str]] = {
    "en": (
        "Hi {name}, good news: your parcel {number} ({carrier}) is waiting for you at the "
        "pickup point. Please collect it before it is sent back. {link}"
    ),
    "ru": (
        "Здравствуйте, {name}! Ваша посылка {number} ({carrier}) ждёт вас в пункте выдачи. "
        "Пожалуйста, заберите её, пока её не вернули отправителю. {link}"
    ),
    "es": (
        "Hola {name}, tu paquete {number} ({carrier}) te espera en el punto de recogida. "
        "Recógelo antes de que lo devuelvan, por favor. {link}"
    ),
    "zh-hans": (
        "亲，您的包裹 {number}（{carrier}）已到达自提点/快递柜，请尽快取件，"
        "以免超时被退回哦～ {link}"
    ),
}


def buyer_language(*, language: str, shop: Shop) -> str:
    """The template language for a buyer: their own when known, else the shop's market's."""
    code = language.strip().lower().replace("_", "-")
    if code.startswith("zh"):
        return "zh-hans"
    if code[:2] in {"en", "ru", "es"}:
        return code[:2]
    return "zh-hans" if shop.platform in (Platform.TAOBAO, Platform.TMALL) else "en"


def render(table: dict[str, str], *, language: str, **values: object) -> str:
    text = table.get(language) or table["en"]
    return text.format(**{k: ("" if v is None else v) for k, v in values.items()}).strip()
