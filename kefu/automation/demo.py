"""Demo data for the automation domain, called by `kefu demo load` (kefu.demo.seed)."""

from __future__ import annotations

import datetime as dt
import random
import zoneinfo
from decimal import Decimal

from kefu.accounts.models import Shop
from kefu.accounts.selectors import owner_of
from kefu.automation.business_hours import Interval
from kefu.automation.config import HolidayInput, set_business_hours, update_automation_settings
from kefu.automation.keyword_rules import KeywordRuleInput, save_keyword_rules
from kefu.automation.starter import install_starter_set


def load(*, shop: Shop, rng: random.Random) -> None:
    """The starter set every new shop gets (kefu.automation.starter), then the demo's own
    welcome and out-of-hours replies, business hours and a five-rule keyword set, all
    through the same services the owner uses."""
    install_starter_set(shop=shop)
    owner = owner_of(shop)
    if owner is None:
        return
    update_automation_settings(
        actor=owner,
        welcome_enabled=True,
        welcome_text=(
            "Hello and welcome! Our team answers 9:00-18:00 Beijing time, Monday to Friday. "
            "Leave your question and order number and we will get back to you."
        ),
        out_of_hours_enabled=True,
        out_of_hours_text=(
            "Thanks for your message! We are off duty right now and will answer first thing "
            "in the morning (from 9:00 Beijing time)."
        ),
        agent_quiet_minutes=10,
        keyword_replies_enabled=True,
        suggestions_enabled=True,
        welcome_translations={
            "ru": "Здравствуйте! Мы отвечаем с 9:00 до 18:00 по пекинскому времени, с понедельника "
            "по пятницу. Оставьте вопрос и номер заказа — мы обязательно ответим.",
            "es": "¡Hola y bienvenido! Respondemos de 9:00 a 18:00 (hora de Pekín), de lunes a "
            "viernes. Déjenos su pregunta y el número de pedido y le contestaremos.",
            "zh-hans": "亲，欢迎光临！客服工作时间为北京时间周一至周五 9:00-18:00，"
            "请留下您的问题和订单号，我们会尽快回复。",
        },
    )
    today = dt.datetime.now(zoneinfo.ZoneInfo(shop.timezone)).date()
    nine, six = dt.time(9), dt.time(18)
    year = today.year
    set_business_hours(
        actor=owner,
        intervals=[Interval(weekday=d, opens=nine, closes=six) for d in range(5)],
        holidays=[
            HolidayInput(day=dt.date(year, 10, 1), name="National Day 国庆节"),
            HolidayInput(day=dt.date(year, 10, 2), name="National Day 国庆节"),
        ],
    )
    valid_until = today + dt.timedelta(days=30 + rng.randint(0, 30))
    save_keyword_rules(
        actor=owner,
        rules=[
            KeywordRuleInput(
                keyword="coupon",
                reply_type="coupon",
                coupon_code="WELCOME5",
                coupon_value=Decimal("5"),
                coupon_currency=shop.currency,
                coupon_valid_until=valid_until,
                coupon_min_spend=Decimal("30"),
            ),
            KeywordRuleInput(
                keyword="优惠券",
                reply_type="coupon",
                coupon_code="WELCOME5",
                coupon_value=Decimal("5"),
                coupon_currency=shop.currency,
                coupon_valid_until=valid_until,
                coupon_min_spend=Decimal("30"),
            ),
            KeywordRuleInput(
                keyword="tracking not updated",
                reply_type="text",
                text=(
                    "International parcels often show no new scan for 5-10 days while they "
                    "travel between countries. An agent will check yours as well."
                ),
            ),
            KeywordRuleInput(
                keyword="什么时候发货",
                reply_type="text",
                text="亲，付款后48小时内发货，发出后可在订单页查看运单号。客服稍后会为您确认具体时间。",
            ),
            KeywordRuleInput(
                keyword="refund",
                reply_type="text",
                text=(
                    "Refunds reach your account in 3-20 business days depending on the bank. "
                    "An agent will look at your case shortly."
                ),
            ),
        ],
    )
