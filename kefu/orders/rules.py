"""Pure rules: the late-shipment penalty (R-17), quiet hours, ship-by promises, carrier links,
the address-change phrases (R-20)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from kefu.accounts.models import Platform

CENT = Decimal("0.01")


@dataclass(frozen=True)
class PenaltyRule:
    """Late shipment costs `rate` of the amount actually paid, at most `cap` (in `cap_currency`).

    A cap in another currency than the order's is not converted (Kefu keeps no FX rates): the
    uncapped amount is shown, which overstates rather than hides the exposure.
    """

    rate: Decimal
    cap: Decimal | None
    cap_currency: str


# Tmall's published rule: 30 % of the actual amount, at most 500 yuan, paid as points.
# Other platforms have their own rules; the shop sets rate and cap in its order settings.
PLATFORM_PENALTY_RULES: dict[str, PenaltyRule] = {
    Platform.TMALL: PenaltyRule(Decimal("0.30"), Decimal("500"), "CNY"),
    Platform.TAOBAO: PenaltyRule(Decimal("0.30"), Decimal("500"), "CNY"),
    Platform.ALIEXPRESS: PenaltyRule(Decimal("0.30"), None, "CNY"),
    Platform.GENERIC: PenaltyRule(Decimal("0.30"), None, "CNY"),
}


def late_shipment_penalty(*, amount: Decimal, currency: str, rule: PenaltyRule) -> Decimal:
    penalty = (amount * rule.rate).quantize(CENT, rounding=ROUND_HALF_UP)
    if rule.cap is not None and currency.upper() == rule.cap_currency.upper():
        penalty = min(penalty, rule.cap)
    return max(penalty, Decimal("0"))


def in_quiet_hours(
    *, moment: dt.datetime, timezone_name: str, start: dt.time, end: dt.time
) -> bool:
    """Whether `moment` falls in [start, end) of the given zone; the window may span midnight."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    local = moment.astimezone(zoneinfo.ZoneInfo(timezone_name)).time()
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def ship_by_for(*, paid_at: dt.datetime, hours: int) -> dt.datetime:
    return paid_at + dt.timedelta(hours=hours)


def tracking_url(*, templates: dict[str, str], carrier: str, number: str) -> str:
    """The tracking page for a parcel from the shop's templates ("...{number}"), or ""."""
    wanted = carrier.strip().casefold()
    for name, template in templates.items():
        if name.strip().casefold() == wanted and "{number}" in template:
            return template.replace("{number}", number)
    fallback = templates.get("*", "")
    return fallback.replace("{number}", number) if "{number}" in fallback else ""


# Buyer notes that ask for a new address; matched on normalised text.
ADDRESS_CHANGE_PHRASES = (
    "改地址",
    "修改地址",
    "地址改",
    "换地址",
    "新地址",
    "地址写错",
    "change address",
    "address change",
    "new address",
    "wrong address",
    "изменить адрес",
    "cambiar dirección",
    "cambiar la dirección",
)
