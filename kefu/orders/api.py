"""Orders API, mounted at /api/v1/orders.

Two signed webhooks for marketplaces (`POST /inbound` for order upserts and
`POST /tracking/inbound` for carrier events; the issue's `/api/v1/inbound/orders` and
`/api/v1/inbound/tracking` name the same endpoints), and the agent/owner operations behind
the pages: list, detail, refunds, parcels, the risk board and incident broadcasts.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router, Schema, Status
from pydantic import ConfigDict, Field, ValidationError

from kefu.accounts.access import api_user, shop_auth
from kefu.accounts.models import Shop
from kefu.accounts.scoping import shop_of
from kefu.integrations.webhook_auth import signed_webhook, webhook_shop
from kefu.orders import selectors, services
from kefu.orders.models import (
    Order,
    OrderSettings,
    OrderSource,
    OrderStatus,
    RefundChannel,
    RefundKind,
)

router = Router(auth=shop_auth, tags=["orders"])

Money = Decimal


class Problem(Schema):
    detail: str


class BuyerIn(Schema):
    external_id: str = Field(min_length=1, max_length=120)
    name: str = Field(default="", max_length=120)
    language: str = Field(default="", max_length=10)
    country: str = Field(default="", max_length=2)


class ItemIn(Schema):
    title: str = Field(default="", max_length=300)
    product_external_id: str = Field(default="", max_length=80)
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
    placed_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    ship_by: dt.datetime | None = None
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
    occurred_at: dt.datetime
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
        return webhook_shop(request), json.loads(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _problem(400, "body is not JSON")


def _invalid(exc: ValidationError, what: str) -> JsonResponse:
    errors = [
        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
    ]
    return _problem(400, f"invalid {what}", errors=errors)


def _aware(*values: dt.datetime | None) -> bool:
    return all(v is None or v.tzinfo is not None for v in values)


def _body_schema(schema: type[Schema]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.model_json_schema()}},
        }
    }


@router.post(
    "/inbound",
    auth=signed_webhook,
    response={200: OrderAccepted, 201: OrderAccepted, 400: Problem, 401: Problem, 413: Problem},
    summary="Create or update an order from a marketplace (signed)",
    openapi_extra=_body_schema(OrderIn),
)
def inbound_order(request: HttpRequest) -> HttpResponse:
    """Signed like inbound messages (`X-Kefu-Shop`, `X-Kefu-Signature: sha256=<hex>`).

    Idempotent on `external_id`: 201 when created, 200 when it existed (updated or not).
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
    )
    if not _aware(*times):
        return _problem(400, "times need a time zone offset")
    from kefu.orders.statuses import map_order_status

    if payload.status and map_order_status(payload.status) is None:
        return _problem(400, f"unknown order status {payload.status!r}")
    if any(not (item.title or item.product_external_id) for item in payload.items):
        return _problem(400, "each item needs a title or a product_external_id")
    inp = services.OrderInput(
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
            services.ItemInput(
                title=i.title,
                quantity=i.quantity,
                unit_price=i.unit_price,
                product_external_id=i.product_external_id,
            )
            for i in payload.items
        ),
        parcels=tuple(services.ParcelInput(p.tracking_number, p.carrier) for p in payload.parcels),
    )
    outcome = services.upsert_orders(shop=shop, inputs=[inp], source=OrderSource.WEBHOOK)[0]
    order = Order.objects.get(pk=outcome.order_id)
    return JsonResponse(
        {"order_id": order.pk, "status": order.status, "outcome": outcome.outcome},
        status=201 if outcome.outcome == "created" else 200,
    )


@router.post(
    "/tracking/inbound",
    auth=signed_webhook,
    response={200: TrackingAccepted, 400: Problem, 401: Problem, 404: Problem, 413: Problem},
    summary="Carrier tracking events for a parcel (signed)",
    openapi_extra=_body_schema(TrackingIn),
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
        services.TrackingInput(
            status=e.status,
            occurred_at=e.occurred_at,
            description=e.description,
            location=e.location,
            event_id=e.event_id,
        )
        for e in payload.events
    ]
    try:
        outcome = services.record_tracking(
            shop=shop,
            tracking_number=payload.tracking_number,
            events=events,
            carrier=payload.carrier,
            order_external_id=payload.order_external_id,
        )
    except services.UnknownParcel:
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


# --- signed-in agents and owners -----------------------------------------------------------------


class ItemOut(Schema):
    title: str
    product_external_id: str
    quantity: int
    unit_price: Decimal


class TrackingEventOut(Schema):
    status: str
    description: str
    location: str
    occurred_at: dt.datetime


class ParcelOut(Schema):
    id: int
    carrier: str
    tracking_number: str
    status: str
    is_reshipment: bool
    tracking_url: str
    events: list[TrackingEventOut]


