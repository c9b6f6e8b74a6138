"""Marketplace webhooks: buyers' messages arrive here, signed per shop."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from ninja import Router, Schema
from pydantic import Field, ValidationError

from kefu.catalog.upserts import ProductInput, upsert_products
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.models import EntryPoint
from kefu.core.controls import loads_clean
from kefu.core.schema_types import ErrorOut as Problem  # the API's one error shape
from kefu.core.schema_types import Instant, field_errors, inline_json_schema
from kefu.desk.intake import receive_buyer_message
from kefu.integrations.webhook_auth import (
    RateLimitedProblem,
    signed_buyer_message,
    signed_webhook,
    webhook_shop,
    with_retry_after,
)

router = Router(tags=["inbound"])


class InboundBuyer(Schema):
    external_id: str = Field(min_length=1, max_length=120)
    name: str = Field(default="", max_length=120)
    language: str = Field(default="", max_length=10)
    country: str = Field(default="", max_length=2)


class InboundMessage(Schema):
    external_id: str = Field(min_length=1, max_length=120)
    buyer: InboundBuyer
    entry_point: EntryPoint
    text: str = Field(min_length=1)
    product_external_id: str | None = Field(default=None, max_length=80)
    order_external_id: str | None = Field(default=None, max_length=80)
    sent_at: Instant | None = None


class InboundAccepted(Schema):
    conversation_id: int
    message_id: int
    group: str
    assigned_agent: str | None
    duplicate: bool


def _problem(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


@router.post(
    "/messages",
    auth=signed_buyer_message,
    response={
        200: InboundAccepted,
        201: InboundAccepted,
        400: Problem,
        401: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Receive a buyer's message from a marketplace",
    openapi_extra=with_retry_after(
        {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": inline_json_schema(InboundMessage)}},
            }
        }
    ),
)
def inbound_message(request: HttpRequest) -> HttpResponse:
    """Signed: `X-Kefu-Shop`, `X-Kefu-Timestamp` (unix seconds) and `X-Kefu-Signature:
    sha256=<HMAC-SHA256 of "<timestamp>.<raw body>">`.

    The same `external_id` again answers 200 with the stored ids and stores nothing.
    """
    shop = webhook_shop(request)
    try:
        data = loads_clean(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem(400, "body is not JSON")
    try:
        payload = InboundMessage.model_validate(data)
    except ValidationError as exc:
        return _problem(400, "invalid message", errors=field_errors(exc.errors()))
    if len(payload.text) > settings.KEFU_MAX_MESSAGE_CHARS:
        return _problem(413, f"text longer than {settings.KEFU_MAX_MESSAGE_CHARS} characters")
    if payload.sent_at is not None and payload.sent_at.tzinfo is None:
        return _problem(400, "sent_at needs a time zone offset")
    try:
        result = receive_buyer_message(
            shop=shop,
            buyer=BuyerIn(
                external_id=payload.buyer.external_id,
                name=payload.buyer.name,
                language=payload.buyer.language,
                country=payload.buyer.country,
            ),
            text=payload.text,
            entry_point=payload.entry_point.value,
            external_id=payload.external_id,
            product_external_id=payload.product_external_id,
            order_external_id=payload.order_external_id,
            sent_at=payload.sent_at,
        )
    except DjangoValidationError as exc:
        return _problem(400, "; ".join(exc.messages))
    conv = result.conversation
    return JsonResponse(
        {
            "conversation_id": conv.pk,
            "message_id": result.message.pk,
            "group": conv.group,
            "assigned_agent": conv.assignee.username if conv.assignee else None,
            "duplicate": not result.created,
        },
        status=201 if result.created else 200,
    )


# The orders domain owns order and tracking webhooks; they are also reachable beside the
# message webhook so a marketplace connector needs one base path.
def _orders_api() -> Any:
    from kefu.orders.api import webhooks as orders_api

    return orders_api


@router.post("/orders", auth=signed_webhook, include_in_schema=False)
def inbound_order_alias(request: HttpRequest) -> HttpResponse:
    """Same as POST /api/v1/orders/inbound."""
    response: HttpResponse = _orders_api().inbound_order(request)
    return response


@router.post("/tracking", auth=signed_webhook, include_in_schema=False)
def inbound_tracking_alias(request: HttpRequest) -> HttpResponse:
    """Same as POST /api/v1/orders/tracking/inbound."""
    response: HttpResponse = _orders_api().inbound_tracking(request)
    return response


# --- the product webhook (issue 12 §1): POST /api/v1/catalog/inbound -------------------------
# Mounted at /catalog by kefu.api; the catalogue's own CRUD API lives with the catalogue.
catalog_router = Router(tags=["catalog"])

Price = Decimal


class InboundProduct(Schema):
    """A product as the marketplace reports it; omitted (or null) fields keep their stored
    values. A new product needs a title."""

    external_id: str = Field(min_length=1, max_length=80)
    sku: str | None = Field(default=None, max_length=80, description="SKU / 商家编码")
    title: str | None = Field(default=None, min_length=1, max_length=300)
    price: Price | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    stock: int | None = Field(default=None, ge=0, le=2_000_000_000)
    url: str | None = Field(default=None, max_length=200, description="http(s) product page")
    image_url: str | None = Field(default=None, max_length=500, description="http(s) main image")
    owner: str | None = Field(
        default=None, max_length=150, description="login of the sub-account managing it"
    )
    is_main_push: bool | None = None
    free_shipping: bool | None = None
    free_shipping_excluded_regions: list[str] | None = Field(default=None, max_length=100)
    usage_cycle_days: int | None = Field(default=None, ge=1, le=3650)
    related_external_ids: list[str] | None = Field(default=None, max_length=50)
    shelf_life: str | None = Field(default=None, max_length=200)
    suits: str | None = Field(default=None, max_length=300)
    ships_from: str | None = Field(default=None, max_length=200)
    dispatch_time: str | None = Field(default=None, max_length=200)
    differences: str | None = Field(default=None, max_length=1000)


class ProductAccepted(Schema):
    product_id: int
    outcome: str = Field(description="created, updated or unchanged")
    notes: list[str] = Field(description="what was not applied, e.g. an unknown related id")


@catalog_router.post(
    "/inbound",
    auth=signed_webhook,
    response={
        200: ProductAccepted,
        201: ProductAccepted,
        400: Problem,
        401: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Create or update a product from a marketplace (signed)",
    openapi_extra=with_retry_after(
        {
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": inline_json_schema(InboundProduct)}},
            }
        }
    ),
    operation_id="kefu_catalog_api_inbound_product",
)
def inbound_product(request: HttpRequest) -> HttpResponse:
    """Signed like the other webhooks (`X-Kefu-Shop`, `X-Kefu-Timestamp`, `X-Kefu-Signature`).

    Idempotent on `external_id`: 201 when created, 200 when it existed. A product that cannot
    be stored (no title for a new one, an unknown owner login, a SKU another product holds, a
    link or image that is not an http(s) address) is 400 with the reason; nothing changes.
    """
    shop = webhook_shop(request)
    try:
        data = loads_clean(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem(400, "body is not JSON")
    try:
        payload = InboundProduct.model_validate(data)
    except ValidationError as exc:
        return _problem(400, "invalid product", errors=field_errors(exc.errors()))
    inp = ProductInput(
        external_id=payload.external_id,
        sku=payload.sku,
        title=payload.title,
        price=payload.price,
        currency=payload.currency,
        stock=payload.stock,
        url=payload.url,
        image_url=payload.image_url,
        owner_login=payload.owner,
        is_main_push=payload.is_main_push,
        free_shipping=payload.free_shipping,
        free_shipping_excluded_regions=(
            tuple(payload.free_shipping_excluded_regions)
            if payload.free_shipping_excluded_regions is not None
            else None
        ),
        usage_cycle_days=payload.usage_cycle_days,
        related_external_ids=(
            tuple(payload.related_external_ids)
            if payload.related_external_ids is not None
            else None
        ),
        shelf_life=payload.shelf_life,
        suits=payload.suits,
        ships_from=payload.ships_from,
        dispatch_time=payload.dispatch_time,
        differences=payload.differences,
    )
    # The API speaks English, whatever the UI's default language (its reasons are gettext).
    with translation.override("en"):
        outcome = upsert_products(shop=shop, inputs=[inp], source="webhook")[0]
    if outcome.outcome == "rejected" or outcome.product_id is None:
        return _problem(400, outcome.reason or "product refused")
    return JsonResponse(
        {
            "product_id": outcome.product_id,
            "outcome": outcome.outcome,
            "notes": list(outcome.notes),
        },
        status=201 if outcome.outcome == "created" else 200,
    )
