"""Consultation invitations and the idle-time setting over the API, mounted at
/api/v1/outreach beside the campaign routes. Invitations need the "create campaigns" right,
the quiet minutes the "shop settings" right; a refusal is 400 with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from kefu.accounts.access import api_user, shop_auth
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.core.schema_types import ErrorOut
from kefu.outreach import idle, invitations
from kefu.outreach.models import Invitation, InvitationPlacement, InvitationTrigger

router = Router(auth=shop_auth, tags=["outreach"])


class ConsultationInvitationIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    texts: dict[str, str] = Field(description="invitation per language: en, zh, ru, es")
    texts_b: dict[str, str] = Field(
        default={},
        description="a second text per language for an A/B test, in the same languages",
    )
    trigger: InvitationTrigger = InvitationTrigger.DELAY
    delay_seconds: int = Field(default=20, ge=0, le=invitations.MAX_DELAY_SECONDS)
    placement: InvitationPlacement = InvitationPlacement.PRODUCT_PAGES
    products: list[str] = Field(default=[], max_length=200)
    cooling_off_hours: int = Field(default=24, ge=1, le=invitations.MAX_COOLING_OFF_HOURS)
    active: bool = True
    coupon_code: str = Field(default="", max_length=100)
    coupon_value: Decimal | None = Field(default=None, gt=0, max_digits=12, decimal_places=2)
    coupon_currency: str = Field(default="", max_length=3, description="ISO code, or % off")
    coupon_min_spend: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    coupon_valid_until: dt.date | None = None


class InvitationVariantOut(Schema):
    variant: str
    shown: int
    accepted: int
    converted: int


class InvitationComparisonOut(Schema):
    measure: str = Field(description="accepted or converted, per invitation shown")
    rate_a: float
    rate_b: float
    difference: float = Field(description="rate_b - rate_a")
    z: float
    more_than_noise: bool = Field(description="|z| > 1.96 (two-proportion z-test)")


class ConsultationInvitationOut(Schema):
    id: int
    name: str
    texts: dict[str, str]
    texts_b: dict[str, str]
    coupon: dict[str, Any]
    trigger: str
    delay_seconds: int
    placement: str
    products: list[str]
    cooling_off_hours: int
    active: bool
    shown: int
    accepted: int
    converted: int
    orders: int
    gmv: Decimal
    variants: list[InvitationVariantOut]
    comparisons: list[InvitationComparisonOut]


class IdleIn(Schema):
    idle_minutes: int = Field(ge=1, le=idle.MAX_IDLE_MINUTES)


class IdleOut(Schema):
    idle_minutes: int
    quiet: bool


def _input(payload: ConsultationInvitationIn) -> invitations.InvitationInput:
    return invitations.InvitationInput(
        name=payload.name,
        texts=payload.texts,
        texts_b=payload.texts_b,
        trigger=payload.trigger,
        delay_seconds=payload.delay_seconds,
        placement=payload.placement,
        products=tuple(payload.products),
        cooling_off_hours=payload.cooling_off_hours,
        active=payload.active,
        coupon_code=payload.coupon_code,
        coupon_value=payload.coupon_value,
        coupon_currency=payload.coupon_currency,
        coupon_min_spend=payload.coupon_min_spend,
        coupon_valid_until=payload.coupon_valid_until,
    )


def _out(
    invitation: Invitation, figures: invitations.InvitationFigures
) -> ConsultationInvitationOut:
    return ConsultationInvitationOut(
        id=invitation.pk,
        name=invitation.name,
        texts=invitation.texts,
        texts_b=invitation.texts_b,
        coupon=invitation.coupon,
        trigger=invitation.trigger,
        delay_seconds=invitation.delay_seconds,
        placement=invitation.placement,
        products=invitation.products,
        cooling_off_hours=invitation.cooling_off_hours,
        active=invitation.active,
        shown=figures.shown,
        accepted=figures.accepted,
        converted=figures.converted,
        orders=figures.orders,
        gmv=figures.gmv,
        variants=[
            InvitationVariantOut(
                variant=v.variant, shown=v.shown, accepted=v.accepted, converted=v.converted
            )
            for v in figures.variants
        ],
        comparisons=[
            InvitationComparisonOut(
                measure=c.measure,
                rate_a=c.rate_a,
                rate_b=c.rate_b,
                difference=c.difference,
                z=c.z,
                more_than_noise=c.more_than_noise,
            )
            for c in figures.comparisons
        ],
    )


def _one(invitation: Invitation) -> ConsultationInvitationOut:
    return _out(invitation, invitations.invitation_figures([invitation])[invitation.pk])


@router.get("/invitations", response={200: list[ConsultationInvitationOut], 403: ErrorOut})
def list_invitations(request: HttpRequest) -> list[ConsultationInvitationOut]:
    """The shop's invitations with shown, accepted and converted (orders within 48 h)."""
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    found = list(Invitation.objects.filter(shop=shop_of(user)).order_by("-created_at")[:200])
    figures = invitations.invitation_figures(found)
    return [_out(i, figures[i.pk]) for i in found]


@router.post(
    "/invitations", response={201: ConsultationInvitationOut, 400: ErrorOut, 403: ErrorOut}
)
def create_invitation(
    request: HttpRequest, payload: ConsultationInvitationIn
) -> Status[ConsultationInvitationOut]:
    """Refused with 400 when a text breaks a platform rule or a setting is out of range."""
    user = api_user(request)
    invitation = invitations.save_invitation(actor=user, data=_input(payload))
    return Status(201, _one(invitation))


@router.put(
    "/invitations/{invitation_id}",
    response={200: ConsultationInvitationOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def update_invitation(
    request: HttpRequest, invitation_id: int, payload: ConsultationInvitationIn
) -> ConsultationInvitationOut:
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    invitation = get_object_or_404(Invitation, pk=invitation_id, shop=shop_of(user))
    return _one(
        invitations.save_invitation(actor=user, data=_input(payload), invitation=invitation)
    )


@router.get("/idle", response={200: IdleOut, 403: ErrorOut})
def idle_setting(request: HttpRequest) -> IdleOut:
    """The quiet minutes before outreach agents see their queues first, and whether the
    outreach inbox is quiet now."""
    user = api_user(request)
    require(user, Capability.MANAGE_SETTINGS)
    shop = shop_of(user)
    return IdleOut(idle_minutes=idle.idle_minutes(shop), quiet=idle.outreach_is_quiet(shop))


@router.put("/idle", response={200: IdleOut, 400: ErrorOut, 403: ErrorOut})
def set_idle(request: HttpRequest, payload: IdleIn) -> IdleOut:
    user = api_user(request)
    conf = idle.save_idle_minutes(actor=user, minutes=payload.idle_minutes)
    return IdleOut(idle_minutes=conf.idle_minutes, quiet=idle.outreach_is_quiet(conf.shop))
