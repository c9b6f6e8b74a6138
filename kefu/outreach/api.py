"""Outreach over the API (R-37), mounted at /api/v1/outreach: segments (count and sample
before saving), campaigns (create, pause/resume/cancel) and their results per variant.
Every route needs the "create campaigns" right; a refusal is 400 with the reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Router, Schema, Status
from pydantic import Field

from kefu.accounts.access import api_user, shop_auth
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.core.schema_types import ErrorOut, Instant
from kefu.metrics.config import shop_rules
from kefu.outreach import caps, results, selectors, services
from kefu.outreach.models import Campaign, Segment
from kefu.outreach.offers import OfferIn

router = Router(auth=shop_auth, tags=["outreach"])

SAMPLE_SIZE = 20


class FiltersIn(Schema):
    statuses: list[str] = Field(default=[], max_length=10)
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    unpaid_within_hours: int | None = Field(default=None, ge=1, le=100_000)
    delivered_from: dt.date | None = None
    delivered_to: dt.date | None = None
    products: list[str] = Field(default=[], max_length=200)
    categories: list[Annotated[str, Field(max_length=selectors.MAX_CATEGORY_LENGTH)]] = Field(
        default=[],
        max_length=selectors.MAX_CATEGORIES,
        description="bought at least one product of one of these categories (exact labels)",
    )
    min_spend: Decimal | None = Field(default=None, ge=0, max_digits=14, decimal_places=2)
    last_order_min: Decimal | None = Field(
        default=None, ge=0, max_digits=14, decimal_places=2, description="latest order paid ≥"
    )
    languages: list[str] = Field(default=[], max_length=20)
    countries: list[str] = Field(default=[], max_length=250)
    contacted_within_days: int | None = Field(default=None, ge=1, le=100_000)
    chatted_without_order: bool = False
    never_reordered: bool = False
    marks: list[str] = Field(default=[], max_length=20)
    include_complaints: bool = False


class SegmentIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    filters: FiltersIn


class BuyerSample(Schema):
    id: int
    name: str
    language: str
    country: str


class SegmentPreviewOut(Schema):
    count: int
    sample: list[BuyerSample]


class SegmentOut(Schema):
    id: int
    name: str
    filters: dict[str, Any]
    buyers: int


class OfferSchema(Schema):
    product_external_id: str = Field(default="", max_length=80)
    coupon_code: str = Field(default="", max_length=40)
    coupon_value: Decimal | None = Field(default=None, gt=0, max_digits=10, decimal_places=2)
    coupon_currency: str = Field(default="", max_length=3, description="ISO code, or %")
    coupon_min_spend: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2)
    coupon_valid_until: dt.date | None = None


class CampaignIn(Schema):
    name: str = Field(min_length=1, max_length=120)
    segment_id: int
    texts: dict[str, str] = Field(description="message per language code, e.g. en, ru, es, zh")
    texts_b: dict[str, str] = Field(
        default={}, description="optional B variant per language: buyers split at random"
    )
    language_order: list[str] = Field(default=[], max_length=20)
    starts_at: Instant
    window_start: int = Field(default=9, ge=0, le=23)
    window_end: int = Field(default=21, ge=1, le=24)
    per_minute: int = Field(default=20, ge=1, le=services.MAX_PER_MINUTE)
    offer: OfferSchema | None = Field(
        default=None, description="optional: a coupon or a product card, not both"
    )


class CampaignOut(Schema):
    id: int
    name: str
    segment_id: int
    status: str
    texts: dict[str, str]
    texts_b: dict[str, str]
    language_order: list[str]
    starts_at: dt.datetime
    window_start: int
    window_end: int
    per_minute: int
    offer: OfferSchema | None


class ControlIn(Schema):
    action: Literal["pause", "resume", "cancel"]


class CampaignVariantOut(Schema):
    language: str
    variant: str
    targeted: int
    sent: int
    blocked: int
    delivered: int
    not_delivered: int
    not_delivered_reasons: dict[str, int]
    replied: int
    opted_out: int
    orders_placed: int
    orders_paid: int
    gmv: Decimal = Field(description="paid within 48 h, in `currency`")
    orders_placed_7d: int
    orders_paid_7d: int
    gmv_7d: Decimal = Field(description="paid within 7 days, in `currency`")
    currency: str = Field(description="the metrics' reporting currency")
    unconverted_orders: int = Field(description="paid orders without an exchange rate")


class CapIn(Schema):
    platform: str = Field(min_length=1, max_length=20)
    per_minute: int | None = Field(default=None, ge=1, le=caps.MAX_CAP)
    per_day: int | None = Field(default=None, ge=1, le=caps.MAX_CAP)


class CapOut(Schema):
    platform: str
    per_minute: int | None
    per_day: int | None


def _filters(payload: FiltersIn) -> selectors.SegmentFilters:
    return selectors.SegmentFilters.from_json(payload.dict())


def _offer_out(c: Campaign) -> OfferSchema | None:
    offer = getattr(c, "offer", None)
    if offer is None:
        return None
    return OfferSchema(
        product_external_id=offer.product.external_id if offer.product else "",
        coupon_code=offer.coupon_code,
        coupon_value=offer.coupon_value,
        coupon_currency=offer.coupon_currency,
        coupon_min_spend=offer.coupon_min_spend,
        coupon_valid_until=offer.coupon_valid_until,
    )


def _campaign_out(c: Campaign) -> CampaignOut:
    return CampaignOut(
        id=c.pk,
        name=c.name,
        segment_id=c.segment_id,
        status=c.status,
        texts=c.texts,
        texts_b=c.texts_b,
        language_order=c.language_order,
        starts_at=c.starts_at,
        window_start=c.window_start,
        window_end=c.window_end,
        per_minute=c.per_minute,
        offer=_offer_out(c),
    )


@router.post("/segments/preview", response={200: SegmentPreviewOut, 400: ErrorOut, 403: ErrorOut})
def preview_segment(request: HttpRequest, payload: FiltersIn) -> SegmentPreviewOut:
    """How many buyers the filters select now and a sample of them; nothing is saved."""
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    buyers = selectors.segment_buyers(shop=shop_of(user), filters=_filters(payload))
    return SegmentPreviewOut(
        count=buyers.count(),
        sample=[
            BuyerSample(id=b.pk, name=b.name, language=b.language, country=b.country)
            for b in buyers[:SAMPLE_SIZE]
        ],
    )


@router.get("/segments", response={200: list[SegmentOut], 403: ErrorOut})
def segments(request: HttpRequest) -> list[SegmentOut]:
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    shop = shop_of(user)
    return [
        SegmentOut(
            id=s.pk,
            name=s.name,
            filters=s.filters,
            buyers=selectors.segment_buyers(
                shop=shop, filters=selectors.SegmentFilters.from_json(s.filters)
            ).count(),
        )
        for s in Segment.objects.filter(shop=shop).order_by("name")[:200]
    ]


@router.post("/segments", response={201: SegmentOut, 400: ErrorOut, 403: ErrorOut})
def create_segment(request: HttpRequest, payload: SegmentIn) -> Status[SegmentOut]:
    user = api_user(request)
    filters = _filters(payload.filters)
    segment = services.save_segment(actor=user, name=payload.name, filters=filters)
    count = selectors.segment_buyers(shop=segment.shop, filters=filters).count()
    return Status(
        201, SegmentOut(id=segment.pk, name=segment.name, filters=segment.filters, buyers=count)
    )


@router.get("/campaigns", response={200: list[CampaignOut], 403: ErrorOut})
def campaigns(request: HttpRequest) -> list[CampaignOut]:
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    found = (
        Campaign.objects.filter(shop=shop_of(user))
        .select_related("offer__product")
        .order_by("-created_at")[:200]
    )
    return [_campaign_out(c) for c in found]


@router.post("/campaigns", response={201: CampaignOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut})
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Status[CampaignOut]:
    """Refused with 400 when a variant breaks a platform rule, a placeholder is unknown or the
    window or throttle is out of range."""
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    segment = get_object_or_404(Segment, pk=payload.segment_id, shop=shop_of(user))
    campaign = services.create_campaign(
        actor=user,
        name=payload.name,
        segment=segment,
        texts=payload.texts,
        language_order=payload.language_order,
        starts_at=payload.starts_at,
        window_start=payload.window_start,
        window_end=payload.window_end,
        per_minute=payload.per_minute,
        texts_b=payload.texts_b,
        offer=OfferIn(**payload.offer.dict()) if payload.offer else None,
    )
    return Status(201, _campaign_out(campaign))


@router.get(
    "/campaigns/{campaign_id}/results",
    response={200: list[CampaignVariantOut], 403: ErrorOut, 404: ErrorOut},
)
def campaign_results(request: HttpRequest, campaign_id: int) -> list[CampaignVariantOut]:
    """Per language variant; orders count within 48 h (and 7 days) of the message, earliest
    touch wins; GMV in the metrics' reporting currency."""
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop=shop_of(user))
    rules = shop_rules(shop=campaign.shop)
    found = results.campaign_results(
        campaign, reporting_currency=rules.reporting_currency, rates=rules.rates
    )
    return [CampaignVariantOut(**vars(v)) for v in found]


