"""Pages of the care domain: the case archive (案例备份, R-35), complaints and disputes with
their cause analysis (R-31), promises (R-28, R-32), the workbench's alerts and the settings."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.models import Platform, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.automation.selectors import buyer_language
from kefu.care import alerts as alert_services
from kefu.care import analysis, config, exports, selectors, services
from kefu.care import calls as call_services
from kefu.care import complaints as complaint_services
from kefu.care import feedback as feedback_services
from kefu.care import promises as promise_services
from kefu.care import returns as return_services
from kefu.care.listing import Filter, read_filters
from kefu.care.models import (
    CallOutcome,
    CaseOutcome,
    CompensationKind,
    CompensationState,
    ComplaintKind,
    ComplaintStatus,
    FeedbackKind,
    Resolution,
    ReturnKind,
    ReturnStatus,
    Severity,
)
from kefu.care.revisits import call_queue
from kefu.conversations.models import Conversation
from kefu.conversations.selectors import access_conversation
from kefu.core.spreadsheets import spreadsheet_response
from kefu.desk.replies import RuleStop, send_reply
from kefu.orders.models import Order
from kefu.orders.selectors import access_order, order_of, visible_orders

# The lists' filters (`kefu.care.listing`): the value the page shows, the one the selector gets.
CASE_FILTERS = (
    Filter("query", max_chars=200, param="q"),
    Filter("outcome", tuple(CaseOutcome.values)),
)
COMPLAINT_FILTERS = (
    Filter("status", ("active", *ComplaintStatus.values), default="active", everything="all"),
    Filter("cause"),
    Filter("kind", tuple(ComplaintKind.values)),
)
RETURN_FILTERS = (
    Filter("status", ("open", *ReturnStatus.values), default="open", everything="all"),
)
FEEDBACK_FILTERS = (Filter("kind", tuple(FeedbackKind.values)),)


def _date(raw: str | None, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(raw or "")
    except ValueError:
        return default


@shop_view()
@require_GET
def cases(request: ShopRequest) -> HttpResponse:
    user = request.user
    chosen = read_filters(request.GET, CASE_FILTERS)
    qs = selectors.visible_cases(user, **chosen.query)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        rows = exports.case_rows(qs[:20_000])
        name = f"kefu-cases-{shop_of(user).slug}"
        return spreadsheet_response(
            fmt=export, header=exports.CASE_HEADER, rows=rows, name=name, title="cases"
        )
    return render(
        request,
        "care/cases.html",
        {"cases": qs[:200], **chosen.shown, "outcomes": CaseOutcome.choices},
    )


@shop_view()
@require_http_methods(["GET", "POST"])
def new_case(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    source = request.POST if request.method == "POST" else request.GET
    conv_raw = source.get("conversation", "").strip()
    conversation = access_conversation(user, int(conv_raw)) if conv_raw.isdigit() else None
    form: dict[str, Any] = {
        "title": source.get("title", ""),
        "event": source.get("event", ""),
        "follow_up": source.get("follow_up", ""),
        "outcome": source.get("outcome", ""),
        "outcome_kind": source.get("outcome_kind", CaseOutcome.RESOLVED),
        "tags": source.get("tags", ""),
        "date": source.get("date", "") or selectors.shop_today(shop).isoformat(),
    }
    if request.method == "POST":
        try:
            services.save_case(
                actor=user,
                conversation=conversation,
                data=services.CaseInput(
                    title=form["title"],
                    event=form["event"],
                    date=_date(form["date"], selectors.shop_today(shop)),
                    follow_up=form["follow_up"],
                    outcome=form["outcome"],
                    outcome_kind=form["outcome_kind"],
                    tags=form["tags"],
                ),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Case saved to the archive."))
            return redirect("care:cases")
    return render(
        request,
        "care/case_form.html",
        {"form": form, "conversation": conversation, "outcomes": CaseOutcome.choices},
    )


# --- complaints and disputes (R-31) ---------------------------------------------------------


def _complaint_context(request: ShopRequest) -> dict[str, Any]:
    shop = shop_of(request.user)
    return {
        "causes": config.causes_of(shop),
        "cause_labels": config.cause_labels(shop),
        "severities": Severity.choices,
        "statuses": ComplaintStatus.choices,
        "resolutions": Resolution.choices,
        "compensations": CompensationKind.choices,
        "compensation_states": CompensationState.choices,
        "members": User.objects.filter(shop=shop, is_active=True).order_by("username"),
    }


@shop_view()
@require_GET
def complaints(request: ShopRequest) -> HttpResponse:
    user = request.user
    chosen = read_filters(request.GET, COMPLAINT_FILTERS)
    rows = selectors.visible_complaints(user, **chosen.query)
    return render(
        request,
        "care/complaints.html",
        {
            **_complaint_context(request),
            "complaints": rows[:300],
            **chosen.shown,
            "alerts": [(a, selectors.alert_text(a)) for a in selectors.live_alerts(user)[:20]],
            "now": timezone.now(),
        },
    )


def _int_or_none(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _subjects(user: User, source: Any) -> tuple[Conversation | None, Order | None]:
    """The conversation and order a form names (by id, or the order by its platform number),
    as the user may see them: 404 otherwise."""
    conv_id, order_id = _int_or_none(source.get("conversation")), _int_or_none(source.get("order"))
    conversation = access_conversation(user, conv_id) if conv_id is not None else None
    order = access_order(user, order_id) if order_id is not None else None
    ref = (source.get("order_ref") or "").strip()[:80]
    if order is None and ref:
        order = visible_orders(user).filter(external_id=ref).first()
        if order is None:
            raise Http404("no such order")
    return conversation, order


@shop_view()
@require_http_methods(["GET", "POST"])
def new_complaint(request: ShopRequest) -> HttpResponse:
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    conversation, order = _subjects(user, source)
    form: dict[str, Any] = {
        "cause": source.get("cause", ""),
        "severity": source.get("severity", Severity.MEDIUM),
        "summary": source.get("summary", ""),
        "dispute": source.get("dispute") == "on",
    }
    if request.method == "POST":
        try:
            made = complaint_services.open_complaint(
                actor=user,
                conversation=conversation,
                order=order,
                data=complaint_services.ComplaintInput(
                    cause=form["cause"],
                    summary=form["summary"],
                    severity=form["severity"],
                    dispute=form["dispute"],
                ),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Complaint recorded."))
            return redirect("care:complaint", made.pk)
    return render(
        request,
        "care/complaint_form.html",
        {
            **_complaint_context(request),
            "form": form,
            "conversation": conversation,
            "order": order,
        },
        status=400 if request.method == "POST" else 200,
    )


@shop_view()
@require_http_methods(["GET", "POST"])
def complaint(request: ShopRequest, complaint_id: int) -> HttpResponse:
    user = request.user
    found = selectors.access_complaint(user, complaint_id)
    if request.method == "POST":
        post = request.POST
        try:
            complaint_services.update_complaint(
                actor=user,
                complaint=found,
                change=complaint_services.ComplaintChange(
                    status=post.get("status"),
                    resolution=post.get("resolution"),
                    cause=post.get("cause") or None,
                    severity=post.get("severity") or None,
                    summary=post.get("summary"),
                    owner_id=_int_or_none(post.get("owner")),
                    compensation_kind=post.get("compensation_kind"),
                    compensation_amount=post.get("compensation_amount"),
                    compensation_currency=post.get("compensation_currency"),
                    compensation_state=post.get("compensation_state"),
                ),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            found = selectors.access_complaint(user, complaint_id)
        else:
            messages.success(request, _("Complaint updated."))
            return redirect("care:complaint", found.pk)
    return render(
        request,
        "care/complaint.html",
        {
            **_complaint_context(request),
            "c": found,
            "products": selectors.complaint_products(found),
            "now": timezone.now(),
        },
        status=400 if request.method == "POST" else 200,
    )


@shop_view()
@require_GET
def analysis_page(request: ShopRequest) -> HttpResponse:
    user = request.user
    today = selectors.shop_today(shop_of(user))
    until = _date(request.GET.get("until"), today)
    since = _date(request.GET.get("since"), until - dt.timedelta(weeks=12))
    if since > until:
        since, until = until, since
    result = analysis.cause_analysis(user, since=since, until=until)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        return spreadsheet_response(
            fmt=export,
            header=analysis.ANALYSIS_HEADER,
            rows=analysis.analysis_rows(result),
            name=f"kefu-complaint-causes-{shop_of(user).slug}-{since}-{result.until}",
            title="causes",
        )
    return render(
        request,
        "care/analysis.html",
        {
            "a": result,
            "chart": _analysis_chart(result),
            "sections": [
                (_("By cause"), result.by_cause),
                (_("By product"), result.by_product),
                (_("By agent"), result.by_agent),
                (_("By week"), result.by_week),
            ],
        },
    )


def _analysis_chart(a: analysis.Analysis) -> dict[str, Any]:
    """What charts/care.js draws, every word translated here (the page's JSON element)."""
    return {
        "empty": a.total == 0,
        "causes": {
            "title": _("Complaints by cause"),
            "labels": [g.label for g in a.by_cause],
            "counts": [g.complaints for g in a.by_cause],
            "turned": [g.turned_around for g in a.by_cause],
            "count_name": _("Complaints"),
            "turned_name": _("Turned around"),
        },
        "weeks": {
            "title": _("Complaints per week"),
            "labels": [g.label for g in a.by_week],
            "counts": [g.complaints for g in a.by_week],
            "rates": [
                round(g.complaint_rate * 100, 2) if g.complaint_rate is not None else None
                for g in a.by_week
            ],
            "count_name": _("Complaints"),
            "rate_name": _("Complaints per 100 orders"),
            "week_axis": _("Week starting"),
        },
    }


# --- promises (R-28, R-32) ------------------------------------------------------------------


@shop_view()
@require_GET
def promises(request: ShopRequest) -> HttpResponse:
    user = request.user
    mine = request.GET.get("mine") == "1" or not user.is_owner
    now = timezone.now()
    return render(
        request,
        "care/promises.html",
        {
            "board": selectors.promise_board(user, mine_only=mine, now=now),
            "mine": mine,
            "tally": selectors.promise_tally(user, since=now - dt.timedelta(days=30), now=now),
            "now": now,
        },
    )


def _due(raw: str, shop_tz: str) -> dt.datetime | None:
    """A due time from the form's datetime-local field, read in the shop's time zone."""
    try:
        naive = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=zoneinfo.ZoneInfo(shop_tz))


