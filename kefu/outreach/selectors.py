"""Reads of the outreach domain: which buyers a segment holds now, and a campaign's results."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, IntegerField, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop
from kefu.conversations.models import (
    Buyer,
    ConversationMark,
    Direction,
    MarkColor,
    Message,
    OutboxStatus,
)
from kefu.orders.models import Order, OrderItem, OrderStatus
from kefu.outreach.models import Campaign, OptOut, Recipient

# How long after a campaign message an order counts as the campaign's (docs/guide/outreach.md).
ATTRIBUTION_WINDOW = dt.timedelta(hours=48)

# One zone per country, the most populous where a country has several: a campaign's window
# is "around 10:00 where the buyer lives", not to the minute. Unknown countries use the shop's.
COUNTRY_ZONES = {
    "RU": "Europe/Moscow", "BR": "America/Sao_Paulo", "ES": "Europe/Madrid",
    "US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City",
    "FR": "Europe/Paris", "DE": "Europe/Berlin", "IT": "Europe/Rome", "GB": "Europe/London",
    "NL": "Europe/Amsterdam", "PL": "Europe/Warsaw", "UA": "Europe/Kyiv", "KZ": "Asia/Almaty",
    "BY": "Europe/Minsk", "CL": "America/Santiago", "AR": "America/Argentina/Buenos_Aires",
    "CO": "America/Bogota", "PE": "America/Lima", "PT": "Europe/Lisbon", "TR": "Europe/Istanbul",
    "IL": "Asia/Jerusalem", "SA": "Asia/Riyadh", "AE": "Asia/Dubai", "KR": "Asia/Seoul",
    "JP": "Asia/Tokyo", "CN": "Asia/Shanghai", "AU": "Australia/Sydney", "NZ": "Pacific/Auckland",
    "IN": "Asia/Kolkata", "ID": "Asia/Jakarta", "TH": "Asia/Bangkok", "VN": "Asia/Ho_Chi_Minh",
    "PH": "Asia/Manila", "MY": "Asia/Kuala_Lumpur", "SG": "Asia/Singapore",
}  # fmt: skip


def buyer_zone(buyer: Buyer, shop: Shop) -> ZoneInfo:
    return ZoneInfo(COUNTRY_ZONES.get(buyer.country.upper(), shop.timezone))


@dataclass(frozen=True)
class SegmentFilters:
    """What a segment asks of a buyer; every set filter must hold (an empty one is ignored)."""

    statuses: tuple[str, ...] = ()
    placed_from: dt.date | None = None
    placed_to: dt.date | None = None
    unpaid_within_hours: int | None = None
    delivered_from: dt.date | None = None
    delivered_to: dt.date | None = None
    products: tuple[str, ...] = ()
    min_spend: Decimal | None = None
    languages: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    contacted_within_days: int | None = None
    chatted_without_order: bool = False
    never_reordered: bool = False
    # Marks on the buyer's conversations still on: colours ("blue") or shop labels ("VIP").
    marks: tuple[str, ...] = ()
    include_complaints: bool = False
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def is_empty(self) -> bool:
        return self == SegmentFilters(include_complaints=self.include_complaints)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        for key in ("placed_from", "placed_to", "delivered_from", "delivered_to"):
            data[key] = data[key].isoformat() if data[key] else None
        data["min_spend"] = str(self.min_spend) if self.min_spend is not None else None
        data["statuses"] = list(self.statuses)
        data["products"] = list(self.products)
        data["languages"] = list(self.languages)
        data["countries"] = list(self.countries)
        data["marks"] = list(self.marks)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SegmentFilters:
        """Checked filters from a form, the API or a saved segment; ValidationError if bad."""

        def date(key: str) -> dt.date | None:
            value = data.get(key)
            if not value:
                return None
            try:
                return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
            except ValueError as exc:
                raise ValidationError(_("Dates are YYYY-MM-DD."), code="date") from exc

        def number(key: str) -> int | None:
            value = data.get(key)
            if value in (None, ""):
                return None
            try:
                n = int(str(value))
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    _("%(field)s must be a whole number.") % {"field": key}
                ) from exc
            if n <= 0 or n > 100_000:
                raise ValidationError(_("%(field)s must be between 1 and 100000.") % {"field": key})
            return n

        def words(key: str, limit: int = 80) -> tuple[str, ...]:
            value = data.get(key) or ()
            if isinstance(value, str):
                value = value.split(",")
            return tuple(sorted({str(v).strip()[:limit] for v in value if str(v).strip()}))

        statuses = words("statuses")
        unknown = set(statuses) - set(OrderStatus.values)
        if unknown:
            raise ValidationError(
                _("Unknown order status: %(s)s") % {"s": ", ".join(sorted(unknown))}, code="status"
            )
        spend = data.get("min_spend")
        min_spend = None
        if spend not in (None, ""):
            try:
                min_spend = Decimal(str(spend))
            except ArithmeticError as exc:
                raise ValidationError(_("The spend must be an amount."), code="spend") from exc
            if not min_spend.is_finite() or min_spend < 0:
                raise ValidationError(_("The spend must be an amount."), code="spend")
        return cls(
            statuses=statuses,
            placed_from=date("placed_from"),
            placed_to=date("placed_to"),
            unpaid_within_hours=number("unpaid_within_hours"),
            delivered_from=date("delivered_from"),
            delivered_to=date("delivered_to"),
            products=words("products"),
            min_spend=min_spend,
            languages=tuple(w.lower() for w in words("languages", 10)),
            countries=tuple(w.upper() for w in words("countries", 2)),
            contacted_within_days=number("contacted_within_days"),
            chatted_without_order=str(data.get("chatted_without_order", "")).lower()
            in ("1", "true", "on", "yes"),
            never_reordered=str(data.get("never_reordered", "")).lower()
            in ("1", "true", "on", "yes"),
            marks=words("marks", 40),
            include_complaints=str(data.get("include_complaints", "")).lower()
            in ("1", "true", "on", "yes"),
        )


def _day_start(shop: Shop, day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=ZoneInfo(shop.timezone))


def segment_buyers(*, shop: Shop, filters: SegmentFilters) -> QuerySet[Buyer]:
    """The shop's buyers the filters select now, opted-out buyers always left out and buyers
    with an open complaint (a red mark not cleared) left out unless asked for."""
    buyers = Buyer.objects.filter(shop=shop)
    orders = Order.objects.filter(shop=shop, buyer=OuterRef("pk"))
    order_filters: dict[str, Any] = {}
    if filters.statuses:
        order_filters["status__in"] = filters.statuses
    if filters.placed_from:
        order_filters["placed_at__gte"] = _day_start(shop, filters.placed_from)
    if filters.placed_to:
        order_filters["placed_at__lt"] = _day_start(shop, filters.placed_to + dt.timedelta(1))
    if order_filters:
        buyers = buyers.filter(Exists(orders.filter(**order_filters)))
    if filters.unpaid_within_hours:
        since = timezone.now() - dt.timedelta(hours=filters.unpaid_within_hours)
        buyers = buyers.filter(
            Exists(orders.filter(status=OrderStatus.PLACED, paid_at=None, placed_at__gte=since))
        )
    if filters.delivered_from or filters.delivered_to:
        delivered = orders.filter(delivered_at__isnull=False)
        if filters.delivered_from:
            delivered = delivered.filter(delivered_at__gte=_day_start(shop, filters.delivered_from))
        if filters.delivered_to:
            end = _day_start(shop, filters.delivered_to + dt.timedelta(1))
            delivered = delivered.filter(delivered_at__lt=end)
        buyers = buyers.filter(Exists(delivered))
    if filters.products:
        items = OrderItem.objects.filter(
            shop=shop, order__buyer=OuterRef("pk"), product__external_id__in=filters.products
        )
        buyers = buyers.filter(Exists(items))
    if filters.min_spend is not None:
        buyers = buyers.annotate(spend=Sum("orders__paid_amount", default=Decimal("0"))).filter(
            spend__gte=filters.min_spend
        )
    if filters.languages:
        buyers = buyers.filter(language__in=filters.languages)
    if filters.countries:
        buyers = buyers.filter(country__in=filters.countries)
    if filters.contacted_within_days:
        since = timezone.now() - dt.timedelta(days=filters.contacted_within_days)
        buyers = buyers.filter(last_message_at__gte=since)
    if filters.chatted_without_order:
        buyers = buyers.filter(last_message_at__isnull=False).exclude(Exists(orders))
    if filters.never_reordered:
        # Bought exactly once (two orders placed at the same moment are two orders).
        order_count = (
            Order.objects.filter(shop=shop, buyer=OuterRef("pk"))
            .values("buyer")
            .annotate(n=Count("pk"))
            .values("n")
        )
        buyers = buyers.annotate(
            order_count=Subquery(order_count, output_field=IntegerField())
        ).filter(order_count=1)
    if filters.marks:
        colours = [m for m in filters.marks if m in MarkColor.values and m != MarkColor.LABEL]
        labels = [m for m in filters.marks if m not in colours]
        marked = ConversationMark.objects.filter(
            shop=shop, conversation__buyer=OuterRef("pk"), cleared_at__isnull=True
        )
        buyers = buyers.filter(
            Exists(marked.filter(color__in=colours))
            | Exists(marked.filter(color=MarkColor.LABEL, label__in=labels))
        )
    buyers = buyers.exclude(Exists(OptOut.objects.filter(buyer=OuterRef("pk"))))
    if not filters.include_complaints:
        complaints = ConversationMark.objects.filter(
            shop=shop,
            conversation__buyer=OuterRef("pk"),
            color=MarkColor.RED,
            cleared_at__isnull=True,
        )
        buyers = buyers.exclude(Exists(complaints))
    return buyers.order_by("pk")


@dataclass
class VariantResult:
    language: str
    variant: str = "A"
    targeted: int = 0
    sent: int = 0
    blocked: int = 0
    delivered: int = 0
    not_delivered: int = 0
    not_delivered_reasons: dict[str, int] = field(default_factory=dict)
    replied: int = 0
    opted_out: int = 0
    orders_placed: int = 0
    orders_paid: int = 0
    gmv: Decimal = Decimal("0")


def campaign_results(campaign: Campaign) -> list[VariantResult]:
    """Per language variant. An order counts for this campaign when the buyer placed it within
    48 h after this campaign's message and no earlier campaign message of the shop to the
    same buyer also covers it (the earliest qualifying touch wins, so no order counts twice).
    GMV is the paid amount, in the order's currency as imported (the reporting currency)."""
    rows: dict[str, VariantResult] = {}
    recipients = list(
        Recipient.objects.filter(campaign=campaign).select_related("message", "message__outbox")
    )
    opted = set(OptOut.objects.filter(campaign=campaign).values_list("buyer_id", flat=True))
    buyer_ids = [r.buyer_id for r in recipients if r.message is not None]
    # Every campaign touch of these buyers, to find the earliest one covering an order.
    touches: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    for buyer_id, sent_at, campaign_id in Recipient.objects.filter(
        shop_id=campaign.shop_id, buyer_id__in=buyer_ids, message__isnull=False
    ).values_list("buyer_id", "sent_at", "campaign_id"):
        touches[buyer_id].append((sent_at, campaign_id))
    for r in recipients:
        row = rows.setdefault(
            f"{r.language}:{r.variant}", VariantResult(language=r.language, variant=r.variant)
        )
        row.targeted += 1
        if r.blocked:
            row.blocked += 1
        if r.message is None:
            continue
        row.sent += 1
        outbox = getattr(r.message, "outbox", None)
        if outbox is not None and outbox.status == OutboxStatus.DELIVERED:
            row.delivered += 1
        elif outbox is not None and outbox.status == OutboxStatus.NOT_DELIVERED:
            row.not_delivered += 1
            reason = outbox.reason or "unknown"
            row.not_delivered_reasons[reason] = row.not_delivered_reasons.get(reason, 0) + 1
        end = r.sent_at + ATTRIBUTION_WINDOW
        if Message.objects.filter(
            shop_id=campaign.shop_id,
            buyer_id=r.buyer_id,
            direction=Direction.BUYER,
            sent_at__gt=r.sent_at,
            sent_at__lte=end,
        ).exists():
            row.replied += 1
        if r.buyer_id in opted:
            row.opted_out += 1
        for order in Order.objects.filter(
            shop_id=campaign.shop_id, buyer_id=r.buyer_id, placed_at__gte=r.sent_at,
            placed_at__lte=end,
        ):  # fmt: skip
            covering = [
                t
                for t in touches[r.buyer_id]
                if t[0] <= order.placed_at <= t[0] + ATTRIBUTION_WINDOW
            ]
            if min(covering)[1] != campaign.pk:
                continue
            row.orders_placed += 1
            if order.paid_at is not None:
                row.orders_paid += 1
                row.gmv += order.paid_amount or Decimal("0")
    return sorted(rows.values(), key=lambda v: (v.language, v.variant))


