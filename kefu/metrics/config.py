"""The shop's metrics settings and the rules its figures are computed with.

Reporting currency, exchange rates and the slow-reply threshold (owner-set), plus the business
hours and holidays that business-time figures read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from kefu.accounts.models import Platform, Shop, User
from kefu.automation.models import BusinessHours, Holiday
from kefu.metrics.compute import Interval, ShopRules
from kefu.metrics.models import FxRate, MetricsCursor, MetricsSettings


def default_reporting_currency(shop: Shop) -> str:
    """USD for cross-border shops (AliExpress), the shop's own currency otherwise."""
    return "USD" if shop.platform == Platform.ALIEXPRESS else shop.currency.upper()


def _defaults(shop: Shop) -> dict[str, str]:
    return {"reporting_currency": default_reporting_currency(shop)}


def metrics_settings(*, shop: Shop) -> MetricsSettings:
    """The shop's settings; a shop that never saved any gets the defaults, unsaved.

    A read never writes: the row is created by the first `set_reporting`."""
    found = MetricsSettings.objects.filter(shop=shop).first()
    return found if found is not None else MetricsSettings(shop=shop, **_defaults(shop))


def shop_rules(*, shop: Shop) -> ShopRules:
    ms = metrics_settings(shop=shop)
    rates = {r.currency.upper(): r.rate for r in FxRate.objects.filter(shop=shop)}
    schedule = tuple(
        Interval(h.weekday, h.opens, h.closes) for h in BusinessHours.objects.filter(shop=shop)
    )
    holidays: frozenset[dt.date] = frozenset(
        Holiday.objects.filter(shop=shop).values_list("day", flat=True)
    )
    return ShopRules(
        tz=shop.timezone,
        reporting_currency=ms.reporting_currency,
        rates=rates,
        schedule=schedule,
        holidays=holidays,
    )


# Bumped when the figures' definitions or counters change, so every shop is rebuilt once.
DEFINITIONS_VERSION = 2


def rules_fingerprint(rules: ShopRules) -> str:
    """Changes when a figure's inputs other than rows change (rates, hours, time zone) or the
    definitions do (`DEFINITIONS_VERSION`)."""
    doc = {
        "v": DEFINITIONS_VERSION,
        "tz": rules.tz,
        "cur": rules.reporting_currency,
        "rates": sorted((k, str(v)) for k, v in rules.rates.items()),
        "hours": sorted((i.weekday, str(i.opens), str(i.closes)) for i in rules.schedule),
        "holidays": sorted(str(d) for d in rules.holidays),
    }
    return hashlib.sha256(json.dumps(doc).encode()).hexdigest()[:32]


def _require_owner(actor: User, shop: Shop) -> None:
    if not actor.is_owner or actor.shop_id != shop.pk:
        raise PermissionDenied("only the main account changes metrics settings")


def set_reporting(
    *,
    actor: User,
    reporting_currency: str | None = None,
    rates: dict[str, Decimal] | None = None,
    slow_reply_minutes: int | None = None,
) -> MetricsSettings:
    """Set the reporting currency, exchange rates and/or the slow-reply threshold.

    The first call creates the shop's settings row. Changing the currency or a rate changes
    past GMV: the shop is marked for a rebuild, which the next refresh run performs."""
    shop = actor.shop
    if shop is None:
        raise PermissionDenied("no shop")
    _require_owner(actor, shop)
    with transaction.atomic():
        ms, _ = MetricsSettings.objects.select_for_update().get_or_create(
            shop=shop, defaults=_defaults(shop)
        )
        if reporting_currency is not None:
            code = reporting_currency.strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise ValidationError("a currency is a 3-letter code", code="currency")
            ms.reporting_currency = code
        if slow_reply_minutes is not None:
            if not 1 <= slow_reply_minutes <= 7 * 24 * 60:
                raise ValidationError("the threshold is 1 minute to 7 days", code="threshold")
            ms.slow_reply_minutes = slow_reply_minutes
        ms.save()
        for currency, rate in (rates or {}).items():
            code = currency.strip().upper()
            if len(code) != 3 or not code.isalpha():
                raise ValidationError(f"{currency!r} is not a currency code", code="currency")
            try:
                value = Decimal(rate)
            except (InvalidOperation, TypeError) as exc:
                raise ValidationError(f"bad rate for {code}", code="rate") from exc
            if value <= 0:
                FxRate.objects.filter(shop=shop, currency=code).delete()
            else:
                FxRate.objects.update_or_create(shop=shop, currency=code, defaults={"rate": value})
        MetricsCursor.objects.get_or_create(shop=shop)
        if reporting_currency is not None or rates:
            MetricsCursor.objects.filter(shop=shop).update(needs_rebuild=True)
    return ms
