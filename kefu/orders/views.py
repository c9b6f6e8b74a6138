"""Order pages: thin — parse, authorise through selectors, call one service, render."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.care import selectors as care_selectors
from kefu.catalog.column_mappings import (
    ColumnRow,
    MappingRefused,
    column_rows,
    forget_mapping,
    mapping_from_form,
    remembered_labels,
    remembered_mapping,
)
from kefu.catalog.models import ImportKind
from kefu.conversations.selectors import access_conversation
from kefu.conversations.views import back_to_conversation
from kefu.orders import selectors
from kefu.orders.actions import add_parcel, clear_flag, record_refund
from kefu.orders.config import order_settings as settings_of
from kefu.orders.config import update_order_settings
from kefu.orders.conversation_order import choose_conversation_order
from kefu.orders.forms import OrderSettingsForm
from kefu.orders.importers import mapping
from kefu.orders.importers.uploads import UploadRefused, start_import
from kefu.orders.incidents import create_incident_broadcast
from kefu.orders.models import (
    ImportRun,
    ImportStatus,
    IncidentBroadcast,
    Order,
    OrderFlag,
    OrderStatus,
    RefundChannel,
    RefundKind,
)
from kefu.orders.tasks import deliver_incident_broadcast
from kefu.orders.templatetags.order_labels import flag_label

# The services refuse in terse English for the API; the pages say it in the reader's language,
# with what to do next. Codes the map does not know keep the service's words.
_REFUSALS = {
    "refund_channel": gettext_lazy("Choose the refund channel and kind from the lists."),
    "refund_amount": gettext_lazy("Enter a refund amount above zero."),
    "refund_reason": gettext_lazy("Write why the buyer is refunded."),
    "tracking_number": gettext_lazy("Enter the tracking number (1 to 80 characters)."),
    "replaces": gettext_lazy("Choose one of this order's parcels as the one replaced."),
    "empty": gettext_lazy("Write a title (only you see it) and the message for the buyers."),
    "no_criteria": gettext_lazy(
        "Choose the affected orders first: by carrier, region or country, or order dates."
    ),
    "no_orders": gettext_lazy("No paid or shipped order matches: nothing was sent."),
}


def _refusal(exc: ValidationError, **facts: Any) -> str:
    """A service's ValidationError as the page says it."""
    code = getattr(exc, "code", None)
    if code == "refund_too_much":
        return _(
            "Refunds would total more than the buyer paid: at most %(left)s %(currency)s "
            "is left to refund."
        ) % {"left": facts.get("left", "0"), "currency": facts.get("currency", "")}
    if code == "duplicate":
        return _(
            "Tracking number %(number)s is already on an order of this shop: check the number."
        ) % {"number": facts.get("number", "")}
    if code in _REFUSALS:
        return str(_REFUSALS[code])
    return "; ".join(exc.messages)


def _refundable(order: Order) -> Decimal:
    """What is left to refund: the services cap refunds at the amount paid (else the total)."""
    return max((order.paid_amount or order.total_amount) - order.refunded_amount, Decimal("0"))


@shop_view()
@require_GET
def order_list(request: ShopRequest) -> HttpResponse:
    user = request.user
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


@shop_view()
@require_GET
def order_detail(request: ShopRequest, order_id: int) -> HttpResponse:
    user = request.user
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
            "refundable": _refundable(card.order),
            "carriers": selectors.known_carriers(card.order.shop),
            "events": card.order.events.select_related("actor").order_by("-created_at", "-id")[:50],
            "refunds": list(card.order.refunds.select_related("created_by")),
        },
    )


