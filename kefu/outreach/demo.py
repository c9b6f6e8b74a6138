"""Demo data for the outreach domain, called by `kefu demo load` (kefu.demo.seed): a saved
segment, a campaign that went out and one scheduled (each in Chinese and English, with an
A/B variant), a consultation invitation and the marketplace's sending caps, all through
the services the outreach pages use."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.accounts.selectors import owner_of
from kefu.conversations.models import Outbox
from kefu.outreach.caps import set_marketplace_cap
from kefu.outreach.invitations import InvitationInput, save_invitation
from kefu.outreach.models import Recipient
from kefu.outreach.selectors import SegmentFilters
from kefu.outreach.services import create_campaign, save_segment, send_campaign_step

EN_A = "Hi {name}, thank you for shopping at {shop}! Our new warm-white desk lamps are in."
EN_B = "Hi {name}, {shop} here: the warm-white desk lamp you asked about is back in stock."
ZH_A = "{name}您好，感谢您光临{shop}！暖白光新款台灯已到货。"
ZH_B = "{name}您好，这里是{shop}：您关注的暖白光台灯已补货。"


def load(*, shop: Shop, rng: random.Random) -> None:
    owner = owner_of(shop)
    if owner is None:
        return
    now = timezone.now()
    set_marketplace_cap(actor=owner, platform=shop.platform, per_minute=30, per_day=2000)
    segment = save_segment(
        actor=owner,
        name="English and Chinese buyers 英文和中文买家",
        filters=SegmentFilters(languages=("en", "zh-hans")),
    )
    texts = {"en": EN_A, "zh-hans": ZH_A}
    texts_b = {"en": EN_B, "zh-hans": ZH_B}
    # One that went out yesterday, so the results table has figures.
    sent = create_campaign(
        actor=owner,
        name="Warm-white lamps are in 暖白光上新",
        segment=segment,
        texts=texts,
        texts_b=texts_b,
        language_order=["zh-hans", "en"],
        starts_at=now - dt.timedelta(days=1),
        window_start=0,
        window_end=24,
    )
    send_campaign_step(campaign=sent, now=now)
    # Like the history, the sample messages never went to a marketplace: no delivery state.
    Outbox.objects.filter(
        shop=shop, message_id__in=Recipient.objects.filter(campaign=sent).values("message_id")
    ).delete()
    create_campaign(
        actor=owner,
        name="Weekend thank-you 周末感谢",
        segment=segment,
        texts=texts,
        language_order=["zh-hans", "en"],
        starts_at=now + dt.timedelta(days=2, hours=rng.randint(0, 3)),
    )
    save_invitation(
        actor=owner,
        data=InvitationInput(
            name="Questions about the lamp? 台灯咨询",
            texts={
                "en": "Questions about this lamp? Ask us, we answer in minutes.",
                "zh": "对这款灯有疑问吗？随时问我们，几分钟内回复。",
                "ru": "Есть вопросы о лампе? Напишите нам, ответим за несколько минут.",
                "es": "¿Dudas sobre esta lámpara? Escríbanos, respondemos en minutos.",
            },
            delay_seconds=20,
            coupon_code="AURORA5",
            coupon_value=Decimal("5"),
            coupon_currency=shop.currency,
            coupon_min_spend=Decimal("30"),
            coupon_valid_until=(now + dt.timedelta(days=30)).date(),
        ),
    )
