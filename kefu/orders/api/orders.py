"""The orders API for signed-in agents and owners: the orders they may see, one order, the
risk board, and what they do on an order (link it to a conversation, refunds, parcels)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from kefu.accounts.access import api_user, shop_auth
from kefu.conversations.selectors import access_conversation
from kefu.orders import selectors
from kefu.orders.actions import add_parcel, record_refund
from kefu.orders.api.schemas import Problem
from kefu.orders.conversation_order import choose_conversation_order
from kefu.orders.models import Order, OrderStatus, RefundChannel, RefundKind

# The package's root router: the other routers are mounted in it (see `__init__`).
router = Router(auth=shop_auth, tags=["orders"])


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


@router.get(
    "",
    response=list[OrderSummaryOut],
    summary="Orders the caller may see",
    operation_id="kefu_orders_api_list_orders",
)
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


@router.get(
    "/risk",
    response=list[RiskOut],
    summary="Late-shipment risk board (R-17)",
    operation_id="kefu_orders_api_risk",
)
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


@router.get(
    "/{int:order_id}",
    response={200: OrderOut, 404: Problem},
    summary="One order",
    operation_id="kefu_orders_api_get_order",
)
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
    operation_id="kefu_orders_api_link_order",
)
def link_order(request: HttpRequest, order_id: int, payload: LinkIn) -> LinkOut:
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
    operation_id="kefu_orders_api_post_refund",
)
def post_refund(request: HttpRequest, order_id: int, payload: RefundIn) -> Status[RefundOut]:
    user = api_user(request)
    order = selectors.access_order(user, order_id)
    refund = record_refund(
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
    operation_id="kefu_orders_api_post_parcel",
)
def post_parcel(request: HttpRequest, order_id: int, payload: ParcelCreateIn) -> Any:
    user = api_user(request)
    order = selectors.access_order(user, order_id)
    replaces = None
    if payload.replaces_parcel_id is not None:
        replaces = order.parcels.filter(pk=payload.replaces_parcel_id).first()
        if replaces is None:
            return Status(400, {"detail": "replaces_parcel_id is not a parcel of this order"})
    parcel = add_parcel(
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