@shop_view()
@require_http_methods(["GET", "POST"])
def new_promise(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    source = request.POST if request.method == "POST" else request.GET
    conversation, order = _subjects(user, source)
    form = {
        "what": source.get("what", "")[:300],
        "due": source.get("due", "")[:40],
        "message": source.get("message", "")[:20],
    }
    if request.method == "POST":
        due = _due(form["due"], shop.timezone)
        try:
            if due is None:
                raise ValidationError(_("Give the due date and time."))
            promise_services.record_promise(
                actor=user,
                conversation=conversation,
                order=order,
                data=promise_services.PromiseInput(
                    what=form["what"], due_at=due, message_id=_int_or_none(form["message"])
                ),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Promise tracked."))
            if conversation is not None:
                return redirect("conversation", conversation.pk)
            return redirect("care:promises")
    return render(
        request,
        "care/promise_form.html",
        {"form": form, "conversation": conversation, "order": order},
        status=400 if request.method == "POST" else 200,
    )


@shop_view()
@require_POST
def new_commitment(request: ShopRequest) -> HttpResponse:
    user = request.user
    _conversation, order = _subjects(user, request.POST)
    if order is None:
        messages.error(request, _("Choose the order."))
        return redirect("care:promises")
    days = _int_or_none(request.POST.get("days")) or promise_services.RETURN_WINDOW_DAYS
    try:
        promise_services.record_order_commitment(
            actor=user, order=order, kind=request.POST.get("kind", ""), days=days
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Commitment tracked."))
    return redirect("care:promises")


@shop_view()
@require_POST
def close_promise(request: ShopRequest, promise_id: int) -> HttpResponse:
    user = request.user
    found = selectors.access_promise(user, promise_id)
    outcome = request.POST.get("outcome")
    if outcome not in ("kept", "broken"):
        messages.error(request, _("Say whether the promise was kept or broken."))
    else:
        try:
            promise_services.close_promise(
                actor=user,
                promise=found,
                kept=outcome == "kept",
                note=request.POST.get("note", "")[:300],
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Promise closed."))
    return redirect("care:promises")


# --- alerts ---------------------------------------------------------------------------------


@shop_view()
@require_GET
def alerts_bar(request: ShopRequest) -> HttpResponse:
    """The workbench's alert bar, polled by every page (see base.html)."""
    user = request.user
    live = [(a, selectors.alert_text(a)) for a in selectors.live_alerts(user)[:5]]
    return render(request, "care/_alerts_bar.html", {"alerts": live})


@shop_view()
@require_GET
def alert(request: ShopRequest, alert_id: int) -> HttpResponse:
    user = request.user
    found = selectors.access_alert(user, alert_id)
    return render(
        request,
        "care/alert.html",
        {
            "alert": found,
            "text": selectors.alert_text(found),
            "conversations": selectors.alert_conversations(user, found),
        },
    )


@shop_view()
@require_POST
def dismiss_alert(request: ShopRequest, alert_id: int) -> HttpResponse:
    user = request.user
    alert_services.dismiss_alert(actor=user, alert=selectors.access_alert(user, alert_id))
    return redirect("care:complaints")


# --- settings -------------------------------------------------------------------------------


@shop_view(post_capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def care_settings(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    status = 200
    if request.method == "POST":
        post = request.POST
        try:
            hours = {}
            for platform in Platform.values:
                raw = post.get(f"hours_{platform}", "").strip()
                if not raw.isdigit():
                    raise ValidationError(_("Dispute deadlines are whole hours."))
                hours[platform] = int(raw)
            numbers = {}
            for name in ("remind_hours_before", "surge_min_count", "promise_due_soon_hours"):
                raw = post.get(name, "").strip()
                if not raw.isdigit() or len(raw) > 6:
                    raise ValidationError(_("Reminders and the surge minimum are whole numbers."))
                numbers[name] = int(raw)
            try:
                factor = Decimal(post.get("surge_factor", "").strip())
            except InvalidOperation as exc:
                raise ValidationError(_("The surge factor is a number.")) from exc
            with transaction.atomic():
                config.save_care_settings(
                    actor=user,
                    data=config.SettingsInput(
                        dispute_hours=hours,
                        remind_hours_before=numbers["remind_hours_before"],
                        surge_factor=factor,
                        surge_min_count=numbers["surge_min_count"],
                        promise_due_soon_hours=numbers["promise_due_soon_hours"],
                    ),
                )
                config.save_causes(actor=user, labels=post.get("causes", "").splitlines()[:100])
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            status = 400
        else:
            messages.success(request, _("After-sale settings saved."))
            return redirect("care:settings")
    settings_ = config.care_settings(shop=shop)
    return render(
        request,
        "care/settings.html",
        {
            "s": settings_,
            "hours": [
                (value, label, config.dispute_hours(settings_, value))
                for value, label in Platform.choices
            ],
            "causes": "\n".join(c.label for c in config.causes_of(shop)),
            "can_edit": has_capability(user, Capability.MANAGE_SETTINGS),
        },
        status=status,
    )


# --- returns and exchanges (R-30) -----------------------------------------------------------


@shop_view()
@require_GET
def returns_list(request: ShopRequest) -> HttpResponse:
    chosen = read_filters(request.GET, RETURN_FILTERS)
    rows = selectors.visible_returns(request.user, **chosen.query)
    return render(
        request,
        "care/returns.html",
        {"returns": rows[:300], **chosen.shown, "statuses": ReturnStatus.choices},
    )


@shop_view()
@require_http_methods(["GET", "POST"])
def new_return(request: ShopRequest) -> HttpResponse:
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    conversation, order = _subjects(user, source)
    if order is None and conversation is not None:
        order = conversation_order(user, conversation)
    form = {"kind": source.get("kind", ReturnKind.RETURN), "reason": source.get("reason", "")}
    if request.method == "POST":
        try:
            if order is None:
                raise ValidationError(_("Choose the order."))
            made = return_services.open_return(
                actor=user,
                order=order,
                conversation=conversation,
                kind=form["kind"],
                reason=form["reason"],
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Return recorded."))
            return redirect("care:return", made.pk)
    return render(
        request,
        "care/return_form.html",
        {"form": form, "conversation": conversation, "order": order, "kinds": ReturnKind.choices},
        status=400 if request.method == "POST" else 200,
    )


def conversation_order(user: User, conversation: Conversation) -> Order | None:
    """The order a conversation the user serves is about: the after-sale agent of the chat
    handles its return even when the product is another sub-account's."""
    return order_of(conversation)


@shop_view()
@require_http_methods(["GET", "POST"])
def return_detail(request: ShopRequest, return_id: int) -> HttpResponse:
    user = request.user
    found = selectors.access_return(user, return_id)
    status = 200
    if request.method == "POST":
        post = request.POST
        try:
            return_services.advance_return(
                actor=user,
                request=found,
                step=return_services.StepInput(
                    status=post.get("step", ""),
                    note=post.get("note", ""),
                    tracking_number=post.get("tracking_number", ""),
                    carrier=post.get("carrier", ""),
                    amount=post.get("amount", ""),
                ),
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(
                request,
                "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc),
            )
            status = 400 if isinstance(exc, ValidationError) else 403
            found = selectors.access_return(user, return_id)
        else:
            messages.success(request, _("Return updated."))
            return redirect("care:return", found.pk)
    language = buyer_language(found.buyer) if found.buyer is not None else ""
    return render(
        request,
        "care/return.html",
        {
            "r": found,
            "steps": found.steps.select_related("actor"),
            "next_steps": [(s, ReturnStatus(s).label) for s in return_services.next_steps(found)],
            "script": return_services.buyer_script(found, language=language or "en"),
        },
        status=status,
    )


@shop_view()
@require_POST
def send_return_script(request: ShopRequest, return_id: int) -> HttpResponse:
    """Send the step's script to the buyer in the return's conversation, through the rule
    guard like any reply."""
    user = request.user
    found = selectors.access_return(user, return_id)
    if found.conversation_id is None:
        messages.error(request, _("This return has no conversation to send to."))
        return redirect("care:return", found.pk)
    conversation = access_conversation(user, found.conversation_id)
    try:
        send_reply(actor=user, conversation=conversation, text=request.POST.get("text", ""))
    except RuleStop:
        messages.error(request, _("The rule guard stopped this message: edit it in the inbox."))
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Sent to the buyer."))
    return redirect("care:return", found.pk)


# --- buyers' feedback (R-40) ----------------------------------------------------------------


@shop_view()
@require_GET
def feedback_list(request: ShopRequest) -> HttpResponse:
    user = request.user
    chosen = read_filters(request.GET, FEEDBACK_FILTERS)
    qs = selectors.visible_feedback(user, **chosen.query)
    export = request.GET.get("export")
    if export in ("csv", "xlsx"):
        return spreadsheet_response(
            fmt=export,
            header=feedback_services.FEEDBACK_HEADER,
            rows=feedback_services.feedback_rows(qs[:20_000]),
            name=f"kefu-feedback-{shop_of(user).slug}",
            title="feedback",
        )
    return render(
        request,
        "care/feedback.html",
        {"items": qs[:300], **chosen.shown, "kinds": FeedbackKind.choices},
    )


@shop_view()
@require_http_methods(["GET", "POST"])
def new_feedback(request: ShopRequest) -> HttpResponse:
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    conv_id = _int_or_none(source.get("conversation"))
    if conv_id is None:
        raise Http404("feedback is saved from a conversation")
    conversation = access_conversation(user, conv_id)
    form = {"kind": source.get("kind", FeedbackKind.SUGGESTION), "text": source.get("text", "")}
    if request.method == "POST":
        try:
            feedback_services.save_feedback(
                actor=user, conversation=conversation, kind=form["kind"], text=form["text"]
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
        else:
            messages.success(request, _("Feedback saved."))
            return redirect("conversation", conversation.pk)
    return render(
        request,
        "care/feedback_form.html",
        {"form": form, "conversation": conversation, "kinds": FeedbackKind.choices},
        status=400 if request.method == "POST" else 200,
    )


# --- calls (呼叫组, R-42) --------------------------------------------------------------------


@shop_view()
@require_http_methods(["GET", "POST"])
def calls(request: ShopRequest) -> HttpResponse:
    user = request.user
    status = 200
    if request.method == "POST":
        task_id = _int_or_none(request.POST.get("task"))
        if task_id is None:
            raise Http404("no such call")
        task = selectors.access_call_task(user, task_id)
        try:
            call_services.log_call(
                actor=user,
                task=task,
                outcome=request.POST.get("outcome", ""),
                note=request.POST.get("note", ""),
                next_step=request.POST.get("next_step", ""),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            status = 400
        else:
            messages.success(request, _("Call logged."))
            return redirect("care:calls")
    now = timezone.now()
    # While no buyer waits in the inbox, revisits come first.
    tasks, inbox_quiet = call_queue(user, list(selectors.visible_call_tasks(user)[:300]))
    return render(
        request,
        "care/calls.html",
        {
            "tasks": tasks,
            "inbox_quiet": inbox_quiet,
            "outcomes": CallOutcome.choices,
            "tally": selectors.call_tally(user, since=now - dt.timedelta(days=7)),
            "outcome_labels": dict(CallOutcome.choices),
            "now": now,
        },
        status=status,
    )
