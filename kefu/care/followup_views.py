"""Pages of follow-ups and revisits (R-33, R-34, R-48): the owner's rules and quiet hours, the
revisit table with its one-click actions and results. Thin: parse, authorise, call, render."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.automation.models import ScriptLanguage
from kefu.care import followups, revisit_actions
from kefu.care import revisits as revisit_reads
from kefu.care.models import FollowUpKind, FollowUpRule

RESULT_DAYS = 30


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _save_from_form(request: ShopRequest) -> None:
    post = request.POST
    user = request.user
    if post.get("form") == "quiet":
        followups.save_follow_up_settings(
            actor=user, business_hours_only=post.get("business_hours_only") == "on"
        )
        return
    kind = post.get("kind", "")
    days = _int(post.get("days")) if kind == FollowUpKind.AFTER_DAYS else 0
    if days is None:
        raise ValidationError(_("The days after delivery are a whole number."))
    followups.save_rule(
        actor=user,
        data=followups.RuleInput(
            kind=kind,
            days=days,
            texts={lang: post.get(f"text_{lang}", "") for lang in ScriptLanguage.values},
            fallback_language=post.get("fallback_language", "en"),
            active=post.get("active") == "on",
        ),
    )


@shop_view(post_capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def follow_ups(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    status = 200
    if request.method == "POST":
        try:
            _save_from_form(request)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            status = 400
        else:
            messages.success(request, _("Follow-up settings saved."))
            return redirect("care:follow_ups")
    saved = {r.kind: r for r in FollowUpRule.objects.filter(shop=shop)}
    rules = [
        {
            "kind": kind,
            "label": label,
            "rule": saved.get(kind),
            "texts": [
                (code, name, (saved[kind].texts.get(code, "") if kind in saved else ""))
                for code, name in ScriptLanguage.choices
            ],
        }
        for kind, label in FollowUpKind.choices
    ]
    return render(
        request,
        "care/follow_ups.html",
        {
            "rules": rules,
            "languages": ScriptLanguage.choices,
            "quiet": followups.follow_up_settings(shop),
            "quiet_hours": followups.quiet_hours_of(shop),
            "recent": followups.visible_follow_ups(user),
            "can_edit": has_capability(user, Capability.MANAGE_SETTINGS),
        },
        status=status,
    )


@shop_view()
@require_http_methods(["GET"])
def revisits(request: ShopRequest) -> HttpResponse:
    return _revisits_page(request)


def _revisits_page(request: ShopRequest, status: int = 200) -> HttpResponse:
    user = request.user
    raw = request.GET.get("lead", "")
    lead = int(raw) if raw.isdigit() and int(raw) <= 60 else revisit_reads.DEFAULT_LEAD_DAYS
    rows = revisit_reads.revisit_table(user, lead_days=lead)
    since = timezone.now() - dt.timedelta(days=RESULT_DAYS)
    results, totals = revisit_actions.revisit_results(user, since=since)
    return render(
        request,
        "care/revisits.html",
        {
            "rows": rows,
            "lead": lead,
            "results": results,
            "totals": totals,
            "result_days": RESULT_DAYS,
            "inbox_quiet": revisit_reads.inbox_is_quiet(shop_of(user)),
        },
        status=status,
    )


@shop_view()
@require_POST
def revisit_act(request: ShopRequest) -> HttpResponse:
    """One click on a revisit-table row: send the revisit script or create a call task."""
    user = request.user
    order_id, product_id = _int(request.POST.get("order")), _int(request.POST.get("product"))
    way = request.POST.get("way", "")
    if order_id is None or product_id is None or way not in ("message", "call"):
        raise Http404("no such revisit")
    order, product = revisit_actions.revisit_subject(user, order_id=order_id, product_id=product_id)
    try:
        if way == "message":
            revisit_actions.send_revisit(actor=user, order=order, product=product)
        else:
            revisit_actions.call_for_revisit(actor=user, order=order, product=product)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _revisits_page(request, status=400)
    messages.success(
        request, _("Revisit script sent.") if way == "message" else _("Call task created.")
    )
    return redirect("care:revisits")


@shop_view()
@require_POST
def revisit_case(request: ShopRequest, revisit_id: int) -> HttpResponse:
    """Save a revisit that led to a second sale to the case archive."""
    user = request.user
    found = revisit_reads.access_revisit(user, revisit_id)
    try:
        revisit_actions.save_revisit_case(actor=user, revisit=found)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return _revisits_page(request, status=400)
    messages.success(request, _("Saved to the case archive."))
    return redirect("care:cases")
