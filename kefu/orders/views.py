"""Order pages: thin — parse, authorise through selectors, call one service, render."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.models import User
from kefu.accounts.permissions import Capability, has_capability
from kefu.core.scoping import shop_of
from kefu.orders import selectors, services
from kefu.orders.conversation_order import choose_conversation_order
from kefu.orders.forms import OrderSettingsForm
from kefu.orders.models import OrderFlag, OrderStatus, RefundChannel, RefundKind


def _user(request: HttpRequest) -> User:
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied("sign in first")
    shop_of(user)
    return user


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    query = request.GET.get("q", "")[:80]
    return render(
        request,
        "orders/list.html",
        {
            "orders": selectors.order_list(user, status=status, query=query),
            "statuses": OrderStatus.choices,
            "status": status,
            "query": query,
            "can_import": has_capability(user, Capability.MANAGE_SETTINGS),
        },
    )


@login_required
@require_GET
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    user = _user(request)
    card = selectors.order_card(user, order_id)
    return render(
        request,
        "orders/detail.html",
        {
            "card": card,
            "order": card.order,
            "flag_labels": dict(OrderFlag.choices),
            "refund_channels": RefundChannel.choices,
            "refund_kinds": RefundKind.choices,
            "can_refund": has_capability(user, Capability.ISSUE_REFUNDS),
            "events": card.order.events.order_by("-created_at", "-id")[:50],
            "refunds": list(card.order.refunds.all()),
        },
    )


@login_required
@require_POST
def order_refund(request: HttpRequest, order_id: int) -> HttpResponse:
    user = _user(request)
    order = selectors.access_order(user, order_id)
    try:
        amount = Decimal(request.POST.get("amount", "").strip())
    except InvalidOperation:
        messages.error(request, _("Enter the refund amount as a number."))
        return redirect("order_detail", order_id=order.pk)
    try:
        services.record_refund(
            actor=user,
            order=order,
            amount=amount,
            reason=request.POST.get("reason", ""),
            channel=request.POST.get("channel", RefundChannel.PLATFORM),
            kind=request.POST.get("kind", RefundKind.REFUND),
            logistics_dispute=request.POST.get("logistics_dispute") == "on",
        )
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Refund recorded."))
    return redirect("order_detail", order_id=order.pk)


@login_required
@require_POST
def order_parcel(request: HttpRequest, order_id: int) -> HttpResponse:
    user = _user(request)
    order = selectors.access_order(user, order_id)
    replaces = None
    replaced_id = request.POST.get("replaces", "")
    if replaced_id.isdigit():
        replaces = order.parcels.filter(pk=int(replaced_id)).first()
    try:
        services.add_parcel(
            actor=user,
            order=order,
            tracking_number=request.POST.get("tracking_number", ""),
            carrier=request.POST.get("carrier", ""),
            reshipment=request.POST.get("reshipment") == "on",
            replaces=replaces,
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Parcel added."))
    return redirect("order_detail", order_id=order.pk)


@login_required
@require_POST
def order_clear_flag(request: HttpRequest, order_id: int) -> HttpResponse:
    user = _user(request)
    order = selectors.access_order(user, order_id)
    services.clear_flag(actor=user, order=order, flag=request.POST.get("flag", ""))
    return redirect("order_detail", order_id=order.pk)


@login_required
@require_GET
def risk_board(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    rows = selectors.risk_board_for(user)
    return render(
        request,
        "orders/risk.html",
        {
            "rows": rows,
            "settings": services.order_settings(shop=shop_of(user)),
            "missed": [r for r in rows if r.missed],
            "at_risk": [r for r in rows if not r.missed],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def order_settings(request: HttpRequest) -> HttpResponse:
    """Reminders, quiet hours, the shipping promise, penalties, stall days, tracking links."""
    user = _user(request)
    shop = shop_of(user)
    can_edit = has_capability(user, Capability.MANAGE_SETTINGS)
    current = services.order_settings(shop=shop)
    form = OrderSettingsForm.for_settings(current)
    errors: list[str] = []
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("only the main account changes order settings")
        form = OrderSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.update_order_settings(actor=user, shop=shop, **form.setting_values())
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(request, _("Order settings saved."))
                return redirect("orders_settings")
    context = {"form": form, "errors": errors, "can_edit": can_edit, "settings": current}
    status = 400 if errors or form.errors else 200
    return render(request, "orders/settings.html", context, status=status)


@login_required
@require_POST
def choose_order(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """ "This is the conversation's order" from the sidebar."""
    from kefu.conversations.selectors import access_conversation
    from kefu.conversations.views import back_to_conversation

    user = _user(request)
    conv = access_conversation(user, conversation_id)
    order_id = request.POST.get("order", "")
    if not order_id.isdigit():
        return HttpResponse(_("Choose an order."), status=400)
    try:
        choose_conversation_order(actor=user, conversation=conv, order_id=int(order_id))
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    return back_to_conversation(request, conv.pk)


@login_required
@require_GET
def sidebar(request: HttpRequest, buyer_id: int) -> HttpResponse:
    """The conversation sidebar's order panel (htmx partial)."""
    user = _user(request)
    conversation = request.GET.get("conversation", "")
    panel = selectors.sidebar_for(
        user=user,
        buyer_id=buyer_id,
        highlight=request.GET.get("highlight", "")[:80],
        conversation_id=int(conversation) if conversation.isdigit() else None,
    )
    return render(request, "orders/_sidebar.html", {"panel": panel})


