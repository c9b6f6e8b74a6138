"""Pages: switches and outcomes, welcome/out-of-hours, keyword set, script library, quick
replies. Thin: parse, authorise, call a service or selector, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.automation import selectors
from kefu.automation.business_hours import Interval
from kefu.automation.config import BusinessHoursInput, HolidayInput, update_automation_settings
from kefu.automation.keyword_rules import (
    KeywordRuleInput,
    preview_keyword_rules,
    save_keyword_rules,
)
from kefu.automation.models import (
    MAX_ACTIVE_RULES,
    Holiday,
    ReplyType,
    ScriptLanguage,
    ScriptStage,
)
from kefu.automation.quick_replies import create_quick_reply, delete_quick_reply
from kefu.automation.scripts import ScriptInput, create_script, set_script_active, update_script
from kefu.automation.suggest import ORDER_STATES

WEEKDAYS = ["Mon 周一", "Tue 周二", "Wed 周三", "Thu 周四", "Fri 周五", "Sat 周六", "Sun 周日"]
RULE_ROWS = 12


# ------------------------------------------------------------------ overview


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_GET
def overview(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    days = 30
    conf = selectors.settings_of(shop)
    live_rules = [r for r in selectors.live_keyword_rules(shop) if r.is_active]
    switches = [
        (
            _("Welcome reply 欢迎语"),
            conf.welcome_enabled and bool(conf.welcome_text.strip()),
            reverse("automation:auto_replies"),
        ),
        (
            _("Out-of-hours reply 非工作时间回复"),
            conf.out_of_hours_enabled
            and bool(conf.out_of_hours_text.strip())
            and bool(selectors.schedule_of(shop)),
            reverse("automation:auto_replies"),
        ),
        (
            _("Keyword replies 关键词回复"),
            conf.keyword_replies_enabled and len(live_rules) >= 3,
            reverse("automation:keywords"),
        ),
        (_("Script suggestions 话术推荐"), conf.suggestions_enabled, reverse("automation:scripts")),
    ]
    report = selectors.automation_report(shop=shop, since=timezone.now() - dt.timedelta(days=days))
    return render(
        request,
        "automation/overview.html",
        {
            "switches": switches,
            "report": report,
            "days": days,
            "rule_count": len(live_rules),
        },
    )


# ------------------------------------------------------------------ welcome and hours


def _parse_hours(request: HttpRequest) -> list[Interval]:
    intervals = []
    for day in range(7):
        opens, closes = request.POST.get(f"opens_{day}", ""), request.POST.get(f"closes_{day}", "")
        if not opens and not closes:
            continue
        try:
            intervals.append(
                Interval(day, dt.time.fromisoformat(opens), dt.time.fromisoformat(closes))
            )
        except ValueError as exc:
            raise ValidationError(
                _("%(day)s: times look like 09:00") % {"day": WEEKDAYS[day]}
            ) from exc
    return intervals


def _parse_holidays(text: str) -> list[HolidayInput]:
    holidays = []
    for line in text.splitlines():
        if not line.strip():
            continue
        day, _sep, name = line.strip().partition(" ")
        try:
            holidays.append(HolidayInput(day=dt.date.fromisoformat(day), name=name))
        except ValueError as exc:
            raise ValidationError(_("holidays are lines like 2026-10-01 National Day")) from exc
    return holidays


def _per_language(request: HttpRequest, field: str) -> dict[str, str]:
    """`welcome_text_ru`, `welcome_text_es`...: one optional text per buyer language."""
    return {code: request.POST.get(f"{field}_{code}", "") for code in ScriptLanguage.values}


@shop_view(post_capability=Capability.MANAGE_SETTINGS)  # before parsing: 403 wins over 400
@require_http_methods(["GET", "POST"])
def auto_replies(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    can_edit = has_capability(user, Capability.MANAGE_SETTINGS)
    errors: list[str] = []
    if request.method == "POST":
        try:
            # Parsed and checked whole before anything is written: a refusal saves nothing.
            schedule = BusinessHoursInput(
                intervals=_parse_hours(request),
                holidays=_parse_holidays(request.POST.get("holidays", "")),
            )
            update_automation_settings(
                actor=user,
                welcome_enabled=bool(request.POST.get("welcome_enabled")),
                welcome_text=request.POST.get("welcome_text", ""),
                out_of_hours_enabled=bool(request.POST.get("out_of_hours_enabled")),
                out_of_hours_text=request.POST.get("out_of_hours_text", ""),
                agent_quiet_minutes=int(request.POST.get("agent_quiet_minutes") or 0),
                keyword_replies_enabled=bool(request.POST.get("keyword_replies_enabled")),
                suggestions_enabled=bool(request.POST.get("suggestions_enabled")),
                languages=request.POST.getlist("languages"),
                welcome_translations=_per_language(request, "welcome_text"),
                out_of_hours_translations=_per_language(request, "out_of_hours_text"),
                hours=schedule,
            )
            messages.success(request, _("Automatic replies saved."))
            return redirect("automation:auto_replies")
        except ValidationError as exc:
            errors = exc.messages
        except ValueError:
            errors = [_("The quiet period is a number of minutes.")]
    conf = selectors.settings_of(shop)
    by_day: dict[int, Interval] = {}
    for iv in selectors.schedule_of(shop):
        by_day.setdefault(iv.weekday, iv)
    hours = [(i, WEEKDAYS[i], by_day.get(i)) for i in range(7)]
    holidays = "\n".join(
        f"{h.day.isoformat()} {h.name}".strip() for h in Holiday.objects.filter(shop=shop)
    )
    return render(
        request,
        "automation/auto_replies.html",
        {
            "conf": conf,
            "hours": hours,
            "holidays": holidays,
            "can_edit": can_edit,
            "errors": errors,
            "languages": ScriptLanguage.choices,
            "chosen_languages": conf.language_list(),
            "welcome_by_language": [
                (code, label, conf.welcome_translations.get(code, ""))
                for code, label in ScriptLanguage.choices
            ],
            "out_of_hours_by_language": [
                (code, label, conf.out_of_hours_translations.get(code, ""))
                for code, label in ScriptLanguage.choices
            ],
        },
        status=400 if errors else 200,
    )


# ------------------------------------------------------------------ keyword rules


def _rules_from_post(request: HttpRequest) -> list[KeywordRuleInput]:
    rules = []
    for i in range(RULE_ROWS):
        keyword = request.POST.get(f"keyword_{i}", "")
        if not keyword.strip():
            continue
        keep = request.POST.get(f"keep_image_{i}", "")
        rules.append(
            KeywordRuleInput(
                keyword=keyword,
                reply_type=request.POST.get(f"type_{i}", ReplyType.TEXT),
                is_active=bool(request.POST.get(f"active_{i}")),
                text=request.POST.get(f"text_{i}", ""),
                image_upload=request.FILES.get(f"image_{i}"),
                keep_image_of_rule=int(keep)
                if keep.isdigit() and not request.FILES.get(f"image_{i}")
                else None,
                coupon_code=request.POST.get(f"coupon_code_{i}", ""),
                coupon_value=request.POST.get(f"coupon_value_{i}") or None,
                coupon_currency=request.POST.get(f"coupon_currency_{i}", ""),
                coupon_valid_until=_date_or_none(request.POST.get(f"coupon_valid_until_{i}", "")),
                coupon_min_spend=request.POST.get(f"coupon_min_spend_{i}") or None,
            )
        )
    return rules


def _date_or_none(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _rows_for_form(rules: list[Any]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for rule in rules:
        rows.append(
            {
                "keyword": rule.keyword,
                "type": rule.reply_type,
                "active": rule.is_active,
                "text": rule.text,
                "keep_image": getattr(rule, "pk", None)
                if getattr(rule, "image", None)
                else getattr(rule, "keep_image_of_rule", None),
                "coupon_code": rule.coupon_code,
                "coupon_value": rule.coupon_value or "",
                "coupon_currency": rule.coupon_currency,
                "coupon_valid_until": rule.coupon_valid_until or "",
                "coupon_min_spend": rule.coupon_min_spend or "",
            }
        )
    while len(rows) < RULE_ROWS:
        rows.append(
            {
                "keyword": "",
                "type": "text",
                "active": True,
                "text": "",
                "keep_image": None,
                "coupon_code": "",
                "coupon_value": "",
                "coupon_currency": "",
                "coupon_valid_until": "",
                "coupon_min_spend": "",
            }
        )
    return [{"i": i, **row} for i, row in enumerate(rows)]


SAMPLES = "有优惠券吗？\nWhen will you ship my order?\nmy tracking has not updated\n我要退款"


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def keywords(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    errors: list[str] = []
    rules_for_form: list[Any] = list(selectors.live_keyword_rules(shop))
    samples = SAMPLES
    if request.method == "POST":
        posted = _rules_from_post(request)
        samples = request.POST.get("samples", SAMPLES)
        expected = request.POST.get("version", "")
        try:
            save_keyword_rules(
                actor=user,
                rules=posted,
                expected_version=int(expected) if expected.isdigit() else None,
            )
            messages.success(request, _("The keyword set is live."))
            return redirect("automation:keywords")
        except ValidationError as exc:
            errors = exc.messages
            rules_for_form = posted
    preview = preview_keyword_rules(
        shop=shop,
        rules=[
            r
            if isinstance(r, KeywordRuleInput)
            else KeywordRuleInput(
                keyword=r.keyword,
                reply_type=r.reply_type,
                is_active=r.is_active,
                text=r.text,
                keep_image_of_rule=r.pk if r.image else None,
                coupon_code=r.coupon_code,
                coupon_value=r.coupon_value,
                coupon_currency=r.coupon_currency,
                coupon_min_spend=r.coupon_min_spend,
                coupon_valid_until=r.coupon_valid_until,
            )
            for r in rules_for_form
        ],
        samples=samples.splitlines(),
    )
    return render(
        request,
        "automation/keywords.html",
        {
            "rows": _rows_for_form(rules_for_form),
            "errors": errors,
            "preview": preview,
            "samples": samples,
            "version": selectors.keyword_set_version(shop),
            "reply_types": ReplyType.choices,
            "max_rules": MAX_ACTIVE_RULES,
            "currency": shop.currency,
        },
        status=400 if errors else 200,
    )


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_POST
def keywords_preview(request: ShopRequest) -> HttpResponse:
    """htmx: how the set being edited answers the samples; writes nothing."""
    user = request.user
    preview = preview_keyword_rules(
        shop=shop_of(user),
        rules=_rules_from_post(request),
        samples=request.POST.get("samples", "").splitlines(),
    )
    return render(request, "automation/_preview.html", {"preview": preview})


@shop_view()
@require_GET
def keyword_image(request: ShopRequest, rule_id: int) -> FileResponse:
    rule = selectors.access_keyword_rule(request.user, rule_id)
    if not rule.image:
        raise PermissionDenied("this rule has no image")
    return FileResponse(rule.image.open("rb"))


# ------------------------------------------------------------------ scripts


@shop_view()
@require_GET
def scripts(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    stage = request.GET.get("stage") or None
    topic = request.GET.get("topic") or None
    language = request.GET.get("language") or None
    query = request.GET.get("q", "").strip()[:100] or None
    retired = request.GET.get("retired") == "1"
    found = [
        script
        for script in selectors.scripts_of(
            shop, stage=stage, topic=topic, language=language, query=query, include_inactive=retired
        )
        if script.is_active != retired
    ]
    rows = []
    for script in found:
        variant = selectors.variant_for(script, language)
        rows.append({"script": script, "variant": variant})
    return render(
        request,
        "automation/scripts.html",
        {
            "rows": rows,
            "stages": ScriptStage.choices,
            "topics": selectors.topics_of(shop),
            "languages": ScriptLanguage.choices,
            "stage": stage or "",
            "topic": topic or "",
            "language": language or "",
            "q": query or "",
            "retired": retired,
            "can_edit": has_capability(user, Capability.MANAGE_SETTINGS),
        },
    )


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def script_edit(request: ShopRequest, script_id: int | None = None) -> HttpResponse:
    user = request.user
    script = selectors.access_script(user, script_id) if script_id is not None else None
    errors: list[str] = []
    if request.method == "POST":
        data = ScriptInput(
            stage=request.POST.get("stage", ""),
            topic=request.POST.get("topic", ""),
            title=request.POST.get("title", ""),
            examples=request.POST.get("examples", ""),
            order_states=request.POST.getlist("order_states"),
            variants={code: request.POST.get(f"body_{code}", "") for code in ScriptLanguage.values},
        )
        try:
            if script is None:
                create_script(actor=user, data=data)
            else:
                update_script(actor=user, script=script, data=data)
            messages.success(request, _("Script saved."))
            return HttpResponseRedirect(reverse("automation:scripts") + f"?stage={data.stage}")
        except ValidationError as exc:
            errors = exc.messages
        values: dict[str, Any] = {
            "stage": data.stage,
            "topic": data.topic,
            "title": data.title,
            "examples": data.examples,
            "order_states": data.order_states,
            "bodies": data.variants,
        }
    elif script is not None:
        values = {
            "stage": script.stage,
            "topic": script.topic,
            "title": script.title,
            "examples": script.examples,
            "order_states": script.order_state_list(),
            "bodies": {v.language: v.body for v in script.variants.all()},
        }
    else:
        values = {
            "stage": "pre_sale",
            "topic": "",
            "title": "",
            "examples": "",
            "order_states": [],
            "bodies": {},
        }
    languages = [
        (code, label, values["bodies"].get(code, "")) for code, label in ScriptLanguage.choices
    ]
    return render(
        request,
        "automation/script_edit.html",
        {
            "script": script,
            "values": values,
            "errors": errors,
            "stages": ScriptStage.choices,
            "languages": languages,
            "order_states": ORDER_STATES.items(),
        },
        status=400 if errors else 200,
    )


# ------------------------------------------------------------------ quick replies


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_POST
def script_active(request: ShopRequest, script_id: int) -> HttpResponse:
    """Retire a script from suggestions and the library, or bring it back (R-13)."""
    user = request.user
    script = selectors.access_script(user, script_id)
    active = request.POST.get("active") == "1"
    try:
        set_script_active(actor=user, script=script, active=active)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Script restored.") if active else _("Script retired."))
    return HttpResponseRedirect(reverse("automation:scripts") + ("" if active else "?retired=1"))


@shop_view()
@require_http_methods(["GET", "POST"])
def quick_replies(request: ShopRequest) -> HttpResponse:
    user = request.user
    errors: list[str] = []
    if request.method == "POST":
        try:
            if request.POST.get("delete"):
                reply = selectors.access_quick_reply(user, int(request.POST["delete"]))
                delete_quick_reply(actor=user, reply=reply)
            else:
                create_quick_reply(
                    actor=user,
                    title=request.POST.get("title", ""),
                    body=request.POST.get("body", ""),
                    language=request.POST.get("language", ""),
                )
            return redirect("automation:quick_replies")
        except ValidationError as exc:
            errors = exc.messages
        except ValueError:
            errors = [_("Unknown quick reply.")]
    return render(
        request,
        "automation/quick_replies.html",
        {
            "replies": selectors.quick_replies_of(user),
            "errors": errors,
            "languages": ScriptLanguage.choices,
        },
        status=400 if errors else 200,
    )
