"""The orders API's incident broadcasts (R-19): a holding message to the buyers of the affected
orders, queued for the delivery task."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from kefu.accounts.access import api_user
from kefu.orders import selectors
from kefu.orders.api.schemas import Problem
from kefu.orders.incidents import create_incident_broadcast
from kefu.orders.models import OrderStatus
from kefu.orders.tasks import deliver_incident_broadcast

router = Router()


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
    operation_id="kefu_orders_api_post_incident",
)
def post_incident(request: HttpRequest, payload: IncidentIn) -> Status[IncidentQueued]:
    user = api_user(request)
    criteria = selectors.IncidentCriteria(
        carrier=payload.carrier,
        region=payload.region,
        placed_from=payload.placed_from,
        placed_to=payload.placed_to,
        statuses=tuple(s.value for s in payload.statuses),
    )
    broadcast = create_incident_broadcast(
        actor=user, title=payload.title, text=payload.text, criteria=criteria
    )
    targets = selectors.incident_orders(shop=broadcast.shop, criteria=criteria).count()
    transaction.on_commit(lambda: deliver_incident_broadcast.delay(broadcast.pk))
    return Status(202, IncidentQueued(broadcast_id=broadcast.pk, orders=targets))
