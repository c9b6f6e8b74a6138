"""Reviews over the API (R-43): the signed review webhook (`inbound_router`, mounted at
/inbound) and the review tasks, invitations, settings and revisit calls (`router`, mounted at
/care)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Query, Router, Schema, Status
from pydantic import Field, ValidationError

from kefu.accounts.access import api_user, needs, shop_auth
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.care import review_invites, review_selectors, reviews
from kefu.care.listing import listed
from kefu.care.models import Review, ReviewSource, ReviewTask
from kefu.core.controls import loads_clean
from kefu.core.schema_types import ErrorOut, Instant, field_errors
from kefu.integrations.webhook_auth import (
    RateLimitedProblem,
    signed_json_body,
    signed_webhook,
    webhook_shop,
)
from kefu.orders.selectors import access_order

inbound_router = Router(tags=["inbound"])
router = Router(auth=shop_auth, tags=["care"])


class InboundReview(Schema):
    """A review as the marketplace reports it: a score (1-5) or a level, or both."""

    external_id: str = Field(min_length=1, max_length=120)
    posted_at: Instant
    rating: int | None = Field(default=None, ge=1, le=5)
    level: Literal["", "positive", "medium", "negative"] = ""
    text: str = Field(default="", max_length=5000)
    order_external_id: str = Field(default="", max_length=80)
    product_external_id: str = Field(default="", max_length=80)
    buyer_name: str = Field(default="", max_length=120)


class ReviewAccepted(Schema):
    review_id: int
    level: str
    outcome: str = Field(description="created, updated or unchanged")
    task_id: int | None


@inbound_router.post(
    "/reviews",
    auth=signed_webhook,
    response={
        200: ReviewAccepted,
        201: ReviewAccepted,
        400: ErrorOut,
        401: ErrorOut,
        413: ErrorOut,
        429: RateLimitedProblem,
    },
    summary="Receive a buyer's review from a marketplace (signed)",
    openapi_extra=signed_json_body(InboundReview),
    operation_id="kefu_care_inbound_review",
)
def inbound_review(request: HttpRequest) -> HttpResponse:
    """Signed like the other webhooks (`X-Kefu-Shop`, `X-Kefu-Timestamp`, `X-Kefu-Signature`).

    Idempotent on `external_id`: 201 when created, 200 when it existed (a changed score or
    text updates it). A medium or negative review opens a review task (`task_id`).
    """
    shop = webhook_shop(request)
    try:
        data = loads_clean(request.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return JsonResponse({"detail": "body is not JSON"}, status=400)
    try:
        payload = InboundReview.model_validate(data)
    except ValidationError as exc:
        return JsonResponse(
            {"detail": "invalid review", "errors": field_errors(exc.errors())}, status=400
        )
    if payload.posted_at.tzinfo is None:
        return JsonResponse({"detail": "posted_at needs a time zone offset"}, status=400)
    try:
        stored = reviews.store_review(
            shop=shop,
            data=reviews.ReviewInput(
                external_id=payload.external_id,
                posted_at=payload.posted_at,
                rating=payload.rating,
                level_label=payload.level,
                text=payload.text,
                order_external_id=payload.order_external_id,
                product_external_id=payload.product_external_id,
                buyer_name=payload.buyer_name,
            ),
            source=ReviewSource.WEBHOOK,
        )
    except DjangoValidationError as exc:
        return JsonResponse({"detail": "; ".join(exc.messages)}, status=400)
    task = ReviewTask.objects.filter(review=stored.review).first()
    outcome = "created" if stored.created else "updated" if stored.changed else "unchanged"
    return JsonResponse(
        {
            "review_id": stored.review.pk,
            "level": stored.review.level,
            "outcome": outcome,
            "task_id": task.pk if task else None,
        },
        status=201 if stored.created else 200,
    )


# --- review tasks ---------------------------------------------------------------------------


class ReviewOut(Schema):
    id: int
    external_id: str
    level: str
    rating: int | None
    text: str
    posted_at: dt.datetime
    order_external_id: str
    buyer: str
    product: str | None


class ReviewStepOut(Schema):
    status: str
    note: str
    by: str | None
    at: dt.datetime


class ReviewScriptOut(Schema):
    script_id: int
    title: str
    body: str


class ReviewTaskOut(Schema):
    id: int
    status: str
    group: str
    next_steps: list[str]
    review: ReviewOut
    order_id: int | None
    conversation_ids: list[int]
    call_task_id: int | None
    compensation_kind: str
    compensation_amount: Decimal | None
    compensation_currency: str
    steps: list[ReviewStepOut]
    scripts: list[ReviewScriptOut]


def _review_out(r: Review) -> ReviewOut:
    return ReviewOut(
        id=r.pk,
        external_id=r.external_id,
        level=r.level,
        rating=r.rating,
        text=r.text,
        posted_at=r.posted_at,
        order_external_id=r.order_external_id,
        buyer=str(r.buyer) if r.buyer else r.buyer_name,
        product=r.product.title if r.product else None,
    )


def _task_out(request: HttpRequest, task: ReviewTask, *, detail: bool = False) -> ReviewTaskOut:
    user = api_user(request)
    return ReviewTaskOut(
        id=task.pk,
        status=task.status,
        group=task.group,
        next_steps=list(reviews.NEXT.get(task.status, ())),
        review=_review_out(task.review),
        order_id=task.review.order_id,
        conversation_ids=[c.pk for c in review_selectors.review_conversations(user, task)]
        if detail
        else [],
        call_task_id=task.call_id,
        compensation_kind=task.compensation_kind,
        compensation_amount=task.compensation_amount,
        compensation_currency=task.compensation_currency,
        steps=[
            ReviewStepOut(
                status=s.status,
                note=s.note,
                by=s.actor.name_for_buyers if s.actor else None,
                at=s.at,
            )
            for s in task.steps.select_related("actor")
        ]
        if detail
        else [],
        scripts=[
            ReviewScriptOut(script_id=s.script_id, title=s.title, body=s.body)
            for s in review_selectors.review_scripts(task)
        ]
        if detail
        else [],
    )


class TasksQuery(Schema):
    status: Literal["", "active", "open", "contacted", "review_updated", "resolved"] = "active"


@router.get("/reviews/tasks", response=list[ReviewTaskOut])
def review_tasks(request: HttpRequest, q: Query[TasksQuery]) -> list[ReviewTaskOut]:
    """Review tasks the caller may see (default: not closed), newest first (at most 300)."""
    return listed(
        review_selectors.visible_review_tasks,
        api_user(request),
        q.dict(),
        limit=300,
        out=lambda t: _task_out(request, t),
    )


@router.get("/reviews/tasks/{task_id}", response=ReviewTaskOut)
def review_task(request: HttpRequest, task_id: int) -> ReviewTaskOut:
    """One task with its steps, the buyer's conversations and suggested scripts."""
    task = review_selectors.access_review_task(api_user(request), task_id)
    return _task_out(request, task, detail=True)


