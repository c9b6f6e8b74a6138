"""A campaign's results per language variant (R-37), kept apart from the service figures.

Attribution (docs/guide/outreach.md): an order belongs to a campaign when the buyer placed it
within 48 h (and, in the 7-day columns, 7 days) after that campaign's message to them; when
several campaign messages of the shop cover it, only the earliest one gets it. GMV is what was
paid, in the reporting currency of the metrics (the same rates: an order in another currency
without a rate is counted as "unconverted" and left out of the GMV, never added as is).

Read in a few batched queries whatever the campaign's size (a results page of 100,000 buyers
must not be 200,000 queries).
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from kefu.conversations.models import Direction, Message, OutboxStatus
from kefu.orders.models import Order
from kefu.outreach.models import Campaign, OptOut, Recipient

ATTRIBUTION_WINDOW = dt.timedelta(hours=48)
LONG_WINDOW = dt.timedelta(days=7)
CENT = Decimal("0.01")
CHUNK = 900  # buyer ids per IN (): under SQLite's parameter limit with room to spare


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
    # Within 48 h of the message, earliest touch wins.
    orders_placed: int = 0
    orders_paid: int = 0
    gmv: Decimal = Decimal("0")
    # Within 7 days of the message, earliest touch (within 7 days) wins.
    orders_placed_7d: int = 0
    orders_paid_7d: int = 0
    gmv_7d: Decimal = Decimal("0")
    currency: str = ""  # the reporting currency of both GMV figures
    # Paid orders (7-day window) in a currency without an exchange rate: counted, in no GMV.
    unconverted_orders: int = 0


@dataclass(frozen=True)
class _Order:
    placed_at: dt.datetime
    paid: bool
    amount: Decimal
    currency: str


def _convert(
    amount: Decimal, currency: str, reporting: str, rates: Mapping[str, Decimal]
) -> Decimal | None:
    # The metrics' rule (kefu.metrics.compute): 1 unit of `currency` = rate reporting units.
    if currency.upper() == reporting.upper():
        return amount
    rate = rates.get(currency.upper())
    return None if rate is None else (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


def _chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


def campaign_results(
    campaign: Campaign,
    *,
    reporting_currency: str | None = None,
    rates: Mapping[str, Decimal] | None = None,
) -> list[VariantResult]:
    """Per language variant. ``reporting_currency`` and ``rates`` are the metrics settings'
    (the pages pass them; without them: the shop's currency and no rates)."""
    reporting = (reporting_currency or campaign.shop.currency).upper()
    rates = rates or {}
    shop_id = campaign.shop_id
    recipients = list(
        Recipient.objects.filter(campaign=campaign)
        .select_related("message__outbox")
        .only(
            "buyer_id",
            "language",
            "variant",
            "blocked",
            "sent_at",
            "message__id",
            "message__outbox__status",
            "message__outbox__reason",
        )
    )
    opted = set(OptOut.objects.filter(campaign=campaign).values_list("buyer_id", flat=True))
    sent_to = sorted({r.buyer_id for r in recipients if r.message is not None})
    since = min((r.sent_at for r in recipients), default=None)
    touches: dict[int, list[tuple[dt.datetime, int]]] = defaultdict(list)
    replies: dict[int, list[dt.datetime]] = defaultdict(list)
    orders: dict[int, list[_Order]] = defaultdict(list)
    for chunk in _chunks(sent_to) if since is not None else []:
        for buyer_id, sent_at, campaign_id in Recipient.objects.filter(
            shop_id=shop_id, buyer_id__in=chunk, message__isnull=False
        ).values_list("buyer_id", "sent_at", "campaign_id"):
            touches[buyer_id].append((sent_at, campaign_id))
        for buyer_id, at in Message.objects.filter(
            shop_id=shop_id, buyer_id__in=chunk, direction=Direction.BUYER, sent_at__gt=since
        ).values_list("buyer_id", "sent_at"):
            replies[buyer_id].append(at)
        for buyer_id, placed_at, paid_at, amount, currency in Order.objects.filter(
            shop_id=shop_id, buyer_id__in=chunk, placed_at__gte=since
        ).values_list("buyer_id", "placed_at", "paid_at", "paid_amount", "currency"):
            orders[buyer_id].append(
                _Order(placed_at, paid_at is not None, amount or Decimal("0"), currency)
            )
    for times in replies.values():
        times.sort()
    for buyer_touches in touches.values():
        buyer_touches.sort()

    rows: dict[str, VariantResult] = {}
    for r in recipients:
        row = rows.setdefault(
            f"{r.language}:{r.variant}",
            VariantResult(language=r.language, variant=r.variant, currency=reporting),
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
        times = replies.get(r.buyer_id, [])
        i = bisect_right(times, r.sent_at)
        if i < len(times) and times[i] <= r.sent_at + ATTRIBUTION_WINDOW:
            row.replied += 1
        if r.buyer_id in opted:
            row.opted_out += 1
        for order in orders.get(r.buyer_id, []):
            _attribute(row, order, r.sent_at, touches[r.buyer_id], campaign.pk, reporting, rates)
    return sorted(rows.values(), key=lambda v: (v.language, v.variant))


def _earliest(
    touches: list[tuple[dt.datetime, int]], at: dt.datetime, window: dt.timedelta
) -> int | None:
    for sent_at, campaign_id in touches:  # sorted by time
        if sent_at <= at <= sent_at + window:
            return campaign_id
    return None


def _attribute(
    row: VariantResult,
    order: _Order,
    sent_at: dt.datetime,
    touches: list[tuple[dt.datetime, int]],
    campaign_id: int,
    reporting: str,
    rates: Mapping[str, Decimal],
) -> None:
    if not sent_at <= order.placed_at <= sent_at + LONG_WINDOW:
        return
    amount = _convert(order.amount, order.currency, reporting, rates) if order.paid else None
    short = order.placed_at <= sent_at + ATTRIBUTION_WINDOW
    if short and _earliest(touches, order.placed_at, ATTRIBUTION_WINDOW) == campaign_id:
        row.orders_placed += 1
        if order.paid:
            row.orders_paid += 1
            row.gmv += amount or Decimal("0")
    if _earliest(touches, order.placed_at, LONG_WINDOW) == campaign_id:
        row.orders_placed_7d += 1
        if order.paid:
            row.orders_paid_7d += 1
            if amount is None:
                row.unconverted_orders += 1
            else:
                row.gmv_7d += amount


@dataclass(frozen=True)
class ABComparison:
    language: str
    measure: str  # "replied" or "orders_paid", per message sent
    rate_a: float
    rate_b: float
    difference: float  # rate_b - rate_a
    z: float
    more_than_noise: bool  # |z| > 1.96: a difference this large by chance under 5 % of the time


def compare_rates(
    *, language: str, measure: str, hits_a: int, n_a: int, hits_b: int, n_b: int
) -> ABComparison:
    """Two-proportion z-test of B's rate against A's (both n above zero): campaigns per
    language and measure, consultation invitations per measure."""
    rate_a, rate_b = hits_a / n_a, hits_b / n_b
    pooled = (hits_a + hits_b) / (n_a + n_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    z = (rate_b - rate_a) / spread if spread else 0.0
    return ABComparison(language, measure, rate_a, rate_b, rate_b - rate_a, z, abs(z) > 1.96)


def ab_comparisons(results: list[VariantResult]) -> list[ABComparison]:
    """Variant B against A, per language that has both, per message sent."""
    by_lang: dict[str, dict[str, VariantResult]] = defaultdict(dict)
    for r in results:
        by_lang[r.language][r.variant] = r
    out = []
    for lang, pair in sorted(by_lang.items()):
        a, b = pair.get("A"), pair.get("B")
        if a is None or b is None or not a.sent or not b.sent:
            continue
        for measure in ("replied", "orders_paid"):
            out.append(
                compare_rates(
                    language=lang,
                    measure=measure,
                    hits_a=getattr(a, measure),
                    n_a=a.sent,
                    hits_b=getattr(b, measure),
                    n_b=b.sent,
                )
            )
    return out
