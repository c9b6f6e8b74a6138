"""Small builders shared by tests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection, models
from django.test import Client

from kefu.accounts.models import Role, Shop, User
from kefu.catalog.models import Product
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.intake import IntakeResult
from kefu.conversations.load import true_load
from kefu.conversations.models import AgentPresence
from kefu.desk.intake import receive_buyer_message
from kefu.integrations.signing import signed_headers


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
                "socket_count": 1,  # the inbox is open: routing needs a live socket
                "open_load": true_load(user.pk),
            },
        )


def analyze(*tables: type[models.Model]) -> None:
    """Give PostgreSQL's planner statistics on the rows a test made, as autovacuum gives a
    seller's database. Those rows exist only in the test's transaction, which autovacuum
    never sees (and it is off on these machines): without statistics the planner reckons
    every table holds a row or so and nests loops three deep over subqueries (decisions §79).
    ANALYZE inside the transaction samples its own rows; SQLite plans without it."""
    if connection.vendor != "postgresql":
        return
    names = ", ".join(connection.ops.quote_name(t._meta.db_table) for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {names}")


def add_product(shop: Shop, external_id: str, title: str, **fields: Any) -> Product:
    """A product as the shop's main account adds it on the products page (issue 12 §1)."""
    from kefu.catalog.services import ProductData, create_product

    actor = User.objects.get(shop=shop, role=Role.OWNER)
    return create_product(
        actor=actor, data=ProductData(external_id=external_id, title=title, **fields)
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


def synchronous_intake(shop: Shop) -> Shop:
    """The shop's owner turns on the synchronous message webhook (201 with the routing)."""
    from kefu.accounts.models import User
    from kefu.accounts.services import set_intake_mode

    owner = User.objects.get(shop=shop, role="owner")
    return set_intake_mode(actor=owner, synchronous=True)


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
        headers=signed_headers(
            slug=slug or shop.slug, secret=secret or shop.webhook_secret, body=body
        ),
    )


def routing_of(shop: Shop, external_id: str) -> dict[str, Any]:
    """What the signed status endpoint says of one message (the routing once processed)."""
    body = json.dumps({"external_ids": [external_id]}).encode()
    response = Client().post(
        "/api/v1/inbound/messages/status",
        data=body,
        content_type="application/json",
        headers=signed_headers(slug=shop.slug, secret=shop.webhook_secret, body=body),
    )
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()["results"][0]
    return result


def post_order_signed(
    path: str,
    payload: dict[str, Any] | None,
    shop: Shop,
    *,
    secret: str | None = None,
    raw: bytes | None = None,
    signed_at: float | None = None,
):
    """A marketplace's signed order or tracking webhook (`/api/v1/orders<path>`), signed now
    or at `signed_at` (unix seconds)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    return Client().post(
        f"/api/v1/orders{path}",
        data=body,
        content_type="application/json",
        headers=signed_headers(
            slug=shop.slug, secret=secret or shop.webhook_secret, body=body, now=signed_at
        ),
    )


def reply_with_suggested_script(client: Client, conversation_id: int) -> dict[str, Any]:
    """The agent sends the first suggested script that has no gap left, as the reply box
    does; returns the sent message."""
    offers = client.get(f"/api/v1/conversations/{conversation_id}/suggestions").json()
    offer = next(o for o in offers if "?]" not in o["text"])
    sent = client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        data=json.dumps({"text": offer["text"], "script_variant_id": offer["variant_id"]}),
        content_type="application/json",
    )
    assert sent.status_code == 201, sent.content
    message: dict[str, Any] = sent.json()
    return message


def image_bytes(
    fmt: str = "PNG", *, size: tuple[int, int] = (6, 4), exif: dict[int, str] | None = None
) -> bytes:
    """A real image file as a phone or a designer would upload it, optionally with EXIF tags
    (e.g. {0x010F: "Camera maker", 0x013B: "Artist"})."""
    import io

    from PIL import Image

    image = Image.new("RGB", size, (200, 120, 40))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        for tag, value in exif.items():
            tags[tag] = value
        image.save(out, format=fmt, exif=tags.tobytes())
    else:
        image.save(out, format=fmt)
    return out.getvalue()


def keyword_replies_only(owner: User, rules: list[Any]) -> None:
    """The owner turns keyword replies on (welcome and out-of-hours off) and saves ``rules``
    (``KeywordRuleInput``s), as on the automation pages."""
    from kefu.automation.config import settings_for_update, update_automation_settings
    from kefu.automation.keyword_rules import save_keyword_rules

    conf = settings_for_update(owner.shop)
    update_automation_settings(
        actor=owner,
        welcome_enabled=False,
        welcome_text=conf.welcome_text,
        out_of_hours_enabled=False,
        out_of_hours_text=conf.out_of_hours_text,
        agent_quiet_minutes=conf.agent_quiet_minutes,
        keyword_replies_enabled=True,
    )
    save_keyword_rules(actor=owner, rules=rules)


def set_quiet_hours(owner: User, start: str, end: str) -> None:
    """The owner sets the shop's one quiet hours (the order settings page's service), as
    "HH:MM" shop-local; the same time twice: never quiet."""
    import datetime as dt

    from kefu.orders.config import update_order_settings

    assert owner.shop is not None
    update_order_settings(
        actor=owner,
        shop=owner.shop,
        quiet_start=dt.time.fromisoformat(start),
        quiet_end=dt.time.fromisoformat(end),
    )


def save_review_settings(
    owner: User,
    *,
    tmall_negative_at_most: int = 3,
    task_group: str = "after_sale",
    invite_enabled: bool = True,
    invite_after_days: int = 2,
) -> None:
    """The owner saves the reviews page's settings through the API (asserted saved)."""
    from tests.conftest import login_client

    saved = login_client(owner).put(
        "/api/v1/care/reviews/settings",
        data=json.dumps(
            {
                "tmall_negative_at_most": tmall_negative_at_most,
                "task_group": task_group,
                "invite_enabled": invite_enabled,
                "invite_after_days": invite_after_days,
            }
        ),
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.content


def inbox_events(frame: dict) -> list[dict]:
    """The events an inbox socket frame carries: one "event", or a transaction's "events"."""
    return list(frame["events"]) if frame["type"] == "events" else [frame]
