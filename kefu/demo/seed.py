"""The demo shop: a cross-border AliExpress-style shop with a team, products and history."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.accounts.services import create_agent, create_shop
from kefu.catalog.models import Product
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import AgentPresence, Conversation, EntryPoint, Outbox
from kefu.conversations.state import resolve_conversation
from kefu.desk.intake import receive_buyer_message
from kefu.desk.replies import send_reply

SLUG = "aurora-lights"
PASSWORD = "kefu-demo-2026"  # noqa: S105 - the demo logins are printed for everyone

TEAM = [
    # login, display name, groups
    ("lily", "Lily", ["pre_sale"]),
    ("max", "Max", ["after_sale"]),
    ("mei", "Mei 美", ["pre_sale", "after_sale"]),
]

PRODUCTS = [
    ("LED desk lamp, dimmable", "lily"),
    ("Clip-on reading light", "lily"),
    ("Rechargeable night light", "lily"),
    ("Smart bulb E27 (Wi-Fi)", "lily"),
    ("Smart bulb GU10 (Wi-Fi)", "lily"),
    ("RGB light strip 5 m", "lily"),
    ("Solar garden lights, 6-pack", "mei"),
    ("Camping lantern", "mei"),
    ("Headlamp 1200 lm", "mei"),
    ("Bicycle light set", "mei"),
    ("Motion-sensor cabinet light", "mei"),
    ("Fairy lights 10 m", "mei"),
    ("Ring light 26 cm with tripod", "max"),
    ("Monitor light bar", "max"),
    ("Salt lamp, natural", "max"),
    ("Moon lamp 3D print", "max"),
    ("Table lamp, rattan", None),
    ("Floor lamp, arc", None),
    ("Neon sign 'Open'", None),
    ("Wall sconce, pair", None),
    ("Spare LED driver 12 V", None),
    ("USB-C cable for lamps", None),
    ("Lamp shade, linen", None),
    ("Gift card 20 USD", None),
]

BUYERS = [
    ("ae-ivan-petrov", "Ivan Petrov", "ru", "RU"),
    ("ae-olga-s", "Olga Smirnova", "ru", "RU"),
    ("ae-dmitri-k", "Dmitri Kuznetsov", "ru", "BY"),
    ("ae-maria-g", "María García", "es", "ES"),
    ("ae-juan-m", "Juan Martínez", "es", "MX"),
    ("ae-lucia-r", "Lucía Rodríguez", "es", "CL"),
    ("ae-john-smith", "John Smith", "en", "US"),
    ("ae-emma-w", "Emma Wilson", "en", "GB"),
    ("ae-liam-b", "Liam Brown", "en", "AU"),
    ("ae-sophie-t", "Sophie Taylor", "en", "CA"),
    ("ae-wang-fang", "王芳", "zh-hans", "CN"),
    ("ae-li-wei", "李伟", "zh-hans", "CN"),
    ("ae-chen-jing", "陈静", "zh-hans", "SG"),
    ("ae-zhang-min", "張敏", "zh-hans", "TW"),
    ("ae-pierre-d", "Pierre Dubois", "en", "FR"),
    ("ae-anna-k", "Anna Kowalska", "en", "PL"),
    ("ae-mehmet-y", "Mehmet Yılmaz", "en", "TR"),
    ("ae-sven-l", "Sven Larsson", "en", "SE"),
    ("ae-carlos-p", "Carlos Pérez", "es", "AR"),
    ("ae-natasha-v", "Natasha Volkova", "ru", "KZ"),
]

PRE_SALE_LINES = {
    "en": [
        "Hi, is this lamp available in warm white?",
        "How long does shipping to my country take?",
        "Do you have a discount if I buy two?",
        "Does it come with an EU plug?",
        "Can I get an invoice for my company?",
    ],
    "ru": [
        "Здравствуйте, есть ли эта лампа в тёплом белом?",
        "Сколько идёт доставка в Россию?",
        "Будет ли скидка, если возьму две?",
        "Есть ли европейская вилка?",
    ],
    "es": [
        "Hola, ¿esta lámpara viene en blanco cálido?",
        "¿Cuánto tarda el envío a España?",
        "¿Hay descuento si compro dos?",
        "¿Trae enchufe europeo?",
    ],
    "zh-hans": [
        "你好，这款台灯有暖白光吗？",
        "发货到新加坡要多久？",
        "买两个有优惠吗？",
        "可以开发票吗？",
    ],
}
AFTER_SALE_LINES = {
    "en": [
        "My parcel has not moved for 10 days, can you check?",
        "The lamp arrived with a cracked base.",
        "I was charged import duty, why?",
        "When will my refund arrive?",
        "Tracking says delivered but I have nothing.",
    ],
    "ru": [
        "Посылка не двигается уже 10 дней, проверьте пожалуйста.",
        "Лампа пришла с трещиной.",
        "Мне пришлось платить пошлину, почему?",
        "Когда придёт возврат денег?",
    ],
    "es": [
        "Mi paquete no se mueve desde hace 10 días.",
        "La lámpara llegó rota.",
        "Me cobraron impuestos de importación, ¿por qué?",
        "¿Cuándo llega mi reembolso?",
    ],
    "zh-hans": [
        "我的包裹十天没有更新了，帮我查一下",
        "台灯收到时底座裂了",
        "退款什么时候到账？",
        "物流显示签收了但是我没收到",
    ],
}
AGENT_LINES = {
    "en": [
        "Thank you for your message! Let me check that for you right away.",
        "Yes, it ships within 48 hours of payment.",
        "I am sorry about that — could you send a photo?",
        "Your tracking number is below; it is moving again since yesterday.",
    ],
    "ru": [
        "Спасибо за сообщение! Сейчас проверю.",
        "Да, отправляем в течение 48 часов после оплаты.",
        "Извините за неудобства, пришлите, пожалуйста, фото.",
    ],
    "es": [
        "¡Gracias por su mensaje! Lo reviso ahora mismo.",
        "Sí, enviamos en 48 horas tras el pago.",
        "Lo siento mucho, ¿puede enviarnos una foto?",
    ],
    "zh-hans": [
        "亲，收到您的消息，马上为您查询～",
        "付款后48小时内发货哦",
        "非常抱歉，麻烦发一张照片给我们看看",
    ],
}


@dataclass(frozen=True)
class DemoInfo:
    shop: Shop
    created: bool
    logins: list[tuple[str, str, str]]


def load_demo(*, seed: int = 11) -> DemoInfo:
    """Create the demo shop once; running it again changes nothing."""
    existing = Shop.objects.filter(slug=SLUG).first()
    logins = [("aurora-owner", PASSWORD, "main account 主账号")] + [
        (login, PASSWORD, "+".join(groups)) for login, _, groups in TEAM
    ]
    if existing is not None:
        return DemoInfo(existing, created=False, logins=logins)
    rng = random.Random(seed)
    with transaction.atomic():
        shop = create_shop(
            name="Aurora Lights",
            platform="aliexpress",
            slug=SLUG,
            owner_login="aurora-owner",
            owner_password=PASSWORD,
            timezone_name="Asia/Shanghai",
            currency="USD",
        ).shop
        team = {
            login: create_agent(
                actor=None,
                shop=shop,
                login=login,
                groups=groups,
                password=PASSWORD,
                display_name=name,
            )[0]
            for login, name, groups in TEAM
        }
        products = []
        for i, (title, owner_login) in enumerate(PRODUCTS, start=1):
            products.append(
                Product.objects.create(
                    shop=shop,
                    external_id=f"AE-{1000 + i}",
                    title=title,
                    owner=team[owner_login] if owner_login else None,
                    price=Decimal(rng.randrange(500, 9000)) / 100,
                    stock=rng.choice([0, 5, 40, 120, 300]),
                    is_main_push=i in (1, 4, 7, 13),
                )
            )
        for a, b in ((0, 1), (3, 4), (3, 5), (6, 7), (12, 13)):
            products[a].related.add(products[b])
        _history(shop, team, products, rng)
        # The history is sample data that never went anywhere: like imported history it has
        # no delivery state, instead of a wall of "not delivered" (the demo shop has no
        # marketplace connection; what an agent sends from now on says so honestly).
        Outbox.objects.filter(shop=shop).delete()
    # Each domain seeds its own part, in INSTALLED_APPS order, from its AppConfig.
    for config in apps.get_app_configs():
        load_demo: Callable[..., None] | None = getattr(config, "load_demo", None)
        if load_demo is not None:
            load_demo(shop=shop, rng=rng)
    return DemoInfo(shop, created=True, logins=logins)


def _history(
    shop: Shop, team: dict[str, User], products: list[Product], rng: random.Random
) -> None:
    """A few hundred messages over the last ten days, through the same services as live use."""
    now = timezone.now()
    # Everyone is on duty while history is written so routing spreads the work.
    for user in [*team.values()]:
        AgentPresence.objects.update_or_create(
            user=user,
            defaults={"shop": shop, "is_online": True, "last_seen_at": now, "socket_count": 1},
        )
    msg_no = 0
    for b_index, (ext, name, lang, country) in enumerate(BUYERS):
        sessions = rng.randint(1, 3)
        for s in range(sessions):
            after_sale = rng.random() < 0.45
            entry = (
                rng.choice([EntryPoint.ORDER_DETAIL, EntryPoint.ORDER_LIST, EntryPoint.DISPUTE])
                if after_sale
                else rng.choice([EntryPoint.PRODUCT_PAGE, EntryPoint.SHOP_PAGE, EntryPoint.SEARCH])
            )
            product = rng.choice(products)
            start = now - timedelta(days=rng.uniform(0.2, 10), minutes=b_index)
            lines = (AFTER_SALE_LINES if after_sale else PRE_SALE_LINES)[lang]
            turns = rng.randint(2, 6)
            at = start
            conv: Conversation | None = None
            for t in range(turns):
                msg_no += 1
                result = receive_buyer_message(
                    shop=shop,
                    buyer=BuyerIn(external_id=ext, name=name, language=lang, country=country),
                    text=rng.choice(lines),
                    entry_point=entry,
                    external_id=f"demo-{msg_no}",
                    product_external_id=product.external_id,
                    order_external_id=f"80{31000 + b_index * 7 + s}" if after_sale else None,
                    sent_at=at,
                )
                conv = result.conversation
                at += timedelta(minutes=rng.randint(1, 40))
                last_session = s == sessions - 1
                if last_session and t == turns - 1 and rng.random() < 0.6:
                    break  # leave it waiting for the shop
                agent = conv.assignee or team["mei"]
                reply = send_reply(
                    actor=agent, conversation=conv, text=rng.choice(AGENT_LINES[lang])
                )
                Conversation.objects.filter(pk=conv.pk).update(last_message_at=at)
                reply.sent_at = at
                reply.save(update_fields=["sent_at"])
                at += timedelta(minutes=rng.randint(1, 30))
            if conv is not None and s < sessions - 1:
                conv.refresh_from_db()
                resolve_conversation(actor=team["mei"], conversation=conv)
    # Nobody is on duty until they log in.
    AgentPresence.objects.filter(shop=shop).update(is_online=False, socket_count=0)
