"""Small builders shared by tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.test import Client

from kefu.accounts.models import Shop, User
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.intake import IntakeResult
from kefu.conversations.models import AgentPresence
from kefu.desk.intake import receive_buyer_message
from kefu.integrations.signing import sign


def online(*users: User) -> None:
    from django.utils import timezone

    for user in users:
        AgentPresence.objects.update_or_create(
            user=user,
            defaults={
                "shop_id": user.shop_id,
                "is_online": True,
                "last_seen_at": timezone.now(),
                "status": "available",
            },
        )


def buyer_says(
    shop: Shop,
    text: str = "Hello, is the lamp in stock?",
    *,
    buyer: str = "b-1",
    entry_point: str = "product_page",
    external_id: str | None = None,
    product: str | None = None,
    order: str | None = None,
    sent_at: datetime | None = None,
    name: str = "Ivan",
) -> IntakeResult:
    return receive_buyer_message(
        shop=shop,
        buyer=BuyerIn(external_id=buyer, name=name),
        text=text,
        entry_point=entry_point,
        external_id=external_id,
        product_external_id=product,
        order_external_id=order,
        sent_at=sent_at,
    )


def post_signed(
    client: Client,
    shop: Shop,
    payload: dict[str, Any] | bytes,
    *,
    secret: str | None = None,
    slug: str | None = None,
):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(
        "/api/v1/inbound/messages",
        data=body,
        content_type="application/json",
        headers={
            "X-Kefu-Shop": slug or shop.slug,
            "X-Kefu-Signature": sign(secret or shop.webhook_secret, body),
        },
    )
