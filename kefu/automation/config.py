"""The owner's automation settings: reply switches and texts, languages, business hours."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.automation.business_hours import Interval
from kefu.automation.models import AutomationSettings, BusinessHours, Holiday, ScriptLanguage
from kefu.automation.saved_texts import guard_saved_texts

log = logging.getLogger("kefu.automation")


@dataclass(frozen=True)
class HolidayInput:
    day: dt.date
    name: str = ""


@dataclass(frozen=True)
class BusinessHoursInput:
    """A whole weekly schedule (shop-local times) and holiday list, as one form holds them."""

    intervals: list[Interval]
    holidays: list[HolidayInput]


def settings_for_update(shop: Shop) -> AutomationSettings:
    """The shop's stored settings row, created on the first write (reads use
    `selectors.settings_of`, which never creates it)."""
    obj, _created = AutomationSettings.objects.get_or_create(shop=shop)
    return obj


def _clean_translations(raw: dict[str, str] | None, label: str) -> dict[str, str] | None:
    if raw is None:
        return None
    cleaned = {}
    for code, text in raw.items():
        if code not in ScriptLanguage.values:
            raise ValidationError(
                _("the %(label)s text has an unknown language %(code)r; use one of %(known)s")
                % {"label": label, "code": code, "known": ", ".join(ScriptLanguage.values)},
                code="languages",
            )
        if len(text.strip()) > 2000:
            raise ValidationError(
                _("the %(label)s text (%(code)s) is at most 2000 characters")
                % {"label": label, "code": code},
                code="too_long",
            )
        if text.strip():
            cleaned[code] = text.strip()
    return cleaned


def update_automation_settings(
    *,
    actor: User,
    welcome_enabled: bool,
    welcome_text: str,
    out_of_hours_enabled: bool,
    out_of_hours_text: str,
    agent_quiet_minutes: int,
    keyword_replies_enabled: bool,
    suggestions_enabled: bool = True,
    languages: list[str] | None = None,
    welcome_translations: dict[str, str] | None = None,
    out_of_hours_translations: dict[str, str] | None = None,
    hours: BusinessHoursInput | None = None,
) -> AutomationSettings:
    """The owner's switches (R-07, R-09). A reply with empty text is off whatever its switch.

    The translations map a buyer language to its own text; None keeps the stored ones.
    `hours`, when given, replaces the business hours in the same transaction: everything is
    checked before anything is written, so a refusal of either saves neither."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    if hours is not None:
        _check_hours(hours.intervals, hours.holidays)
    if not 0 <= agent_quiet_minutes <= 24 * 60:
        raise ValidationError(_("the quiet period is 0 to 1440 minutes"), code="quiet_minutes")
    for label, text in ((_("welcome"), welcome_text), (_("out-of-hours"), out_of_hours_text)):
        if len(text.strip()) > 2000:
            raise ValidationError(
                _("the %(label)s text is at most 2000 characters") % {"label": label},
                code="too_long",
            )
    welcome_by_language = _clean_translations(welcome_translations, _("welcome"))
    out_of_hours_by_language = _clean_translations(out_of_hours_translations, _("out-of-hours"))
    chosen = languages
    if chosen is not None:
        unknown = [c for c in chosen if c not in ScriptLanguage.values]
        if unknown or not chosen:
            raise ValidationError(
                _("languages must be some of %(known)s")
                % {"known": ", ".join(ScriptLanguage.values)},
                code="languages",
            )
    # Last: the rule check records its findings, so it only runs for an otherwise valid form.
    guard_saved_texts(
        actor=actor,
        texts=[
            ("welcome", welcome_text),
            ("out-of-hours", out_of_hours_text),
            *((f"welcome ({code})", t) for code, t in (welcome_by_language or {}).items()),
            *(
                (f"out-of-hours ({code})", t)
                for code, t in (out_of_hours_by_language or {}).items()
            ),
        ],
        source="welcome",
    )
    with transaction.atomic():
        conf = settings_for_update(shop)
        conf.welcome_enabled = welcome_enabled
        conf.welcome_text = welcome_text.strip()
        conf.out_of_hours_enabled = out_of_hours_enabled
        conf.out_of_hours_text = out_of_hours_text.strip()
        if welcome_by_language is not None:
            conf.welcome_translations = welcome_by_language
        if out_of_hours_by_language is not None:
            conf.out_of_hours_translations = out_of_hours_by_language
        conf.agent_quiet_minutes = agent_quiet_minutes
        conf.keyword_replies_enabled = keyword_replies_enabled
        conf.suggestions_enabled = suggestions_enabled
        if chosen is not None:
            conf.languages = ",".join(c for c in ScriptLanguage.values if c in chosen)
        conf.save()
        if hours is not None:
            _write_hours(shop, hours.intervals, hours.holidays)
    log.info("automation.settings_updated shop=%s actor=%s", shop.pk, actor.pk)
    return conf


def _check_hours(intervals: list[Interval], holidays: list[HolidayInput]) -> None:
    for iv in intervals:
        if not 0 <= iv.weekday <= 6:
            raise ValidationError(_("weekday is 0 (Monday) to 6 (Sunday)"), code="weekday")
        if iv.closes <= iv.opens:
            raise ValidationError(
                _("closing time %(closes)s must be after opening time %(opens)s")
                % {"closes": f"{iv.closes:%H:%M}", "opens": f"{iv.opens:%H:%M}"},
                code="hours_order",
            )
    by_day: dict[int, list[Interval]] = {}
    for iv in sorted(intervals, key=lambda i: (i.weekday, i.opens)):
        same_day = by_day.setdefault(iv.weekday, [])
        if same_day and same_day[-1].closes > iv.opens:
            raise ValidationError(_("opening intervals of one day overlap"), code="overlap")
        same_day.append(iv)
    days = [h.day for h in holidays]
    if len(days) != len(set(days)):
        raise ValidationError(_("a holiday is listed twice"), code="holiday_twice")


def _write_hours(shop: Shop, intervals: list[Interval], holidays: list[HolidayInput]) -> None:
    BusinessHours.objects.filter(shop=shop).delete()
    BusinessHours.objects.bulk_create(
        BusinessHours(shop=shop, weekday=iv.weekday, opens=iv.opens, closes=iv.closes)
        for iv in intervals
    )
    Holiday.objects.filter(shop=shop).delete()
    Holiday.objects.bulk_create(
        Holiday(shop=shop, day=h.day, name=h.name.strip()[:80]) for h in holidays
    )


def set_business_hours(
    *, actor: User, intervals: list[Interval], holidays: list[HolidayInput]
) -> None:
    """Replace the weekly schedule (shop-local times) and the holiday list."""
    require(actor, Capability.MANAGE_SETTINGS)
    shop = shop_of(actor)
    _check_hours(intervals, holidays)
    with transaction.atomic():
        _write_hours(shop, intervals, holidays)
