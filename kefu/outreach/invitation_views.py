"""The invitations page (R-38): write an invitation (text per language, optional coupon, when
and where), switch it on or off, read shown / accepted / converted; the quiet minutes of
idle-time outreach; and an outreach agent taking a buyer from the idle-time queues."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.conversations.models import Buyer
from kefu.outreach import idle, invitations
from kefu.outreach.models import Invitation, InvitationPlacement, InvitationTrigger


def _page(request: ShopRequest, extra: dict[str, Any], status: int = 200) -> HttpResponse:
    shop = shop_of(request.user)
    found = list(Invitation.objects.filter(shop=shop).order_by("-created_at")[:50])
    figures = invitations.invitation_figures(found)
    context = {
        "invitations": [(i, figures[i.pk]) for i in found],
        "languages": invitations.LANGUAGES,
        "triggers": InvitationTrigger.choices,
        "placements": InvitationPlacement.choices,
        "may_set_idle": has_capability(request.user, Capability.MANAGE_SETTINGS),
        "idle_minutes": idle.idle_minutes(shop),
        "form": {},
        **extra,
    }
    return render(request, "outreach/invitations.html", context, status=status)


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_GET
def invitations_page(request: ShopRequest) -> HttpResponse:
    return _page(request, {})


def _number(value: str | None, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ValidationError(_("Enter whole numbers.")) from exc


def _decimal(value: str | None) -> Decimal | None:
    if not value or not value.strip():
        return None
    try:
        return Decimal(value.strip().replace(",", "."))
    except InvalidOperation as exc:
        raise ValidationError(_("Enter the coupon amounts as numbers.")) from exc


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError(_("Enter the coupon's last day as a date.")) from exc


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_POST
def new_invitation(request: ShopRequest) -> HttpResponse:
    data = request.POST
    try:
        invitations.save_invitation(
            actor=request.user,
            data=invitations.InvitationInput(
                name=data.get("name", ""),
                texts={code: data.get(f"text_{code}", "") for code in invitations.LANGUAGES},
                texts_b={code: data.get(f"text_b_{code}", "") for code in invitations.LANGUAGES},
                trigger=data.get("trigger", InvitationTrigger.DELAY),
                delay_seconds=_number(data.get("delay_seconds"), 20),
                placement=data.get("placement", InvitationPlacement.PRODUCT_PAGES),
                products=tuple(data.get("products", "").replace("\n", ",").split(",")),
                cooling_off_hours=_number(data.get("cooling_off_hours"), 24),
                coupon_code=data.get("coupon_code", ""),
                coupon_value=_decimal(data.get("coupon_value")),
                coupon_currency=data.get("coupon_currency", ""),
                coupon_min_spend=_decimal(data.get("coupon_min_spend")),
                coupon_valid_until=_date(data.get("coupon_valid_until")),
            ),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _page(request, {"form": data}, status=400)
    messages.success(request, _("Invitation saved."))
    return redirect("outreach:invitations")


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_POST
def switch_invitation(request: ShopRequest, invitation_id: int) -> HttpResponse:
    """On or off: an invitation switched off is shown to no one; its figures stay."""
    invitation = get_object_or_404(Invitation, pk=invitation_id, shop=shop_of(request.user))
    invitations.switch_invitation(
        actor=request.user, invitation=invitation, active=request.POST.get("active") == "1"
    )
    return redirect("outreach:invitations")


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_POST
def idle_setting(request: ShopRequest) -> HttpResponse:
    try:
        idle.save_idle_minutes(
            actor=request.user, minutes=_number(request.POST.get("idle_minutes"), 0)
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _page(request, {}, status=400)
    messages.success(request, _("Quiet minutes saved."))
    return redirect("outreach:invitations")


@shop_view()
@require_POST
def take_from_queue(request: ShopRequest, buyer_id: int) -> HttpResponse:
    """An outreach agent takes a buyer from the idle-time queues into their conversation."""
    buyer = get_object_or_404(Buyer, pk=buyer_id, shop=shop_of(request.user))
    try:
        conversation = idle.take_from_queue(actor=request.user, buyer=buyer)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return redirect("inbox")
    return redirect("conversation", conversation_id=conversation.pk)
