"""The outreach page (R-37): build a segment (count and sample before saving), write and
schedule a campaign, pause/resume/cancel it, read its results per language variant."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.models import Platform
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.catalog.selectors import categories_of
from kefu.metrics.config import shop_rules
from kefu.outreach import caps, results, selectors, services
from kefu.outreach.models import Campaign, Segment
from kefu.outreach.offers import OfferIn

FILTER_FIELDS = (
    "statuses", "placed_from", "placed_to", "unpaid_within_hours", "delivered_from",
    "delivered_to", "products", "categories", "min_spend", "last_order_min", "languages",
    "countries", "contacted_within_days", "chatted_without_order", "never_reordered", "marks",
    "include_complaints",
)  # fmt: skip


def _page(request: ShopRequest, extra: dict[str, Any], status: int = 200) -> HttpResponse:
    shop = shop_of(request.user)
    campaigns = list(
        Campaign.objects.filter(shop=shop)
        .select_related("segment", "offer__product")
        .order_by("-created_at")[:20]
    )
    rules = shop_rules(shop=shop)
    form = extra.get("form")
    chosen: list[str] = form.getlist("categories") if isinstance(form, QueryDict) else []
    context = {
        "segments": Segment.objects.filter(shop=shop).order_by("name"),
        "campaigns": [_with_results(c, rules.reporting_currency, rules.rates) for c in campaigns],
        "caps": caps.marketplace_caps(shop=shop),
        "platforms": Platform.choices,
        "shop_platform": shop.platform,
        "form": {},
        # A chosen category no product carries any more still shows, selected.
        "categories": sorted({*categories_of(shop), *chosen}),
        "chosen_categories": chosen,
        **extra,
    }
    return render(request, "outreach/outreach.html", context, status=status)


def _with_results(
    campaign: Campaign, currency: str, rates: Mapping[str, Decimal]
) -> tuple[Campaign, list[Any], list[Any]]:
    found = results.campaign_results(campaign, reporting_currency=currency, rates=rates)
    return campaign, found, results.ab_comparisons(found)


# Filters a form sends as several values (a multiple select).
LIST_FIELDS = ("categories",)


def _filters_from(data: Any) -> selectors.SegmentFilters:
    raw = {key: data.get(key, "") for key in FILTER_FIELDS}
    for key in LIST_FIELDS:
        raw[key] = data.getlist(key) if isinstance(data, QueryDict) else data.get(key, "")
    return selectors.SegmentFilters.from_json(raw)


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_GET
def outreach(request: ShopRequest) -> HttpResponse:
    """The page; with ?preview=1 the filters' count and a sample (nothing is saved)."""
    extra: dict[str, Any] = {"form": request.GET}
    if request.GET.get("preview") == "1":
        try:
            buyers = selectors.segment_buyers(
                shop=shop_of(request.user), filters=_filters_from(request.GET)
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            return _page(request, extra, status=400)
        extra["preview_count"] = buyers.count()
        extra["preview_sample"] = list(buyers[:20])
    return _page(request, extra)


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_POST
def save_segment(request: ShopRequest) -> HttpResponse:
    try:
        services.save_segment(
            actor=request.user,
            name=request.POST.get("name", ""),
            filters=_filters_from(request.POST),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _page(request, {"form": request.POST}, status=400)
    messages.success(request, _("Segment saved: its buyers are found again when sending."))
    return redirect("outreach:outreach")


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_POST
def new_campaign(request: ShopRequest) -> HttpResponse:
    shop = shop_of(request.user)
    data = request.POST
    try:
        if not data.get("segment"):
            raise ValidationError(_("Choose a saved segment."))
        # Another shop's segment (or none) is not found, as any object of another shop.
        segment = get_object_or_404(Segment, shop=shop, pk=_int(data.get("segment"), 0))
        try:
            local = dt.datetime.fromisoformat(data.get("starts_at", ""))
        except ValueError as exc:
            raise ValidationError(_("Choose the start date and time.")) from exc
        codes = ("en", "zh", "ru", "es", "pt", "fr")
        texts = {code: data.get(f"text_{code}", "") for code in codes}
        texts_b = {code: data.get(f"text_b_{code}", "") for code in codes}
        services.create_campaign(
            actor=request.user,
            name=data.get("name", ""),
            segment=segment,
            texts=texts,
            language_order=data.get("language_order", "").split(","),
            starts_at=local.replace(tzinfo=ZoneInfo(shop.timezone)),
            window_start=_int(data.get("window_start"), 9),
            window_end=_int(data.get("window_end"), 21),
            per_minute=_int(data.get("per_minute"), 20),
            texts_b=texts_b,
            offer=_offer_from(data),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _page(request, {"campaign_form": data}, status=400)
    messages.success(request, _("Campaign scheduled."))
    return redirect("outreach:outreach")


def _offer_from(data: Any) -> OfferIn:
    def amount(key: str) -> Decimal | None:
        raw = (data.get(key) or "").strip()
        if not raw:
            return None
        try:
            return Decimal(raw)
        except InvalidOperation as exc:
            raise ValidationError(_("The coupon's value and minimum spend are amounts.")) from exc

    until = (data.get("coupon_valid_until") or "").strip()
    try:
        valid_until = dt.date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise ValidationError(_("Dates are YYYY-MM-DD.")) from exc
    return OfferIn(
        product_external_id=(data.get("offer_product") or "")[:80],
        coupon_code=(data.get("coupon_code") or "")[:40],
        coupon_value=amount("coupon_value"),
        coupon_currency=(data.get("coupon_currency") or "")[:3],
        coupon_min_spend=amount("coupon_min_spend"),
        coupon_valid_until=valid_until,
    )


def _int(value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("Enter whole numbers.")) from exc


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_POST
def control(request: ShopRequest, campaign_id: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop=shop_of(request.user))
    try:
        services.control_campaign(
            actor=request.user, campaign=campaign, action=request.POST.get("action", "")
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _page(request, {}, status=400)
    return redirect("outreach:outreach")


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_POST
def set_cap(request: ShopRequest) -> HttpResponse:
    """The marketplace's caps (main account only: the service refuses a sub-account, 403)."""
    data = request.POST
    try:
        caps.set_marketplace_cap(
            actor=request.user,
            platform=data.get("platform", ""),
            per_minute=_int(data.get("cap_per_minute"), 0) or None,
            per_day=_int(data.get("cap_per_day"), 0) or None,
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _page(request, {}, status=400)
    messages.success(request, _("Marketplace caps saved: no campaign sends past them."))
    return redirect("outreach:outreach")
