"""A keyword rule's coupon as the buyer reads it (R-08): an offer in the buyer's language.

The marketplace and the widget get both the readable text and the structured fields, so a
channel that can draw a coupon draws it and any other shows the sentences.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.utils import formats, translation
from django.utils.translation import pgettext

from kefu.automation.models import AutomationSettings, ScriptLanguage

PERCENT = "%"  # in `coupon_currency`: the value is a percentage off, not an amount
BUYER_LANGUAGES: tuple[str, ...] = tuple(ScriptLanguage.values)


def buyer_facing_language(language: str, conf: AutomationSettings) -> str:
    """One of the four buyer languages: the buyer's own when it is one, else the shop's
    default (the first language it serves), else English."""
    code = language.strip().lower()
    code = "zh-hans" if code.startswith("zh") else code[:2]
    if code in BUYER_LANGUAGES:
        return code
    served = conf.language_list()
    return served[0] if served else "en"


@dataclass(frozen=True)
class CouponOffer:
    text: str
    fields: dict[str, Any]


def _amount(value: Decimal, currency: str) -> str:
    number = formats.number_format(value, decimal_pos=2, use_l10n=True)
    return f"{number} {currency}"


def _percent(value: Decimal) -> str:
    # 10.00 reads "10%", 12.50 reads "12.5%" (12,5% in Russian and Spanish).
    shown = value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()
    number = formats.number_format(shown, use_l10n=True)
    return f"{number}%"


def coupon_offer(
    *,
    code: str,
    value: Decimal,
    currency: str,
    valid_until: dt.date | None,
    min_spend: Decimal | None,
    shop_currency: str,
    shop_timezone: str,
    language: str,
) -> CouponOffer:
    """The offer in `language` (one of BUYER_LANGUAGES). `valid_until` is the last day, in
    the shop's time zone: the coupon ends at the end of that day there (rules saved before
    the last day was required may have none)."""
    is_percent = currency == PERCENT
    spend_currency = shop_currency if is_percent else currency
    ends = None
    if valid_until is not None:
        ends = dt.datetime.combine(
            valid_until, dt.time(23, 59, 59), tzinfo=zoneinfo.ZoneInfo(shop_timezone)
        )
    with translation.override(language):
        value_label = _percent(value) if is_percent else _amount(value, currency)
        day = formats.date_format(valid_until, "DATE_FORMAT") if valid_until else ""
        lines = [
            pgettext("buyer", "A coupon for you: %(value)s off your order.")
            % {"value": value_label}
        ]
        spend_label = ""
        if min_spend is not None:
            spend_label = _amount(min_spend, spend_currency)
            lines.append(
                pgettext("buyer", "For orders of %(amount)s or more.") % {"amount": spend_label}
            )
        if ends is not None:
            offset = ends.strftime("%z")
            lines.append(
                pgettext("buyer", "Valid until %(day)s, 23:59 (%(zone)s).")
                % {"day": day, "zone": f"UTC{offset[:3]}:{offset[3:]}"}
            )
        lines.append(
            pgettext("buyer", "To use it, enter the code %(code)s at checkout.") % {"code": code}
        )
        heading = pgettext("buyer", "Coupon")
    fields: dict[str, Any] = {
        "code": code,
        "kind": "percent" if is_percent else "amount",
        "value": str(value),
        "currency": None if is_percent else currency,
        "min_spend": str(min_spend) if min_spend is not None else None,
        "min_spend_currency": spend_currency if min_spend is not None else None,
        "valid_until": valid_until.isoformat() if valid_until else None,
        "valid_until_end": ends.isoformat() if ends else None,
        "time_zone": shop_timezone,
        "language": language,
        "display": {
            "heading": heading,
            "value": value_label,
            "min_spend": spend_label,
            "valid_until": day,
            "lines": lines,
        },
    }
    return CouponOffer(text="\n".join(lines), fields=fields)