@login_required
@require_http_methods(["GET", "POST"])
def import_orders(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not has_capability(user, Capability.MANAGE_SETTINGS):
        raise PermissionDenied("only the main account imports orders")
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose an export file."))
            return redirect("orders_import")
        from kefu.orders.importers.mapping import MappingError, parse_map_option

        try:
            mapping = parse_map_option(request.POST.get("map", ""))
        except MappingError as exc:
            messages.error(request, str(exc))
            return redirect("orders_import")
        with transaction.atomic():
            run = services.start_import(
                actor=user, filename=upload.name or "upload", data=upload.chunks(), mapping=mapping
            )
        return redirect("orders_import_run", run_id=run.pk)
    return render(
        request,
        "orders/import.html",
        {
            "runs": selectors.recent_imports(user),
            "run": None,
        },
    )


@login_required
@require_GET
def import_run(request: HttpRequest, run_id: int) -> HttpResponse:
    user = _user(request)
    if not has_capability(user, Capability.MANAGE_SETTINGS):
        raise PermissionDenied("only the main account imports orders")
    run = selectors.access_import_run(user, run_id)
    template = (
        "orders/_import_progress.html"
        if request.headers.get("HX-Request")
        else "orders/import.html"
    )
    return render(request, template, {"run": run, "runs": selectors.recent_imports(user)})


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise ValidationError(_("Dates are YYYY-MM-DD.")) from exc


@login_required
@require_http_methods(["GET", "POST"])
def incidents(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (user.is_owner or has_capability(user, Capability.CREATE_CAMPAIGNS)):
        raise PermissionDenied("only the main account broadcasts to buyers")
    data = request.POST if request.method == "POST" else request.GET
    context: dict[str, Any] = {"form": data, "preview": None}
    if (
        data.get("carrier")
        or data.get("region")
        or data.get("placed_from")
        or data.get("placed_to")
    ):
        try:
            criteria = services.IncidentCriteria(
                carrier=data.get("carrier", "")[:80],
                region=data.get("region", "")[:80],
                placed_from=_date(data.get("placed_from", "")),
                placed_to=_date(data.get("placed_to", "")),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            return render(request, "orders/incidents.html", context)
        orders = selectors.incident_orders(shop=shop_of(user), criteria=criteria)
        context["preview"] = orders.count()
        context["preview_buyers"] = orders.values("buyer_id").distinct().count()
        if request.method == "POST" and data.get("send") == "1":
            from kefu.orders.tasks import deliver_incident_broadcast

            try:
                with transaction.atomic():
                    broadcast = services.create_incident_broadcast(
                        actor=user,
                        title=data.get("title", ""),
                        text=data.get("text", ""),
                        criteria=criteria,
                    )
                    transaction.on_commit(lambda: deliver_incident_broadcast.delay(broadcast.pk))
            except ValidationError as exc:
                messages.error(request, "; ".join(exc.messages))
            else:
                messages.success(request, _("Broadcast queued: each affected buyer gets it once."))
                return redirect("orders_incidents")
    from kefu.orders.models import IncidentBroadcast

    context["broadcasts"] = IncidentBroadcast.objects.filter(shop=shop_of(user)).order_by(
        "-created_at"
    )[:10]
    context["now"] = timezone.now()
    return render(request, "orders/incidents.html", context)
