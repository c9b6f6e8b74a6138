"""The orders API's signed marketplace webhooks: `POST /inbound` for order upserts and
`POST /tracking/inbound` for carrier events (the issue's `/api/v1/inbound/orders` and
`/api/v1/inbound/tracking` name the same endpoints)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router, Schema
from pydantic import Field, ValidationError

from kefu.accounts.models import Shop
from kefu.core.controls import loads_clean
from kefu.core.schema_types import Instant, field_errors
from kefu.integrations.webhook_auth import (
    RateLimitedProblem,
    signed_json_body,
    signed_webhook,
    webhook_shop,
    webhook_signed_at,
)
from kefu.orders.api.schemas import Problem
from kefu.orders.inputs import ItemInput, OrderInput, ParcelInput
from kefu.orders.models import Order, OrderSource
from kefu.orders.statuses import map_order_status
from kefu.orders.tracking import TrackingInput, UnknownParcel, record_tracking
from kefu.orders.upserts import upsert_orders

router = Router()

Money = Decimal
_CLOCK_SKEW = dt.timedelta(minutes=5)


class BuyerIn(Schema):
    external_id: str = Field(min_length=1, max_length=120)
    name: str = Field(default="", max_length=120)
    language: str = Field(default="", max_length=10)
    country: str = Field(default="", max_length=2)


class ItemIn(Schema):
    title: str = Field(default="", max_length=300)
    product_external_id: str = Field(default="", max_length=80)
    sku: str = Field(default="", max_length=80, description="the seller's code (商家编码)")
    quantity: int = Field(default=1, ge=1, le=100_000)
    unit_price: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)


class ParcelIn(Schema):
    tracking_number: str = Field(min_length=1, max_length=80)
    carrier: str = Field(default="", max_length=80)


class OrderIn(Schema):
    """An order as the marketplace reports it; omitted fields keep their stored values."""

    external_id: str = Field(min_length=1, max_length=80)
    buyer: BuyerIn
    status: str = Field(default="", max_length=60, description="platform or Kefu status")
    currency: str | None = Field(default=None, pattern=r"^[A-Za-z]{3}$")
    goods_amount: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    shipping_fee: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    total_amount: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    paid_amount: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    refund_amount: Money | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    placed_at: Instant | None = None
    paid_at: Instant | None = None
    shipped_at: Instant | None = None
    delivered_at: Instant | None = None
    closed_at: Instant | None = None
    ship_by: Instant | None = None
    updated_at: Instant | None = Field(
        default=None,
        description="when the marketplace last changed the order; a report older than the one "
        "stored is answered 200 with outcome 'stale' and changes nothing. Default: the signing "
        "time (X-Kefu-Timestamp).",
    )
    buyer_message: str | None = Field(default=None, max_length=2000)
    receiver_name: str | None = Field(default=None, max_length=120)
    address: str | None = Field(default=None, max_length=400)
    country: str | None = Field(default=None, max_length=60)
    region: str | None = Field(default=None, max_length=80)
    invoice_title: str | None = Field(default=None, max_length=200)
    items: list[ItemIn] = Field(default_factory=list, max_length=200)
    parcels: list[ParcelIn] = Field(default_factory=list, max_length=50)


class OrderAccepted(Schema):
    order_id: int
    status: str
    outcome: str


class TrackingEventIn(Schema):
    status: str = Field(min_length=1, max_length=80)
    occurred_at: Instant
    description: str = Field(default="", max_length=500)
    location: str = Field(default="", max_length=160)
    event_id: str = Field(default="", max_length=120)


class TrackingIn(Schema):
    tracking_number: str = Field(min_length=1, max_length=80)
    carrier: str = Field(default="", max_length=80)
    order_external_id: str = Field(default="", max_length=80)
    events: list[TrackingEventIn] = Field(min_length=1, max_length=200)


class TrackingAccepted(Schema):
    parcel_id: int
    status: str
    stored: int
    duplicates: int
    order_status: str


def _problem(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _signed_json(request: HttpRequest) -> tuple[Shop, Any] | JsonResponse:
    """The verified shop (see `signed_webhook`) and the parsed body."""
    try:
        return webhook_shop(request), loads_clean(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem(400, "body is not JSON")


def _invalid(exc: ValidationError, what: str) -> JsonResponse:
    return _problem(400, f"invalid {what}", errors=field_errors(exc.errors()))


def _aware(*values: dt.datetime | None) -> bool:
    return all(v is None or v.tzinfo is not None for v in values)


@router.post(
    "/inbound",
    auth=signed_webhook,
    response={
        200: OrderAccepted,
        201: OrderAccepted,
        400: Problem,
        401: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Create or update an order from a marketplace (signed)",
    openapi_extra=signed_json_body(OrderIn),
    operation_id="kefu_orders_api_inbound_order",
)
def inbound_order(request: HttpRequest) -> HttpResponse:
    """Signed like inbound messages (`X-Kefu-Shop`, `X-Kefu-Timestamp`, `X-Kefu-Signature`).

    Idempotent on `external_id`: 201 when created, 200 when it existed (updated, unchanged,
    or stale: older than the report already applied, so nothing changed).
    """
    parsed = _signed_json(request)
    if isinstance(parsed, JsonResponse):
        return parsed
    shop, data = parsed
    try:
        payload = OrderIn.model_validate(data)
    except ValidationError as exc:
        return _invalid(exc, "order")
    times = (
        payload.placed_at,
        payload.paid_at,
        payload.shipped_at,
        payload.delivered_at,
        payload.closed_at,
        payload.ship_by,
        payload.updated_at,
    )
    if not _aware(*times):
        return _problem(400, "times need a time zone offset")
    signed_at = webhook_signed_at(request)
    if payload.updated_at is not None and payload.updated_at > signed_at + _CLOCK_SKEW:
        # A time in the future would make every later, true report look stale.
        return _problem(400, "updated_at is later than the signing time")
    if payload.status and map_order_status(payload.status) is None:
        return _problem(400, f"unknown order status {payload.status!r}")
    if any(not (item.title or item.product_external_id or item.sku) for item in payload.items):
        return _problem(400, "each item needs a title, a product_external_id or a sku")
    inp = OrderInput(
        external_id=payload.external_id,
        buyer_external_id=payload.buyer.external_id,
        buyer_name=payload.buyer.name,
        buyer_language=payload.buyer.language,
        buyer_country=payload.buyer.country.upper(),
        status=payload.status,
        currency=payload.currency.upper() if payload.currency else None,
        goods_amount=payload.goods_amount,
        shipping_fee=payload.shipping_fee,
        total_amount=payload.total_amount,
        paid_amount=payload.paid_amount,
        refund_amount=payload.refund_amount,
        placed_at=payload.placed_at,
        paid_at=payload.paid_at,
        shipped_at=payload.shipped_at,
        delivered_at=payload.delivered_at,
        closed_at=payload.closed_at,
        ship_by=payload.ship_by,
        buyer_message=payload.buyer_message,
        receiver_name=payload.receiver_name,
        address=payload.address,
        country=payload.country,
        region=payload.region,
        invoice_title=payload.invoice_title,
        items=tuple(
            ItemInput(
                title=i.title,
                quantity=i.quantity,
                unit_price=i.unit_price,
                product_external_id=i.product_external_id,
                sku=i.sku,
            )
            for i in payload.items
        ),
        parcels=tuple(ParcelInput(p.tracking_number, p.carrier) for p in payload.parcels),
        as_of=payload.updated_at or signed_at,
    )
    outcome = upsert_orders(shop=shop, inputs=[inp], source=OrderSource.WEBHOOK)[0]
    order = Order.objects.get(pk=outcome.order_id)
    return JsonResponse(
        {"order_id": order.pk, "status": order.status, "outcome": outcome.outcome},
        status=201 if outcome.outcome == "created" else 200,
    )


@router.post(
    "/tracking/inbound",
    auth=signed_webhook,
    response={
        200: TrackingAccepted,
        400: Problem,
        401: Problem,
        404: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Carrier tracking events for a parcel (signed)",
    openapi_extra=signed_json_body(TrackingIn),
    operation_id="kefu_orders_api_inbound_tracking",
)
def inbound_tracking(request: HttpRequest) -> HttpResponse:
    """Events are idempotent per `event_id` (or time+status+description when absent).

    An unknown tracking number is 404 unless `order_external_id` names a known order, which
    then gets the parcel. Every status must map onto the tracking vocabulary, else 400 and
    nothing is stored.
    """
    parsed = _signed_json(request)
    if isinstance(parsed, JsonResponse):
        return parsed
    shop, data = parsed
    try:
        payload = TrackingIn.model_validate(data)
    except ValidationError as exc:
        return _invalid(exc, "tracking update")
    if not _aware(*(e.occurred_at for e in payload.events)):
        return _problem(400, "occurred_at needs a time zone offset")
    events = [
        TrackingInput(
            status=e.status,
            occurred_at=e.occurred_at,
            description=e.description,
            location=e.location,
            event_id=e.event_id,
        )
        for e in payload.events
    ]
    try:
        outcome = record_tracking(
            shop=shop,
            tracking_number=payload.tracking_number,
            events=events,
            carrier=payload.carrier,
            order_external_id=payload.order_external_id,
        )
    except UnknownParcel:
        return _problem(404, f"no parcel {payload.tracking_number} and no known order named")
    except DjangoValidationError as exc:
        return _problem(400, "; ".join(exc.messages))
    return JsonResponse(
        {
            "parcel_id": outcome.parcel.pk,
            "status": outcome.status_after,
            "stored": outcome.stored,
            "duplicates": outcome.duplicates,
            "order_status": outcome.order_status_after,
        }
    )