@dataclass(frozen=True)
class ABComparison:
    language: str
    measure: str  # "replied" or "orders_paid", per message sent
    rate_a: float
    rate_b: float
    difference: float  # rate_b - rate_a
    z: float
    more_than_noise: bool  # |z| > 1.96: a difference this large by chance under 5 % of the time


def ab_comparisons(results: list[VariantResult]) -> list[ABComparison]:
    """Two-proportion z-test of variant B against A, per language that has both."""
    by_lang: dict[str, dict[str, VariantResult]] = defaultdict(dict)
    for r in results:
        by_lang[r.language][r.variant] = r
    out = []
    for lang, pair in sorted(by_lang.items()):
        a, b = pair.get("A"), pair.get("B")
        if a is None or b is None or not a.sent or not b.sent:
            continue
        for measure in ("replied", "orders_paid"):
            hits_a, hits_b = getattr(a, measure), getattr(b, measure)
            rate_a, rate_b = hits_a / a.sent, hits_b / b.sent
            pooled = (hits_a + hits_b) / (a.sent + b.sent)
            spread = math.sqrt(pooled * (1 - pooled) * (1 / a.sent + 1 / b.sent))
            z = (rate_b - rate_a) / spread if spread else 0.0
            out.append(
                ABComparison(lang, measure, rate_a, rate_b, rate_b - rate_a, z, abs(z) > 1.96)
            )
    return out
