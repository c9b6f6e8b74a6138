"""The shop's after-sale settings and its cause taxonomy, with their defaults.

Reading never writes: a shop that never saved its settings or edited its causes reads the
defaults below, and the first save stores them (a GET never writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.functional import Promise as LazyText
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kefu.accounts.models import Platform, Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.care.models import CareSettings, ComplaintCause

# The seeds' causes (R-31), in the order the complaint form lists them.
DEFAULT_CAUSES: tuple[tuple[str, LazyText], ...] = (
    ("quality", _("Quality 质量问题")),
    ("wrong_item", _("Wrong item 发错货")),
    ("logistics_delay", _("Logistics delay 物流延误")),
    ("damaged", _("Damaged in transit 运输破损")),
    ("customs", _("Customs or duty 关税清关")),
    ("description", _("Not as described 描述不符")),
    ("attitude", _("Service attitude 服务态度")),
    ("price", _("Price 价格")),
    ("other", pgettext_lazy("complaint cause", "Other 其他")),
)

# Hours a marketplace gives the seller to answer a dispute before it decides for the buyer.
# AliExpress: 5 days; Tmall and Taobao: 48 h for a refund request; elsewhere three days.
DEFAULT_DISPUTE_HOURS: dict[str, int] = {
    Platform.ALIEXPRESS: 120,
    Platform.TMALL: 48,
    Platform.TAOBAO: 48,
    Platform.GENERIC: 72,
}


def care_settings(*, shop: Shop) -> CareSettings:
    """The shop's saved settings, or the defaults unsaved."""
    found = CareSettings.objects.filter(shop=shop).first()
    return found if found is not None else CareSettings(shop=shop)


def dispute_hours(settings_: CareSettings, platform: str) -> int:
    saved = settings_.dispute_hours or {}
    value = saved.get(platform)
    if isinstance(value, int) and value > 0:
        return value
    return DEFAULT_DISPUTE_HOURS.get(platform, DEFAULT_DISPUTE_HOURS[Platform.GENERIC])


@dataclass(frozen=True)
class Cause:
    code: str
    label: str
    active: bool = True


def causes_of(shop: Shop, *, include_retired: bool = False) -> list[Cause]:
    """The shop's causes in their order; the default list until the owner edits it."""
    rows = list(ComplaintCause.objects.filter(shop=shop))
    if not rows:
        return [Cause(code, str(label)) for code, label in DEFAULT_CAUSES]
    return [Cause(r.code, r.label, r.active) for r in rows if include_retired or r.active]


def cause_labels(shop: Shop) -> dict[str, str]:
    """Every code the shop ever used, retired ones included, to its label."""
    return {c.code: c.label for c in causes_of(shop, include_retired=True)}


@dataclass(frozen=True)
class SettingsInput:
    dispute_hours: dict[str, int]
    remind_hours_before: int
    surge_factor: Decimal
    surge_min_count: int
    promise_due_soon_hours: int


def save_care_settings(*, actor: User, data: SettingsInput) -> CareSettings:
    require(actor, Capability.MANAGE_SETTINGS)
    shop = actor.shop
    assert shop is not None  # noqa: S101 - require() checked the login has a shop
    for platform, hours in data.dispute_hours.items():
        if platform not in Platform.values:
            raise ValidationError(f"unknown platform {platform}", code="platform")
        if not 1 <= hours <= 24 * 60:
            raise ValidationError("a dispute deadline is 1 to 1440 hours", code="hours")
    if not 0 <= data.remind_hours_before <= 24 * 14:
        raise ValidationError("remind 0 to 336 hours before the deadline", code="remind")
    if not Decimal("1") < data.surge_factor <= Decimal("100"):
        raise ValidationError("the surge factor is more than 1 and at most 100", code="factor")
    if not 1 <= data.surge_min_count <= 10_000:
        raise ValidationError("a surge needs at least 1 complaint", code="min_count")
    if not 1 <= data.promise_due_soon_hours <= 24 * 14:
        raise ValidationError("due soon is 1 to 336 hours", code="due_soon")
    row, _created = CareSettings.objects.update_or_create(
        shop=shop,
        defaults={
            "dispute_hours": dict(data.dispute_hours),
            "remind_hours_before": data.remind_hours_before,
            "surge_factor": data.surge_factor,
            "surge_min_count": data.surge_min_count,
            "promise_due_soon_hours": data.promise_due_soon_hours,
        },
    )
    return row


def save_causes(*, actor: User, labels: list[str], retired: set[str] | None = None) -> list[Cause]:
    """Store the shop's cause list: `labels` in order (existing codes keep their complaints;
    a new label gets a new code); codes in `retired` or left out are kept but hidden."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = actor.shop
    assert shop is not None  # noqa: S101 - require() checked the login has a shop
    retired = retired or set()
    cleaned = [label.strip() for label in labels if label.strip()]
    if not cleaned:
        raise ValidationError("keep at least one cause", code="causes")
    if any(len(label) > 80 for label in cleaned):
        raise ValidationError("a cause is at most 80 characters", code="causes")
    if len({c.casefold() for c in cleaned}) != len(cleaned):
        raise ValidationError("two causes have the same name", code="causes")
    with transaction.atomic():
        current = causes_of(shop, include_retired=True)
        by_label = {c.label.casefold(): c.code for c in current}
        codes_taken = {c.code for c in current}
        ComplaintCause.objects.filter(shop=shop).delete()
        rows: list[ComplaintCause] = []
        seen: set[str] = set()
        for position, label in enumerate(cleaned):
            code = by_label.get(label.casefold())
            if code is None:
                base = slugify(label, allow_unicode=False)[:30] or "cause"
                code, n = base, 1
                while code in codes_taken:
                    n += 1
                    code = f"{base}-{n}"
                codes_taken.add(code)
            seen.add(code)
            rows.append(
                ComplaintCause(
                    shop=shop, code=code, label=label, position=position, active=code not in retired
                )
            )
        # Causes left out stay as retired rows: old complaints still show their label.
        for c in current:
            if c.code not in seen:
                rows.append(
                    ComplaintCause(
                        shop=shop, code=c.code, label=c.label, position=len(rows), active=False
                    )
                )
        ComplaintCause.objects.bulk_create(rows)
    return causes_of(shop)
