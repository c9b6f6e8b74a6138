"""Marketplace webhooks: buyers' messages arrive here, signed per shop."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from ninja import Router, Schema
from pydantic import BaseModel, Field, ValidationError, create_model

from kefu.accounts.models import Shop
from kefu.catalog.upserts import ProductInput, upsert_products
from kefu.conversations.buyers import BuyerIn
from kefu.conversations.intake import BuyerMessageIn, checked_message
from kefu.conversations.intake_queue import (
    enqueue_message,
    enqueue_messages,
    intake_statuses,
    lane_of,
)
from kefu.conversations.models import EntryPoint, Message
from kefu.core.controls import loads_clean
from kefu.core.schema_types import ErrorOut as Problem  # the API's one error shape
from kefu.core.schema_types import Instant, field_errors
from kefu.desk.intake import receive_buyer_message
from kefu.desk.intake_queue import kick
from kefu.integrations.webhook_auth import (
    ParsedBody,
    RateLimitedProblem,
    signed_batch,
    signed_buyer_message,
    signed_json_body,
    signed_webhook,
    webhook_body,
    webhook_shop,
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


def _plain(schema: type[BaseModel]) -> Any:
    """`schema`'s fields (types, constraints, defaults) on a plain pydantic model, nested
    schemas too. A ninja `Schema` validates through its `DjangoGetter` wrapper, ~7x the CPU of
    the plain model for a webhook's message (decisions §89); what one accepts the other
    accepts with the same values (tests/integrations/test_intake_lean.py), while refusals are
    still described by the `Schema`."""
    fields: dict[str, Any] = {}
    for name, info in schema.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, Schema):
            annotation = _plain(annotation)
        fields[name] = (annotation, info)
    return create_model(schema.__name__, __base__=BaseModel, **fields)


_PlainInboundMessage = _plain(InboundMessage)


class InboundAccepted(Schema):
    conversation_id: int
    message_id: int
    group: str
    assigned_agent: str | None
    duplicate: bool
    status: str = Field(default="processed", description="always processed here")


class InboundQueued(Schema):
    id: int = Field(description="the message's place in the intake queue")
    external_id: str
    status: str = Field(description="queued")
    duplicate: bool


class InboundBatch(Schema):
    messages: list[Any] = Field(
        min_length=1,
        description="up to KEFU_INTAKE_BATCH_MAX (500) messages, each as the single webhook's",
    )


class InboundBatchDoc(Schema):
    """The batch body as documented: each item is checked on its own (`InboundBatch`)."""

    messages: list[InboundMessage] = Field(min_length=1, max_length=500)


class InboundItemResult(Schema):
    index: int
    external_id: str | None
    status: str = Field(description="queued, processed (a retry of a stored message) or rejected")
    id: int | None = Field(default=None, description="queue id while queued")
    duplicate: bool = False
    conversation_id: int | None = None
    message_id: int | None = None
    group: str | None = None
    assigned_agent: str | None = None
    detail: str | None = None
    errors: list[dict[str, str]] | None = None


class InboundBatchResult(Schema):
    accepted: int
    rejected: int
    results: list[InboundItemResult]


class InboundStatusQuery(Schema):
    external_ids: list[str] = Field(min_length=1, max_length=500)


class InboundStatus(Schema):
    external_id: str
    status: str = Field(description="queued, processed, failed or unknown")
    id: int | None = None
    conversation_id: int | None = None
    message_id: int | None = None
    group: str | None = None
    assigned_agent: str | None = None
    error: str | None = None


class InboundStatuses(Schema):
    results: list[InboundStatus]


def _problem(status: int, detail: str, **extra: Any) -> JsonResponse:
    return JsonResponse({"detail": detail, **extra}, status=status)


def _routing(message: Message) -> dict[str, Any]:
    conv = message.conversation
    return {
        "conversation_id": conv.pk,
        "message_id": message.pk,
        "group": conv.group,
        "assigned_agent": conv.assignee.username if conv.assignee else None,
    }


def _checked(data: Any) -> tuple[BuyerMessageIn | None, tuple[int, dict[str, Any]] | None]:
    """One message of a webhook body, checked; or the 4xx (status, answer) that refuses it."""
    try:
        # The same fields as InboundMessage (_plain), read as such.
        payload = cast("InboundMessage", _PlainInboundMessage.model_validate(data))
    except ValidationError:
        # Refused: the error list a connector reads is ninja's (a body that is not an object
        # or a `buyer` that is a string is described otherwise by plain pydantic).
        try:
            payload = InboundMessage.model_validate(data)
        except ValidationError as exc:
            errors = field_errors(exc.errors())
            return None, (400, {"detail": "invalid message", "errors": errors})
    if len(payload.text) > settings.KEFU_MAX_MESSAGE_CHARS:
        return None, (
            413,
            {"detail": f"text longer than {settings.KEFU_MAX_MESSAGE_CHARS} characters"},
        )
    if payload.sent_at is not None and payload.sent_at.tzinfo is None:
        return None, (400, {"detail": "sent_at needs a time zone offset"})
    try:
        incoming = checked_message(
            BuyerMessageIn(
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
        )
    except DjangoValidationError as exc:
        return None, (400, {"detail": "; ".join(exc.messages)})
    return incoming, None


@router.post(
    "/messages",
    auth=signed_buyer_message,
    response={
        200: InboundAccepted,
        201: InboundAccepted,
        202: InboundQueued,
        400: Problem,
        401: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Receive a buyer's message from a marketplace",
    openapi_extra=signed_json_body(InboundMessage),
)
def inbound_message(request: HttpRequest) -> HttpResponse:
    """Signed: `X-Kefu-Shop`, `X-Kefu-Timestamp` (unix seconds) and `X-Kefu-Signature:
    sha256=<HMAC-SHA256 of "<timestamp>.<raw body>">`.

    202 with the queue `id`: the message is committed to the intake queue and will be stored
    and routed by the intake worker; `POST /api/v1/inbound/messages/status` tells the
    routing. The same `external_id` again answers the same `id` (202, `duplicate`) while it
    is queued, and 200 with the stored ids once processed. A shop in synchronous mode
    (`intake_synchronous`) stores and routes before answering: 201 with the routing.
    """
    status, answer = single_message(webhook_shop(request), webhook_body(request))
    return JsonResponse(answer, status=status)


def single_message(shop: Shop, body: ParsedBody) -> tuple[int, dict[str, Any]]:
    """The single webhook's work once the signature is checked: the status and JSON answer.

    Shared by the route above and the lean intake app (``kefu.intake_wsgi``), which renders
    the answer itself without Django's handler."""
    try:
        data = body.data()
    except (UnicodeDecodeError, json.JSONDecodeError):
        return 400, {"detail": "body is not JSON"}
    incoming, refusal = _checked(data)
    if refusal is not None:
        return refusal
    assert incoming is not None  # noqa: S101 - _checked returns one or the other
    if shop.intake_synchronous:
        result = receive_buyer_message(
            shop=shop,
            buyer=incoming.buyer,
            text=incoming.text,
            entry_point=incoming.entry_point,
            external_id=incoming.external_id,
            product_external_id=incoming.product_external_id,
            order_external_id=incoming.order_external_id,
            sent_at=incoming.sent_at,
        )
        return (
            201 if result.created else 200,
            {**_routing(result.message), "duplicate": not result.created, "status": "processed"},
        )
    queued = enqueue_message(shop=shop, message=incoming)
    if queued.message is not None:
        return 200, {**_routing(queued.message), "duplicate": True, "status": "processed"}
    assert queued.intake_id is not None  # noqa: S101 - queued or stored, never neither
    kick([lane_of(shop.pk, incoming.buyer.external_id)])
    return 202, {
        "id": queued.intake_id,
        "external_id": queued.external_id,
        "status": "queued",
        "duplicate": queued.duplicate,
    }