class OrderOut(Schema):
    id: int
    external_id: str
    buyer_id: int
    buyer_external_id: str
    status: str
    payment_state: str
    platform_status: str
    currency: str
    total_amount: Decimal
    paid_amount: Decimal
    refunded_amount: Decimal
    placed_at: dt.datetime
    paid_at: dt.datetime | None
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    ship_by: dt.datetime | None
    flags: list[str]
    items: list[ItemOut] = []
    parcels: list[ParcelOut] = []


def _order_out(card: selectors.OrderCard) -> OrderOut:
    o = card.order
    return OrderOut(
        id=o.pk,
        external_id=o.external_id,
        buyer_id=o.buyer_id,
        buyer_external_id=o.buyer.external_id,
        status=o.status,
        payment_state=card.payment_state,
        platform_status=o.platform_status,
        currency=o.currency,
        total_amount=o.total_amount,
        paid_amount=o.paid_amount,
        refunded_amount=o.refunded_amount,
        placed_at=o.placed_at,
        paid_at=o.paid_at,
        shipped_at=o.shipped_at,
        delivered_at=o.delivered_at,
        ship_by=o.ship_by,
        flags=list(o.flags),
        items=[ItemOut.from_orm(i) for i in card.items],
        parcels=[
            ParcelOut(
                id=p.parcel.pk,
                carrier=p.parcel.carrier,
                tracking_number=p.parcel.tracking_number,
                status=p.status,
                is_reshipment=p.parcel.is_reshipment,
                tracking_url=p.url,
                events=[TrackingEventOut.from_orm(e) for e in p.events],
            )
            for p in card.parcels
        ],
    )


class OrderSummaryOut(Schema):
    id: int
    external_id: str
    buyer_external_id: str
    status: str
    currency: str
    total_amount: Decimal
    placed_at: dt.datetime
    flags: list[str]

    @staticmethod
    def resolve_buyer_external_id(obj: Order) -> str:
        return obj.buyer.external_id


@router.get("", response=list[OrderSummaryOut], summary="Orders the caller may see")
def list_orders(
    request: HttpRequest, status: OrderStatus | None = None, q: str = "", limit: int = 50
) -> list[Order]:
    orders = selectors.order_list(
        api_user(request),
        status=status.value if status else "",
        query=q[:80],
        limit=max(1, min(limit, 200)),
    )
    return list(orders)


class OrderSettingsOut(Schema):
    payment_reminder_enabled: bool
    payment_reminder_delay_minutes: int
    payment_reminder_max_age_hours: int
    quiet_start: dt.time
    quiet_end: dt.time
    ship_by_hours: int
    risk_window_hours: int
    penalty_rate: Decimal
    penalty_cap: Decimal | None
    penalty_cap_currency: str
    stall_days: int
    tracking_url_templates: dict[str, str]