@shop_view()
@require_POST
def order_refund(request: ShopRequest, order_id: int) -> HttpResponse:
    user = request.user
    order = selectors.access_order(user, order_id)
    try:
        amount = Decimal(request.POST.get("amount", "").strip())
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite():  # also "NaN" and "Infinity", which Decimal accepts
        messages.error(request, _("Enter the refund amount as a number, e.g. 12.50."))
        return redirect("order_detail", order_id=order.pk)
    try:
        record_refund(
            actor=user,
            order=order,
            amount=amount,
            reason=request.POST.get("reason", ""),
            channel=request.POST.get("channel", RefundChannel.PLATFORM),
            kind=request.POST.get("kind", RefundKind.REFUND),
            logistics_dispute=request.POST.get("logistics_dispute") == "on",
        )
    except ValidationError as exc:
        order.refresh_from_db()
        messages.error(request, _refusal(exc, left=_refundable(order), currency=order.currency))
    except PermissionDenied:
        # The service refuses a login without the refund right, or above its refund limit.
        if has_capability(user, Capability.ISSUE_REFUNDS) and user.refund_limit is not None:
            messages.error(
                request,
                _(
                    "Your refund limit is %(limit)s %(currency)s: ask the main account to "
                    "record larger refunds."
                )
                % {"limit": user.refund_limit, "currency": order.currency},
            )
        else:
            messages.error(
                request,
                _(
                    "Only the main account, or a sub-account allowed to issue refunds, "
                    "records refunds."
                ),
            )
    else:
        messages.success(request, _("Refund recorded."))
    return redirect("order_detail", order_id=order.pk)


@shop_view()
@require_POST
def order_parcel(request: ShopRequest, order_id: int) -> HttpResponse:
    user = request.user
    order = selectors.access_order(user, order_id)
    replaces = None
    replaced_id = request.POST.get("replaces", "")
    if replaced_id.isdigit():
        replaces = order.parcels.filter(pk=int(replaced_id)).first()
    try:
        add_parcel(
            actor=user,
            order=order,
            tracking_number=request.POST.get("tracking_number", ""),
            carrier=request.POST.get("carrier", ""),
            reshipment=request.POST.get("reshipment") == "on",
            replaces=replaces,
            note=request.POST.get("note", ""),
        )
    except ValidationError as exc:
        number = request.POST.get("tracking_number", "").strip()
        messages.error(request, _refusal(exc, number=number))
    else:
        if request.POST.get("reshipment") == "on":
            messages.success(
                request,
                _(
                    "Reshipment added. Send the buyer the new tracking number, then mark the "
                    "duty as done."
                ),
            )
        else:
            messages.success(request, _("Parcel added."))
    return redirect("order_detail", order_id=order.pk)


@shop_view()
@require_POST
def order_clear_flag(request: ShopRequest, order_id: int) -> HttpResponse:
    user = request.user
    order = selectors.access_order(user, order_id)
    flag = request.POST.get("flag", "")
    if clear_flag(actor=user, order=order, flag=flag):
        messages.success(request, _("Done: %(flag)s.") % {"flag": flag_label(flag)})
    return redirect("order_detail", order_id=order.pk)


@shop_view()
@require_GET
def risk_board(request: ShopRequest) -> HttpResponse:
    user = request.user
    rows = selectors.risk_board_for(user)
    return render(
        request,
        "orders/risk.html",
        {
            "rows": rows,
            "settings": settings_of(shop=shop_of(user)),
            "missed": [r for r in rows if r.missed],
            "at_risk": [r for r in rows if not r.missed],
            # Disputes near or past the marketplace's answer deadline (kefu.care, R-31).
            "dispute_deadlines": care_selectors.dispute_deadlines(user),
            # Late-shipment calls refused or unanswered (kefu.care, R-42): marked on the rows.
            "call_marks": care_selectors.late_call_marks(user),
        },
    )


