"""The orders API's settings: read them (the defaults until the shop changes one) and change
only the fields sent."""

from __future__ import annotations

from decimal import Decimal

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from kefu.accounts.access import api_user
from kefu.accounts.scoping import shop_of
from kefu.core.schema_types import LocalTime
from kefu.orders.api.schemas import Problem
from kefu.orders.config import order_settings, update_order_settings
from kefu.orders.models import OrderSettings

router = Router()


class OrderSettingsOut(Schema):
    payment_reminder_enabled: bool
    payment_reminder_delay_minutes: int
    payment_reminder_max_age_hours: int
    quiet_start: LocalTime
    quiet_end: LocalTime
    ship_by_hours: int
    refund_days: str
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
    quiet_start: LocalTime | None = None
    quiet_end: LocalTime | None = None
    ship_by_hours: int | None = None
    refund_days: str | None = Field(default=None, max_length=20)
    risk_window_hours: int | None = None
    penalty_rate: Decimal | None = Field(default=None, max_digits=5, decimal_places=4)
    penalty_cap: Decimal | None = Field(default=None, max_digits=14, decimal_places=2)
    penalty_cap_currency: str | None = Field(default=None, max_length=3)
    stall_days: int | None = None
    tracking_url_templates: dict[str, str] | None = None


@router.get(
    "/settings",
    response=OrderSettingsOut,
    summary="Order and logistics settings",
    operation_id="kefu_orders_api_get_settings",
)
def get_settings(request: HttpRequest) -> OrderSettings:
    return order_settings(shop=shop_of(api_user(request)))


@router.patch(
    "/settings",
    response={200: OrderSettingsOut, 400: Problem, 403: Problem},
    summary="Change order and logistics settings (main account)",
    operation_id="kefu_orders_api_patch_settings",
)
def patch_settings(request: HttpRequest, payload: OrderSettingsIn) -> OrderSettings:
    user = api_user(request)
    # `penalty_cap: null` removes the cap, so it counts as sent when present in the body.
    values = payload.model_dump(exclude_unset=True)
    values = {k: v for k, v in values.items() if v is not None or k == "penalty_cap"}
    return update_order_settings(actor=user, shop=shop_of(user), **values)
