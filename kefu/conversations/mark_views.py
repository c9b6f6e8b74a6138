"""Pages for colour marks: add, clear, the yellow duty, the follow-up list, the quality report."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.conversations import marks, selectors
from kefu.conversations.models import ConversationMark
from kefu.conversations.views import _error, back_to_conversation
from kefu.core.spreadsheets import spreadsheet_response
from kefu.desk import marks as desk_marks


def _mark(conversation_id: int, mark_id: int, request: ShopRequest) -> ConversationMark:
    conv = selectors.access_conversation(request.user, conversation_id)
    mark = conv.marks.filter(pk=mark_id).select_related("conversation__shop").first()
    if mark is None:
        raise Http404("no such mark")
    return mark


@shop_view()
@require_POST
def add(request: ShopRequest, conversation_id: int) -> HttpResponse:
    user = request.user
    conv = selectors.access_conversation(user, conversation_id)
    product = request.POST.get("product", "")
    try:
        desk_marks.add_mark(
            actor=user,
            conversation=conv,
            color=request.POST.get("color", ""),
            note=request.POST.get("note", ""),
            label=request.POST.get("label", ""),
            product_id=int(product) if product.isdigit() else None,
            defect=request.POST.get("defect", ""),
            amount=request.POST.get("amount") or None,
            currency=request.POST.get("currency", ""),
            channel=request.POST.get("channel", ""),
        )
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return back_to_conversation(request, conv.pk)


@shop_view()
@require_POST
def clear(request: ShopRequest, conversation_id: int, mark_id: int) -> HttpResponse:
    mark = _mark(conversation_id, mark_id, request)
    try:
        marks.clear_mark(actor=request.user, mark=mark)
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return back_to_conversation(request, conversation_id)


@shop_view()
@require_POST
def tracking(request: ShopRequest, conversation_id: int, mark_id: int) -> HttpResponse:
    mark = _mark(conversation_id, mark_id, request)
    try:
        desk_marks.send_new_tracking(
            actor=request.user,
            mark=mark,
            tracking_number=request.POST.get("tracking_number", ""),
            carrier=request.POST.get("carrier", ""),
            text=request.POST.get("text", ""),
        )
    except ValidationError as exc:
        return _error(request, "; ".join(exc.messages))
    return back_to_conversation(request, conversation_id)


@shop_view()
@require_GET
def follow_up(request: ShopRequest) -> HttpResponse:
    return render(
        request, "conversations/follow_up.html", {"marks": marks.follow_up_list(request.user)}
    )


def _range(request: HttpRequest) -> tuple[date, date]:
    today = timezone.localdate()
    try:
        start = date.fromisoformat(request.GET.get("from") or str(today - timedelta(days=29)))
        end = date.fromisoformat(request.GET.get("to") or str(today))
    except ValueError as exc:
        raise ValidationError(_("dates are YYYY-MM-DD"), code="date") from exc
    return start, end


@shop_view()
@require_GET
def quality(request: ShopRequest) -> HttpResponse:
    user = request.user
    try:
        start, end = _range(request)
        rows = marks.quality_report(user, start=start, end=end)
    except ValidationError as exc:
        return HttpResponse("; ".join(exc.messages), status=400)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        header = ["product", "red marks", "defects"]
        data = [[r.product, r.count, " | ".join(r.defects)] for r in rows]
        return spreadsheet_response(
            fmt=fmt, header=header, rows=data, name=f"quality-{start}-{end}", title="quality"
        )
    return render(request, "conversations/quality.html", {"rows": rows, "start": start, "end": end})
