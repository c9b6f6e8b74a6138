"""A shop's order and logistics settings: the stored values or the platform's defaults, and
the one write that changes them (checked against the bounds a seller could mean)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext, gettext_lazy

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.orders.models import OrderSettings, ShipByPolicy
from kefu.orders.rules import PLATFORM_PENALTY_RULES, PenaltyRule


def default_order_settings(*, shop: Shop) -> OrderSettings:
    """The platform's defaults for the shop, unsaved."""
    rule = PLATFORM_PENALTY_RULES.get(shop.platform, PLATFORM_PENALTY_RULES["generic"])
    return OrderSettings(
        shop=shop,
        penalty_rate=rule.rate,
        penalty_cap=rule.cap,
        penalty_cap_currency=rule.cap_currency,
        ship_by_hours=72,
    )


def order_settings(*, shop: Shop) -> OrderSettings:
    """The shop's settings; until the shop changes one, its defaults as an unsaved instance
    (reading never writes a row)."""
    found = OrderSettings.objects.filter(shop=shop).first()
    return found if found is not None else default_order_settings(shop=shop)


def penalty_rule(settings_: OrderSettings) -> PenaltyRule:
    return PenaltyRule(
        settings_.penalty_rate, settings_.penalty_cap, settings_.penalty_cap_currency
    )


def update_order_settings(*, actor: User, shop: Shop, **values: Any) -> OrderSettings:
    """Change some of the shop's logistics settings; on a refusal nothing is saved.

    The first change stores the row; a concurrent first change makes this one's insert fail,
    and it is applied again to the row the other stored.
    """
    require(actor, Capability.MANAGE_SETTINGS)
    if actor.shop_id != shop.pk:
        raise PermissionDenied("not your shop")
    allowed = {f.name for f in OrderSettings._meta.concrete_fields} - {"id", "shop"}
    unknown = set(values) - allowed
    if unknown:
        raise ValidationError(f"unknown settings: {', '.join(sorted(unknown))}")
    if "tracking_url_templates" in values:
        values["tracking_url_templates"] = clean_tracking_templates(
            values["tracking_url_templates"]
        )
    if "refund_days" in values:
        values["refund_days"] = clean_refund_days(values["refund_days"])
    if values.get("penalty_cap_currency"):
        values["penalty_cap_currency"] = str(values["penalty_cap_currency"]).strip().upper()
    for attempt in range(2):
        try:
            with transaction.atomic():
                current = OrderSettings.objects.select_for_update().filter(
                    shop=shop
                ).first() or default_order_settings(shop=shop)
                for name, value in values.items():
                    setattr(current, name, value)
                problems = _settings_problems(current)
                if problems:
                    raise ValidationError(problems)
                # Uniqueness is the database's to enforce: a concurrent first change is retried.
                current.full_clean(validate_unique=False)
                current.save()
                return current
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


# Bounds a seller could mean; outside them a typo (minutes typed as hours, 30 for 0.30).
SETTING_BOUNDS: dict[str, tuple[Any, int, int]] = {
    "payment_reminder_delay_minutes": (
        gettext_lazy("The reminder delay (minutes)"),
        5,
        7 * 24 * 60,
    ),
    "payment_reminder_max_age_hours": (
        gettext_lazy("The reminder age limit (hours)"),
        1,
        30 * 24,
    ),
    "risk_window_hours": (gettext_lazy("The risk board window (hours)"), 1, 72),
    "stall_days": (gettext_lazy("Days without news before a parcel is stalled"), 1, 60),
}
MAX_CARRIER_TEMPLATES = 50


def _settings_problems(current: OrderSettings) -> list[str]:
    problems = []
    for name, (label, low, high) in SETTING_BOUNDS.items():
        value = getattr(current, name)
        if not isinstance(value, int) or not low <= value <= high:
            problems.append(
                gettext("%(label)s must be a whole number from %(low)s to %(high)s.")
                % {"label": label, "low": low, "high": high}
            )
    if current.payment_reminder_max_age_hours * 60 <= current.payment_reminder_delay_minutes:
        problems.append(
            gettext(
                "Reminders stop for orders older than the age limit, "
                "so the limit must be longer than the delay."
            )
        )
    if current.ship_by_hours not in ShipByPolicy.values:
        problems.append(gettext("The shipping promise is 24 or 72 hours after payment."))
    rate = Decimal(str(current.penalty_rate))
    if not Decimal("0") <= rate <= Decimal("1"):
        problems.append(gettext("The penalty rate is a share from 0 to 1 (0.30 is 30 %)."))
    if current.penalty_cap is not None and Decimal(str(current.penalty_cap)) < 0:
        problems.append(gettext("The penalty cap cannot be negative."))
    currency = current.penalty_cap_currency or ""
    if len(currency) != 3 or not currency.isalpha() or not currency.isascii():
        problems.append(gettext("The cap currency is a three-letter code such as CNY."))
    return problems


_REFUND_DAYS = re.compile(r"^\s*(\d{1,3})\s*(?:[-–—~～至到]\s*(\d{1,3}))?\s*$")
MAX_REFUND_DAYS = 180


def clean_refund_days(raw: object) -> str:
    """ "3-20", "3 – 20" or "7" → "3–20" or "7": business days, at most 180."""
    found = _REFUND_DAYS.match(str(raw))
    low = int(found.group(1)) if found else 0
    high = int(found.group(2)) if found and found.group(2) else low
    if not found or not 1 <= low <= high <= MAX_REFUND_DAYS:
        raise ValidationError(
            gettext(
                "The refund time is a number of business days or a range such as 3–20, "
                "from 1 to %(high)s."
            )
            % {"high": MAX_REFUND_DAYS}
        )
    return str(low) if low == high else f"{low}–{high}"


def clean_tracking_templates(raw: Any) -> dict[str, str]:
    """Carrier name → tracking page with `{number}`; names are kept as typed, matched later
    case-insensitively, so two spellings of one carrier are one entry."""
    if not isinstance(raw, dict):
        raise ValidationError(gettext("Tracking links are a list of carrier and link pairs."))
    if len(raw) > MAX_CARRIER_TEMPLATES:
        raise ValidationError(
            gettext("At most %(count)s carriers have a tracking link.")
            % {"count": MAX_CARRIER_TEMPLATES}
        )
    cleaned: dict[str, str] = {}
    seen: set[str] = set()
    for name, template in raw.items():
        carrier = str(name).strip()
        link = str(template).strip()
        if not carrier or len(carrier) > 80:
            raise ValidationError(gettext("A carrier name is 1 to 80 characters."))
        if carrier.casefold() in seen:
            raise ValidationError(
                gettext("%(carrier)s has two tracking links; keep one.") % {"carrier": carrier}
            )
        seen.add(carrier.casefold())
        if (
            not link.startswith(("https://", "http://"))
            or "{number}" not in link
            or len(link) > 500
            or any(c.isspace() for c in link)
        ):
            raise ValidationError(
                gettext(
                    "The tracking link of %(carrier)s must start with https:// and contain "
                    "{number} where the tracking number goes."
                )
                % {"carrier": carrier}
            )
        cleaned[carrier] = link
    return cleaned