@shop_view(post_capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def order_settings(request: ShopRequest) -> HttpResponse:
    """Reminders, quiet hours, the shipping promise, penalties, stall days, tracking links."""
    user = request.user
    shop = shop_of(user)
    can_edit = has_capability(user, Capability.MANAGE_SETTINGS)
    current = settings_of(shop=shop)
    form = OrderSettingsForm.for_settings(current)
    errors: list[str] = []
    if request.method == "POST":
        form = OrderSettingsForm(request.POST)
        if form.is_valid():
            try:
                update_order_settings(actor=user, shop=shop, **form.setting_values())
            except ValidationError as exc:
                errors = exc.messages
            else:
                messages.success(request, _("Order settings saved."))
                return redirect("orders_settings")
    context = {"form": form, "errors": errors, "can_edit": can_edit, "settings": current}
    status = 400 if errors or form.errors else 200
    return render(request, "orders/settings.html", context, status=status)


@shop_view()
@require_POST
def choose_order(request: ShopRequest, conversation_id: int) -> HttpResponse:
    """ "This is the conversation's order" from the sidebar."""
    user = request.user
    conv = access_conversation(user, conversation_id)
    order_id = request.POST.get("order", "")
    if not order_id.isdigit():
        return _conversation_error(_("Choose an order."))
    try:
        order = choose_conversation_order(actor=user, conversation=conv, order_id=int(order_id))
    except ValidationError as exc:
        return _conversation_error("; ".join(exc.messages))
    if request.htmx:  # type: ignore[attr-defined]
        # The page refreshes the sidebar, scripts, timeline and header in place: a reload
        # would lose the reply the agent is drafting.
        answer = HttpResponse(status=204)
        answer["HX-Trigger"] = json.dumps({"kefu:order-chosen": {"order": order.external_id}})
        return answer
    return back_to_conversation(request, conv.pk)


def _conversation_error(message: str) -> HttpResponse:
    """A refusal shown where the conversation page shows its errors (not a silent 400)."""
    answer = HttpResponse(escape(message), status=400, content_type="text/html; charset=utf-8")
    answer["HX-Retarget"] = "#action-error"
    answer["HX-Reswap"] = "innerHTML"
    return answer


@shop_view()
@require_GET
def sidebar(request: ShopRequest, buyer_id: int) -> HttpResponse:
    """The conversation sidebar's order panel (htmx partial)."""
    user = request.user
    conversation = request.GET.get("conversation", "")
    panel = selectors.sidebar_for(
        user=user,
        buyer_id=buyer_id,
        highlight=request.GET.get("highlight", "")[:80],
        conversation_id=int(conversation) if conversation.isdigit() else None,
    )
    # The conversation names an order this login may not see (another sub-account's product):
    # say so, rather than let the agent take the first visible order for the buyer's.
    order_hidden = panel.highlight if panel.highlight_hidden else ""
    return render(request, "orders/_sidebar.html", {"panel": panel, "order_hidden": order_hidden})


def _mapping_context(user: Any, run: ImportRun | None) -> dict[str, object]:
    """The order import page's mapping form (for a finished run whose file has a column Kefu
    did not recognise, or lacks a required one) and the shop's remembered mapping."""
    remembered = remembered_mapping(shop_of(user), ImportKind.ORDERS)
    rows: list[ColumnRow] = []
    finished = run is not None and run.status in (ImportStatus.DONE, ImportStatus.FAILED)
    if run is not None and finished and run.headers:
        rows = column_rows(run.headers, {**remembered, **run.mapping}, mapping.auto_field)
        if run.status == ImportStatus.DONE and all(r.recognised for r in rows):
            rows = []
    return {
        "column_rows": rows,
        "field_options": [(f, f"{label} ({f})") for f, label in mapping.FIELD_LABELS.items()],
        "remembered": remembered_labels(remembered, mapping.FIELD_LABELS),
        "mapping_action": reverse("orders_import"),
    }


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def import_orders(request: ShopRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        if request.POST.get("action") == "forget":
            if forget_mapping(actor=user, kind=ImportKind.ORDERS):
                messages.success(request, _("The remembered column mapping was cleared."))
            return redirect("orders_import")
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choose an export file."))
            return redirect("orders_import")
        try:
            chosen = mapping_from_form(
                request.POST.getlist("header"),
                request.POST.getlist("field"),
                mapping.FIELDS,
                mapping.auto_field,
                remembered_mapping(shop_of(user), ImportKind.ORDERS),
            )
        except MappingRefused as exc:
            messages.error(request, str(exc))
            return redirect("orders_import")
        try:
            with transaction.atomic():
                run = start_import(
                    actor=user,
                    filename=upload.name or "upload",
                    data=upload.chunks(),
                    mapping=chosen,
                )
        except UploadRefused as exc:
            messages.error(request, str(exc))
            context = {
                "runs": selectors.recent_imports(user),
                "run": None,
                **_mapping_context(user, None),
            }
            return render(request, "orders/import.html", context, status=exc.status)
        return redirect("orders_import_run", run_id=run.pk)
    return render(
        request,
        "orders/import.html",
        {
            "runs": selectors.recent_imports(user),
            "unlinked": selectors.unlinked_items_for(user),
            "run": None,
            **_mapping_context(user, None),
        },
    )


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_GET
def import_run(request: ShopRequest, run_id: int) -> HttpResponse:
    user = request.user
    run = selectors.access_import_run(user, run_id)
    polling = bool(request.headers.get("HX-Request"))
    template = "orders/_import_progress.html" if polling else "orders/import.html"
    # The importer names the stored copy of the upload; the seller knows the file by its name.
    error = run.error.replace(Path(run.path).name, run.filename) if run.path else run.error
    return render(
        request,
        template,
        {
            "run": run,
            "run_error": error,
            "runs": selectors.recent_imports(user),
            "unlinked": None if polling else selectors.unlinked_items_for(user),
            # While polling, the finished run also refreshes the "Recent imports" list.
            "refresh_runs": polling,
            **_mapping_context(user, run),
        },
    )


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError as exc:
        raise ValidationError(_("Dates are YYYY-MM-DD.")) from exc


@shop_view(capability=Capability.CREATE_CAMPAIGNS)
@require_http_methods(["GET", "POST"])
def incidents(request: ShopRequest) -> HttpResponse:
    user = request.user
    shop = shop_of(user)
    data = request.POST if request.method == "POST" else request.GET
    sending = request.method == "POST" and data.get("send") == "1"
    context: dict[str, Any] = {"form": data, "preview": None}
    context["broadcasts"] = IncidentBroadcast.objects.filter(shop=shop).order_by("-created_at")[:10]
    context["now"] = timezone.now()
    chosen = any(data.get(k) for k in ("carrier", "region", "placed_from", "placed_to"))
    if not chosen:
        if sending:
            messages.error(request, str(_REFUSALS["no_criteria"]))
        return render(request, "orders/incidents.html", context, status=400 if sending else 200)
    try:
        criteria = selectors.IncidentCriteria(
            carrier=data.get("carrier", "")[:80],
            region=data.get("region", "")[:80],
            placed_from=_date(data.get("placed_from", "")),
            placed_to=_date(data.get("placed_to", "")),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
        return render(request, "orders/incidents.html", context, status=400)
    orders = selectors.incident_orders(shop=shop, criteria=criteria)
    context["preview"] = orders.count()
    context["preview_buyers"] = orders.values("buyer_id").distinct().count()
    if not sending:
        return render(request, "orders/incidents.html", context)
    try:
        with transaction.atomic():
            broadcast = create_incident_broadcast(
                actor=user,
                title=data.get("title", ""),
                text=data.get("text", ""),
                criteria=criteria,
            )
            transaction.on_commit(lambda: deliver_incident_broadcast.delay(broadcast.pk))
    except ValidationError as exc:
        messages.error(request, _refusal(exc))
        # No affected order is not a bad request: the shop simply has none (yet).
        status = 200 if getattr(exc, "code", None) == "no_orders" else 400
        return render(request, "orders/incidents.html", context, status=status)
    messages.success(request, _("Broadcast queued: each affected buyer gets it once."))
    return redirect("orders_incidents")