class OutcomeIn(Schema):
    status: Literal["contacted", "review_updated", "resolved"]
    note: str = Field(default="", max_length=300)
    compensation_kind: Literal["", "refund", "partial_refund", "coupon", "reshipment", "gift"] = ""
    compensation_amount: Decimal | None = Field(
        default=None, ge=0, lt=Decimal("1e12"), max_digits=14, decimal_places=2
    )
    compensation_currency: str = Field(default="", max_length=3)


@router.post("/reviews/tasks/{task_id}/outcome", response={200: ReviewTaskOut, 400: ErrorOut})
def review_outcome(request: HttpRequest, task_id: int, payload: OutcomeIn) -> ReviewTaskOut:
    """Record the next step; 400 for a step the task cannot take from where it is."""
    user = api_user(request)
    task = review_selectors.access_review_task(user, task_id)
    amount = payload.compensation_amount
    reviews.record_outcome(
        actor=user,
        task=task,
        data=reviews.OutcomeInput(
            status=payload.status,
            note=payload.note,
            compensation_kind=payload.compensation_kind,
            compensation_amount=str(amount) if amount is not None else "",
            compensation_currency=payload.compensation_currency,
        ),
    )
    return _task_out(request, review_selectors.access_review_task(user, task_id), detail=True)


class ReviewsQuery(Schema):
    level: Literal["", "positive", "medium", "negative"] = ""


@router.get("/reviews", response=list[ReviewOut])
def review_list(request: HttpRequest, q: Query[ReviewsQuery]) -> list[ReviewOut]:
    """Reviews the caller may see, newest first (at most 500)."""
    user = api_user(request)
    return listed(review_selectors.visible_reviews, user, q.dict(), limit=500, out=_review_out)


class ReviewInvitationIn(Schema):
    order_id: int


class ReviewInvitationOut(Schema):
    order_id: int
    message_id: int | None
    sent_at: dt.datetime


@router.post(
    "/reviews/invitations", response={201: ReviewInvitationOut, 400: ErrorOut, 404: ErrorOut}
)
def invite(request: HttpRequest, payload: ReviewInvitationIn) -> Status[ReviewInvitationOut]:
    """Ask the order's buyer for a review: once per order, after delivery, with no complaint
    open; through the rule guard (400 with the reason otherwise)."""
    user = api_user(request)
    order = access_order(user, payload.order_id)
    sent = review_invites.invite_to_review(order=order, actor=user)
    return Status(
        201,
        ReviewInvitationOut(order_id=order.pk, message_id=sent.message_id, sent_at=sent.sent_at),
    )


class ReviewSettingsIO(Schema):
    tmall_negative_at_most: int = Field(ge=1, le=4)
    task_group: Literal["after_sale", "outreach"]
    invite_enabled: bool
    invite_after_days: int = Field(ge=0, le=60)


def _settings_out(request: HttpRequest) -> ReviewSettingsIO:
    s = reviews.review_settings(shop_of(api_user(request)))
    return ReviewSettingsIO(
        tmall_negative_at_most=s.tmall_negative_at_most,
        task_group=s.task_group,  # type: ignore[arg-type]
        invite_enabled=s.invite_enabled,
        invite_after_days=s.invite_after_days,
    )


@router.get("/reviews/settings", response=ReviewSettingsIO)
def review_settings(request: HttpRequest) -> ReviewSettingsIO:
    return _settings_out(request)


@router.put("/reviews/settings", response={200: ReviewSettingsIO, 400: ErrorOut, 403: ErrorOut})
@needs(Capability.MANAGE_SETTINGS)
def save_review_settings(request: HttpRequest, payload: ReviewSettingsIO) -> ReviewSettingsIO:
    """Main account, or a sub-account allowed to change settings (403 otherwise)."""
    reviews.save_review_settings(
        actor=api_user(request), data=reviews.ReviewSettingsInput(**payload.dict())
    )
    return _settings_out(request)
