"""Review pages (R-43): the review tasks and reviews, one task with the buyer's history and
suggested scripts, the review file upload, the review settings, review invitations and the
revisit call button."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from kefu.accounts.access import ShopRequest, shop_view
from kefu.accounts.models import ServiceGroup
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.care import review_import, review_invites, review_selectors, reviews
from kefu.care.listing import Filter, read_filters
from kefu.care.models import CompensationKind, ReviewLevel, ReviewTaskStatus
from kefu.care.review_import import ReviewFileError, import_uploaded_reviews
from kefu.catalog.mapped_upload import MappedUpload, mapped_upload_page
from kefu.catalog.models import ImportKind
from kefu.core.filelimits import UploadTooLarge
from kefu.core.tabular import ImportFileError
from kefu.orders.selectors import access_order

TASK_FILTERS = (
    Filter("status", ("active", *ReviewTaskStatus.values), default="active", everything="all"),
)
REVIEW_FILTERS = (Filter("level", tuple(ReviewLevel.values)),)


def _int(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


@shop_view()
@require_http_methods(["GET"])
def reviews_page(request: ShopRequest) -> HttpResponse:
    user = request.user
    tasks = read_filters(request.GET, TASK_FILTERS)
    levels = read_filters(request.GET, REVIEW_FILTERS)
    return render(
        request,
        "care/reviews.html",
        {
            "tasks": review_selectors.visible_review_tasks(user, **tasks.query)[:300],
            "reviews": review_selectors.visible_reviews(user, **levels.query)[:100],
            "status": tasks.shown["status"],
            "level": levels.shown["level"],
            "statuses": ReviewTaskStatus.choices,
            "levels": ReviewLevel.choices,
            "settings": reviews.review_settings(shop_of(user)),
            "groups": [
                (ServiceGroup.AFTER_SALE, ServiceGroup.AFTER_SALE.label),
                (ServiceGroup.OUTREACH, ServiceGroup.OUTREACH.label),
            ],
            "may_manage": has_capability(user, Capability.MANAGE_SETTINGS),
        },
    )


@shop_view()
@require_http_methods(["GET", "POST"])
def review_task(request: ShopRequest, task_id: int) -> HttpResponse:
    user = request.user
    task = review_selectors.access_review_task(user, task_id)
    status = 200
    if request.method == "POST":
        post = request.POST
        try:
            reviews.record_outcome(
                actor=user,
                task=task,
                data=reviews.OutcomeInput(
                    status=post.get("status", ""),
                    note=post.get("note", ""),
                    compensation_kind=post.get("compensation_kind", ""),
                    compensation_amount=post.get("compensation_amount", ""),
                    compensation_currency=post.get("compensation_currency", ""),
                ),
            )
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            status = 400
        else:
            messages.success(request, _("Review task updated."))
            return redirect("care:review_task", task.pk)
    return render(
        request,
        "care/review_task.html",
        {
            "t": task,
            "r": task.review,
            "steps": task.steps.select_related("actor"),
            "next_steps": [(s, ReviewTaskStatus(s).label) for s in reviews.NEXT[task.status]],
            "conversations": review_selectors.review_conversations(user, task),
            "scripts": review_selectors.review_scripts(task),
            "compensations": CompensationKind.choices,
        },
        status=status,
    )


@shop_view(post_capability=Capability.MANAGE_SETTINGS)
@require_POST
def review_settings(request: ShopRequest) -> HttpResponse:
    post = request.POST
    try:
        reviews.save_review_settings(
            actor=request.user,
            data=reviews.ReviewSettingsInput(
                tmall_negative_at_most=_int(post.get("tmall_negative_at_most")) or 0,
                task_group=post.get("task_group", ""),
                invite_enabled=post.get("invite_enabled") == "on",
                invite_after_days=_int(post.get("invite_after_days")) or 0,
            ),
        )
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Review settings saved."))
    return redirect("care:reviews")


@shop_view(capability=Capability.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def import_reviews_page(request: ShopRequest) -> HttpResponse:
    """The review file upload, with the column mapping form of the other upload pages
    (catalog.column_mappings): a file whose columns Kefu cannot use, or with a header it does
    not recognise, is shown column by column to map; the mapping is remembered per shop."""
    upload = MappedUpload(
        kind=ImportKind.REVIEWS,
        fields=review_import.FIELDS,
        auto=review_import.auto_field,
        labels=review_import.FIELD_LABELS,
        run=lambda actor, name, data, mapping: import_uploaded_reviews(
            actor=actor, filename=name, data=data, mapping=mapping
        ),
        refusals=(ReviewFileError, ImportFileError),
        rejections=(UploadTooLarge,),
        no_file=_("Choose a review file."),
        url_name="care:reviews_import",
        template="care/review_import.html",
    )
    return mapped_upload_page(request, request.user, upload)


def _back(request: ShopRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return default


@shop_view()
@require_POST
def invite(request: ShopRequest) -> HttpResponse:
    """Ask an order's buyer for a review (the order page's button)."""
    order_id = _int(request.POST.get("order"))
    if order_id is None:
        raise Http404("no such order")
    order = access_order(request.user, order_id)
    try:
        review_invites.invite_to_review(order=order, actor=request.user)
    except ValidationError as exc:
        messages.error(request, "; ".join(exc.messages))
    else:
        messages.success(request, _("Review invitation sent."))
    return redirect(_back(request, reverse("care:reviews")))