class OrderSettingsIn(Schema):
    """Only the fields sent change; the rest keep their values. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")

    payment_reminder_enabled: bool | None = None
    payment_reminder_delay_minutes: int | None = None
    payment_reminder_max_age_hours: int | None = None
    quiet_start: dt.time | None = None
    quiet_end: dt.time | None = None
    ship_by_hours: int | None = None
    risk_window_hours: int | None = None
    penalty_rate: Decimal | None = Field(default=None, max_digits=5, decimal_places=4)
    penalty_cap: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)
    penalty_cap_currency: str | None = Field(default=None, max_length=3)
    stall_days: int | None = None
    tracking_url_templates: dict[str, str] | None = None


@router.get("/settings", response=OrderSettingsOut, summary="Order and logistics settings")
def get_settings(request: HttpRequest) -> OrderSettings:
    return services.order_settings(shop=shop_of(api_user(request)))


@router.patch(
    "/settings",
    response={200: OrderSettingsOut, 400: Problem, 403: Problem},
    summary="Change order and logistics settings (main account)",
)
def patch_settings(request: HttpRequest, payload: OrderSettingsIn) -> OrderSettings:
    user = api_user(request)
    # `penalty_cap: null` removes the cap, so it counts as sent when present in the body.
    values = payload.model_dump(exclude_unset=True)
    values = {k: v for k, v in values.items() if v is not None or k == "penalty_cap"}
    return services.update_order_settings(actor=user, shop=shop_of(user), **values)


class RiskOut(Schema):
    order_id: int
    external_id: str
    # Kept as the strings the board has always sent (an ISO time with "+00:00", a decimal).
    ship_by: str
    hours_left: float
    missed: bool
    exposure: str
    currency: str
    stock_short: bool


@router.get("/risk", response=list[RiskOut], summary="Late-shipment risk board (R-17)")
def risk(request: HttpRequest) -> list[RiskOut]:
    return [
        RiskOut(
            order_id=r.order.pk,
            external_id=r.order.external_id,
            ship_by=r.ship_by.isoformat(),
            hours_left=r.hours_left,
            missed=r.missed,
            exposure=str(r.exposure),
            currency=r.currency,
            stock_short=r.stock_short,
        )
        for r in selectors.risk_board_for(api_user(request))
    ]


@router.get("/{int:order_id}", response={200: OrderOut, 404: Problem}, summary="One order")
def get_order(request: HttpRequest, order_id: int) -> OrderOut:
    return _order_out(selectors.order_card(api_user(request), order_id))


class LinkIn(Schema):
    conversation_id: int


class LinkOut(Schema):
    conversation_id: int
    order_external_id: str


@router.post(
    "/{int:order_id}/link",
    response={200: LinkOut, 400: Problem, 403: Problem, 404: Problem},
    summary="Make this order the one a conversation of its buyer is about",
)
def link_order(request: HttpRequest, order_id: int, payload: LinkIn) -> LinkOut:
    from kefu.conversations.selectors import access_conversation
    from kefu.orders.conversation_order import choose_conversation_order

    user = api_user(request)
    conv = access_conversation(user, payload.conversation_id)
    order = choose_conversation_order(actor=user, conversation=conv, order_id=order_id)
    return LinkOut(conversation_id=conv.pk, order_external_id=order.external_id)


class RefundIn(Schema):
    amount: Decimal = Field(gt=0, max_digits=14, decimal_places=2)
    reason: str = Field(min_length=1, max_length=300)
    channel: RefundChannel = RefundChannel.PLATFORM
    kind: RefundKind = RefundKind.REFUND
    logistics_dispute: bool = False


class RefundOut(Schema):
    id: int
    amount: Decimal
    currency: str
    order_status: str


@router.post(
    "/{int:order_id}/refunds",
    response={201: RefundOut, 400: Problem, 403: Problem, 404: Problem},
    summary="Record a refund/return",
)
def post_refund(request: HttpRequest, order_id: int, payload: RefundIn) -> Status[RefundOut]:
    user = api_user(request)
    order = selectors.access_order(user, order_id)
    refund = services.record_refund(
        actor=user,
        order=order,
        amount=payload.amount,
        reason=payload.reason,
        channel=payload.channel.value,
        kind=payload.kind.value,
        logistics_dispute=payload.logistics_dispute,
    )
    return Status(
        201,
        RefundOut(
            id=refund.pk, amount=refund.amount, currency=refund.currency, order_status=order.status
        ),
    )


class ParcelCreateIn(Schema):
    tracking_number: str = Field(min_length=1, max_length=80)
    carrier: str = Field(default="", max_length=80)
    reshipment: bool = False
    replaces_parcel_id: int | None = None
    note: str = Field(default="", max_length=300)


@router.post(
    "/{int:order_id}/parcels",
    response={201: ParcelOut, 400: Problem, 404: Problem},
    summary="Add a parcel: a split shipment or a reshipment",
)
def post_parcel(request: HttpRequest, order_id: int, payload: ParcelCreateIn) -> Any:
    user = api_user(request)
    order = selectors.access_order(user, order_id)
    replaces = None
    if payload.replaces_parcel_id is not None:
        replaces = order.parcels.filter(pk=payload.replaces_parcel_id).first()
        if replaces is None:
            return Status(400, {"detail": "replaces_parcel_id is not a parcel of this order"})
    parcel = services.add_parcel(
        actor=user,
        order=order,
        tracking_number=payload.tracking_number,
        carrier=payload.carrier,
        reshipment=payload.reshipment,
        replaces=replaces,
        note=payload.note,
    )
    return Status(
        201,
        ParcelOut(
            id=parcel.pk,
            carrier=parcel.carrier,
            tracking_number=parcel.tracking_number,
            status=parcel.status,
            is_reshipment=parcel.is_reshipment,
            tracking_url="",
            events=[],
        ),
    )


class IncidentIn(Schema):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=2000)
    carrier: str = Field(default="", max_length=80)
    region: str = Field(default="", max_length=80)
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    statuses: list[OrderStatus] = [OrderStatus.PAID, OrderStatus.SHIPPED]


class IncidentQueued(Schema):
    broadcast_id: int
    orders: int


@router.post(
    "/incidents",
    response={202: IncidentQueued, 400: Problem, 403: Problem},
    summary="Broadcast a holding message to the buyers of affected orders (R-19)",
)
def post_incident(request: HttpRequest, payload: IncidentIn) -> Status[IncidentQueued]:
    from django.db import transaction

    from kefu.orders.tasks import deliver_incident_broadcast

    user = api_user(request)
    criteria = services.IncidentCriteria(
        carrier=payload.carrier,
        region=payload.region,
        placed_from=payload.placed_from,
        placed_to=payload.placed_to,
        statuses=tuple(s.value for s in payload.statuses),
    )
    broadcast = services.create_incident_broadcast(
        actor=user, title=payload.title, text=payload.text, criteria=criteria
    )
    targets = selectors.incident_orders(shop=broadcast.shop, criteria=criteria).count()
    transaction.on_commit(lambda: deliver_incident_broadcast.delay(broadcast.pk))
    return Status(202, IncidentQueued(broadcast_id=broadcast.pk, orders=targets))
