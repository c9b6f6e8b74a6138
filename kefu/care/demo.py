"""Demo data for the care domain, called by `kefu demo load` (kefu.demo.seed): complaints,
promises, a return, reviews with their tasks and call, follow-up rules, usage cycles for the
revisit table and buyer feedback, all through the services the pages and imports use."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.accounts.selectors import owner_of
from kefu.care.complaints import ComplaintChange, ComplaintInput, open_complaint, update_complaint
from kefu.care.feedback import save_feedback
from kefu.care.followups import LOOKBACK, RuleInput, plan_follow_ups, save_rule
from kefu.care.models import ComplaintStatus, FeedbackKind, FollowUpKind, ReviewSource
from kefu.care.promises import PromiseInput, record_promise
from kefu.care.returns import StepInput, advance_return, open_return
from kefu.care.reviews import ReviewInput, store_review
from kefu.catalog.models import Product
from kefu.catalog.services import input_of, update_product
from kefu.conversations.models import Conversation
from kefu.orders.models import Order

COMPLAINTS = [
    ("logistics_delay", "Parcel has not moved for 10 days; buyer threatens a dispute."),
    ("damaged", "Lamp arrived with a cracked base, photo sent in the chat."),
    ("customs", "Buyer was charged import duty and wants it back."),
    ("quality", "Dimmer flickers at the lowest setting."),
]

REVIEWS = [
    # rating, text, days ago
    (1, "Arrived broken and the seller took a week to answer. Not happy.", 1),
    (3, "Light is fine but shipping took almost a month.", 2),
    (5, "Beautiful lamp, warm light, fast delivery. Thank you!", 3),
    (5, "质量很好，包装仔细，物流也快，推荐！", 4),
    (4, "Good value, the cable could be longer.", 5),
]

FOLLOW_UPS = [
    (
        FollowUpKind.AFTER_PURCHASE,
        0,
        "Hi {name}, thank you for your order at {shop}! We ship within 48 hours and will "
        "send you the tracking number.",
        "{name}您好，感谢您在{shop}下单！我们会在48小时内发货，并第一时间告知物流单号。",
    ),
    (
        FollowUpKind.AT_DELIVERY,
        0,
        "Hi {name}, your parcel has arrived. If anything is not right, write to us first and "
        "we will fix it.",
        "{name}您好，您的包裹已签收。如有任何问题请先联系我们，我们会尽快处理。",
    ),
    (
        FollowUpKind.AFTER_DAYS,
        7,
        "Hi {name}, how is your new light after a week? Tips and spare parts are one message away.",
        "{name}您好，新灯用了一周感觉如何？如需使用建议或配件，随时联系我们。",
    ),
]

# Days a product lasts: short, so the demo's orders delivered yesterday come due this week.
USAGE_CYCLES = 3


def load(*, shop: Shop, rng: random.Random) -> None:
    owner = owner_of(shop)
    if owner is None:
        return
    now = timezone.now()
    with_orders = list(
        Conversation.objects.filter(shop=shop)
        .exclude(order_external_id="")
        .select_related("buyer")
        .order_by("pk")
    )
    orders = {o.external_id: o for o in Order.objects.filter(shop=shop)}
    picked = rng.sample(with_orders, k=min(len(with_orders), 8))

    # Complaints with their causes; the first one turned around (the buyer kept the order).
    for (cause, summary), conv in zip(COMPLAINTS, picked, strict=False):
        complaint = open_complaint(
            actor=owner, data=ComplaintInput(cause=cause, summary=summary), conversation=conv
        )
        if cause == "logistics_delay":
            update_complaint(
                actor=owner,
                complaint=complaint,
                change=ComplaintChange(status=ComplaintStatus.RESOLVED, resolution="kept"),
            )

    # A promise due this afternoon and one that has just run out (the page's red row).
    if len(picked) >= 6:
        record_promise(
            actor=owner,
            data=PromiseInput(
                what="Send the new tracking number once the reshipment is booked",
                due_at=now + dt.timedelta(hours=3),
            ),
            conversation=picked[4],
        )
        record_promise(
            actor=owner,
            data=PromiseInput(
                what="Call the buyer back about the customs refund",
                due_at=now - dt.timedelta(minutes=4),
            ),
            conversation=picked[5],
        )

    # A return on its way back to the shop.
    delivered = [o for o in orders.values() if o.delivered_at is not None]
    delivered.sort(key=lambda o: o.external_id)
    if delivered:
        request = open_return(
            actor=owner, order=delivered[0], kind="return", reason="Wrong colour temperature"
        )
        advance_return(actor=owner, request=request, step=StepInput(status="approved"))

    # Reviews as an import stores them: the negative one gets its task and a call.
    reviewed = sorted(orders.values(), key=lambda o: o.external_id)
    for n, (rating, text, days) in enumerate(REVIEWS):
        order = reviewed[n % len(reviewed)] if reviewed else None
        store_review(
            shop=shop,
            data=ReviewInput(
                external_id=f"demo-review-{n + 1}",
                posted_at=now - dt.timedelta(days=days, hours=rng.randint(0, 12)),
                rating=rating,
                text=text,
                order_external_id=order.external_id if order else "",
            ),
            source=ReviewSource.IMPORT,
        )

    # Follow-up rules in both languages the owner writes in, switched on three days ago so
    # the planner picks up the demo's recent payments and deliveries (its lookback).
    for kind, days, en, zh in FOLLOW_UPS:
        save_rule(
            actor=owner,
            data=RuleInput(kind=kind, days=days, texts={"en": en, "zh-hans": zh}),
            now=now - LOOKBACK,
        )
    plan_follow_ups(shop=shop, now=now)

    # A usage cycle on what the delivered orders hold, so the revisit table has rows.
    product_ids = {
        item.product_id
        for order in delivered
        for item in order.items.all()
        if item.product_id is not None
    }
    for product in Product.objects.filter(shop=shop, pk__in=product_ids):
        update_product(
            actor=owner,
            product=product,
            data=replace(input_of(product), usage_cycle_days=USAGE_CYCLES),
        )

    # What buyers said about the products.
    for conv, (feedback_kind, text) in zip(
        picked[6:],
        [
            (FeedbackKind.SUGGESTION, "Please sell a longer USB-C cable with the desk lamp."),
            (FeedbackKind.PRAISE, "灯光很柔和，孩子很喜欢。"),
        ],
        strict=False,
    ):
        save_feedback(actor=owner, conversation=conv, kind=feedback_kind, text=text)