@router.post(
    "/campaigns/{campaign_id}/control",
    response={200: CampaignOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
)
def control_campaign(request: HttpRequest, campaign_id: int, payload: ControlIn) -> CampaignOut:
    """Pause, resume or cancel; 400 when the campaign's state does not allow it."""
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    campaign = get_object_or_404(Campaign, pk=campaign_id, shop=shop_of(user))
    return _campaign_out(
        services.control_campaign(actor=user, campaign=campaign, action=payload.action)
    )


@router.get("/caps", response={200: list[CapOut], 403: ErrorOut})
def marketplace_caps(request: HttpRequest) -> list[CapOut]:
    """The marketplace caps the owner set; campaigns never send past them."""
    user = api_user(request)
    require(user, Capability.CREATE_CAMPAIGNS)
    return [
        CapOut(platform=c.platform, per_minute=c.per_minute, per_day=c.per_day)
        for c in caps.marketplace_caps(shop=shop_of(user))
    ]


@router.post("/caps", response={200: CapOut, 400: ErrorOut, 403: ErrorOut})
def set_marketplace_cap(request: HttpRequest, payload: CapIn) -> CapOut:
    """Main account only: what the marketplace allows per minute and per day (null: no cap)."""
    user = api_user(request)
    cap = caps.set_marketplace_cap(
        actor=user,
        platform=payload.platform,
        per_minute=payload.per_minute,
        per_day=payload.per_day,
    )
    return CapOut(platform=cap.platform, per_minute=cap.per_minute, per_day=cap.per_day)
