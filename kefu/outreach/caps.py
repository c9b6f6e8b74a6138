"""The marketplace's caps on unprompted messages (R-37): the owner copies them from the
marketplace's rules, per platform; campaign sending never goes past the lower of a campaign's
throttle and the cap of the shop's platform, per minute and per the shop's calendar day."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Platform, Shop, User
from kefu.accounts.scoping import shop_of
from kefu.outreach.models import MarketplaceCap, Recipient

MAX_CAP = 1_000_000


def set_marketplace_cap(
    *, actor: User, platform: str, per_minute: int | None, per_day: int | None
) -> MarketplaceCap:
    """Only the main account sets what the marketplace allows (it answers for the account)."""
    shop = shop_of(actor)
    if not actor.is_owner:
        raise PermissionDenied("only the main account sets the marketplace's caps")
    if platform not in Platform.values:
        raise ValidationError(_("Unknown marketplace."), code="platform")
    for value in (per_minute, per_day):
        if value is not None and not (1 <= value <= MAX_CAP):
            raise ValidationError(
                _("A cap is a whole number from 1 to %(max)s, or empty for none.")
                % {"max": MAX_CAP},
                code="cap",
            )
    cap, _created = MarketplaceCap.objects.update_or_create(
        shop=shop,
        platform=platform,
        defaults={"per_minute": per_minute, "per_day": per_day, "updated_at": timezone.now()},
    )
    return cap


def marketplace_caps(*, shop: Shop) -> list[MarketplaceCap]:
    return list(MarketplaceCap.objects.filter(shop=shop).order_by("platform"))


def _day_start(shop: Shop, now: dt.datetime) -> dt.datetime:
    local = now.astimezone(ZoneInfo(shop.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def send_budget(*, shop: Shop, per_minute: int, now: dt.datetime) -> int:
    """How many campaign messages the shop may send now: the campaign's throttle, lowered to
    the marketplace's per-minute cap, less what every campaign of the shop sent in the last
    minute; and never past what the per-day cap leaves of the shop's day."""
    sent = Recipient.objects.filter(shop=shop, message__isnull=False)
    cap = MarketplaceCap.objects.filter(shop=shop, platform=shop.platform).first()
    limit = per_minute
    if cap is not None and cap.per_minute is not None:
        limit = min(limit, cap.per_minute)
    budget = limit - sent.filter(sent_at__gt=now - dt.timedelta(minutes=1)).count()
    if cap is not None and cap.per_day is not None:
        today = sent.filter(sent_at__gte=_day_start(shop, now), sent_at__lte=now).count()
        budget = min(budget, cap.per_day - today)
    return max(budget, 0)