@router.post(
    "/messages/batch",
    auth=signed_batch,
    response={
        202: InboundBatchResult,
        400: Problem,
        401: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Receive up to 500 buyers' messages in one signed request",
    openapi_extra=signed_json_body(InboundBatchDoc),
)
def inbound_messages_batch(request: HttpRequest) -> HttpResponse:
    """Signed like the single webhook. Each message is checked on its own: the valid ones are
    queued (whatever the shop's synchronous mode), the others answered `rejected` with the
    reason, by `index` in `results`. 202 when the body was read, even if every item was
    refused; a body that is not `{"messages": [...]}` or holds more than 500 is 400 / 413 and
    queues nothing."""
    shop = webhook_shop(request)
    try:
        data = loads_clean(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem(400, "body is not JSON")
    try:
        body = InboundBatch.model_validate(data)
    except ValidationError as exc:
        return _problem(400, "invalid batch", errors=field_errors(exc.errors()))
    limit = settings.KEFU_INTAKE_BATCH_MAX
    if len(body.messages) > limit:
        return _problem(413, f"more than {limit} messages in one request")
    results: list[dict[str, Any]] = []
    good: list[tuple[int, BuyerMessageIn]] = []
    for index, item in enumerate(body.messages):
        incoming, refusal = _checked(item)
        if refusal is not None:
            detail = refusal[1]
            ext = item.get("external_id") if isinstance(item, dict) else None
            ext = ext if isinstance(ext, str) else None
            results.append({"index": index, "external_id": ext, "status": "rejected", **detail})
        else:
            assert incoming is not None  # noqa: S101
            good.append((index, incoming))
            results.append({})
    queued = enqueue_messages(shop=shop, messages=[m for _, m in good]) if good else []
    lanes = set()
    for (index, incoming), answer in zip(good, queued, strict=True):
        if answer.message is not None:
            results[index] = {
                "index": index,
                "external_id": answer.external_id,
                "status": "processed",
                "duplicate": True,
                **_routing(answer.message),
            }
        else:
            lanes.add(lane_of(shop.pk, incoming.buyer.external_id))
            results[index] = {
                "index": index,
                "external_id": answer.external_id,
                "status": "queued",
                "id": answer.intake_id,
                "duplicate": answer.duplicate,
            }
    if lanes:
        kick(lanes)
    rejected = sum(1 for r in results if r["status"] == "rejected")
    return JsonResponse(
        {"accepted": len(results) - rejected, "rejected": rejected, "results": results},
        status=202,
    )


@router.post(
    "/messages/status",
    auth=signed_webhook,
    response={
        200: InboundStatuses,
        400: Problem,
        401: Problem,
        413: Problem,
        429: RateLimitedProblem,
    },
    summary="Where queued buyer messages are: queued, processed (with the routing) or failed",
    openapi_extra=signed_json_body(InboundStatusQuery),
)
def inbound_messages_status(request: HttpRequest) -> HttpResponse:
    """Signed like the webhooks; a read, so a POST only because the signature covers a body.
    By the marketplace's `external_id`s (up to 500): `processed` with the conversation,
    message, group and assignee; `queued` with the queue id; `failed` with the reason after
    repeated errors (the operator is alerted); `unknown` for an id never accepted."""
    shop = webhook_shop(request)
    try:
        data = loads_clean(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem(400, "body is not JSON")
    try:
        query = InboundStatusQuery.model_validate(data)
    except ValidationError as exc:
        return _problem(400, "invalid query", errors=field_errors(exc.errors()))
    out: list[dict[str, Any]] = []
    for st in intake_statuses(shop=shop, external_ids=query.external_ids):
        row: dict[str, Any] = {"external_id": st.external_id, "status": st.status}
        if st.message is not None:
            row.update(_routing(st.message))
        if st.intake_id is not None:
            row["id"] = st.intake_id
        if st.error:
            row["error"] = st.error
        out.append(row)
    return JsonResponse({"results": out}, status=200)


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
    category: str | None = Field(
        default=None, max_length=100, description='the seller\'s category label; "" clears it'
    )
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
    openapi_extra=signed_json_body(InboundProduct),
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
        category=payload.category,
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
