"""Reads of reviews and review tasks, scoped to what the actor may see: the main account sees
the shop's; a sub-account the reviews of its products, of orders it may see and of buyers
whose conversations it serves, and the tasks it owns; the call group the tasks sent to it."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404

from kefu.accounts.models import ServiceGroup, User
from kefu.accounts.scoping import shop_of
from kefu.automation.selectors import Suggestion, buyer_language, suggest_scripts
from kefu.care.models import Review, ReviewTask
from kefu.care.reviews import CLOSED
from kefu.conversations.models import Conversation
from kefu.conversations.selectors import visible_conversations
from kefu.orders.selectors import visible_orders


def _review_scope(actor: User, prefix: str = "") -> Q:
    return (
        Q(**{f"{prefix}product__owner": actor})
        | Q(**{f"{prefix}order__in": visible_orders(actor).values("pk")})
        | Q(**{f"{prefix}buyer__in": visible_conversations(actor).values("buyer_id")})
    )


def visible_reviews(actor: User, *, level: str = "") -> QuerySet[Review]:
    qs = Review.objects.filter(shop=shop_of(actor))
    if not actor.is_owner:
        qs = qs.filter(_review_scope(actor))
    if level:
        qs = qs.filter(level=level)
    return qs.select_related("order", "buyer", "product")


def visible_review_tasks(actor: User, *, status: str = "") -> QuerySet[ReviewTask]:
    """`status` "active" is every task not closed; "" every task."""
    qs = ReviewTask.objects.filter(shop=shop_of(actor))
    if not actor.is_owner:
        scope = _review_scope(actor, "review__") | Q(owner=actor)
        if actor.in_outreach:
            # The call group works the tasks sent to it, like its call list.
            scope |= Q(group=ServiceGroup.OUTREACH)
        qs = qs.filter(scope)
    if status == "active":
        qs = qs.exclude(status__in=CLOSED)
    elif status:
        qs = qs.filter(status=status)
    return qs.select_related(
        "review", "review__order", "review__buyer", "review__product", "owner", "call"
    )


def access_review_task(actor: User, task_id: int) -> ReviewTask:
    found = visible_review_tasks(actor).filter(pk=task_id).first()
    if found is None:
        raise Http404("no such review task")
    return found


def review_conversations(actor: User, task: ReviewTask) -> list[Conversation]:
    """The buyer's conversations the actor may read: the history behind the review."""
    if task.review.buyer_id is None:
        return []
    return list(
        visible_conversations(actor)
        .filter(buyer_id=task.review.buyer_id)
        .order_by("-last_message_at")[:20]
    )


def review_scripts(task: ReviewTask) -> list[Suggestion]:
    """After-sale scripts that fit the review's words, in the buyer's language."""
    review = task.review
    language = buyer_language(review.buyer) if review.buyer is not None else ""
    return suggest_scripts(
        shop=review.shop,
        conversation_stage="after_sale",
        text=review.text or "review",
        language=language or None,
        limit=3,
    )
