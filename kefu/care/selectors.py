"""Reads of the care domain, scoped to what the actor may see: the case archive, complaints
and their deadlines, promises, the workbench's alerts."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, has_capability
from kefu.accounts.scoping import shop_of
from kefu.care.config import care_settings
from kefu.care.models import (
    RETURN_DONE,
    AlertKind,
    CallLog,
    CallOutcome,
    CallReason,
    CallTask,
    CareAlert,
    Case,
    Complaint,
    ComplaintProduct,
    ComplaintStatus,
    Feedback,
    Promise,
    PromiseStatus,
    ReturnRequest,
)
from kefu.care.promise_text import find_promise
from kefu.conversations.models import Conversation, Direction, Message
from kefu.conversations.selectors import visible_conversations
from kefu.orders.selectors import visible_orders


def shop_today(shop: Shop) -> dt.date:
    """Today in the shop's time zone: the default date of a new case."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(shop.timezone)).date()


def visible_cases(actor: User, *, query: str = "", outcome: str = "") -> QuerySet[Case]:
    """The owner sees every case; a sub-account its own and those it saved."""
    shop = shop_of(actor)
    qs = Case.objects.filter(shop=shop).select_related(
        "agent", "conversation", "revisit__order", "revisit__second_order"
    )
    if not has_capability(actor, Capability.SEE_ALL):
        qs = qs.filter(Q(agent=actor) | Q(created_by=actor))
    if query:
        for word in query.split()[:6]:
            qs = qs.filter(
                Q(title__icontains=word)
                | Q(event__icontains=word)
                | Q(follow_up__icontains=word)
                | Q(outcome__icontains=word)
                | Q(tags__icontains=word)
                | Q(agent_name__icontains=word)
                | Q(buyer_name__icontains=word)
            )
    if outcome:
        qs = qs.filter(outcome_kind=outcome)
    return qs


# --- complaints -----------------------------------------------------------------------------


def visible_complaints(
    actor: User, *, status: str = "", cause: str = "", kind: str = ""
) -> QuerySet[Complaint]:
    """The owner sees every complaint; a sub-account those it owns or opened and those of its
    conversations, orders and products (R-02)."""
    shop = shop_of(actor)
    qs = Complaint.objects.filter(shop=shop)
    if not actor.is_owner:
        mine = ComplaintProduct.objects.filter(shop=shop, product__owner=actor).values(
            "complaint_id"
        )
        qs = qs.filter(
            Q(owner=actor)
            | Q(created_by=actor)
            | Q(conversation__in=visible_conversations(actor).values("pk"))
            | Q(order__in=visible_orders(actor).values("pk"))
            | Q(pk__in=mine)
        )
    if status == "active":
        qs = qs.exclude(status=ComplaintStatus.RESOLVED)
    elif status:
        qs = qs.filter(status=status)
    if cause:
        qs = qs.filter(cause=cause)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("buyer", "order", "owner", "conversation")


def access_complaint(actor: User, complaint_id: int) -> Complaint:
    found = visible_complaints(actor).filter(pk=complaint_id).first()
    if found is None:
        raise Http404("no such complaint")
    return found


def complaint_products(complaint: Complaint) -> list[str]:
    return list(
        ComplaintProduct.objects.filter(complaint=complaint)
        .order_by("product__title")
        .values_list("product__title", flat=True)
    )


@dataclass(frozen=True)
class DeadlineRow:
    complaint: Complaint
    respond_by: dt.datetime
    time_left: dt.timedelta

    @property
    def missed(self) -> bool:
        return self.time_left < dt.timedelta(0)

    @property
    def hours_left(self) -> float:
        return round(self.time_left.total_seconds() / 3600, 1)

    @property
    def seconds_left(self) -> float:
        return self.time_left.total_seconds()


def dispute_deadlines(actor: User, *, now: dt.datetime | None = None) -> list[DeadlineRow]:
    """Open disputes whose marketplace deadline is within the reminder window or past, soonest
    first: the risk board's care rows."""
    now = now or timezone.now()
    settings_ = care_settings(shop=shop_of(actor))
    horizon = now + dt.timedelta(hours=max(settings_.remind_hours_before, 24))
    rows = (
        visible_complaints(actor, status="active")
        .filter(respond_by__isnull=False, respond_by__lte=horizon)
        .order_by("respond_by", "pk")[:200]
    )
    return [
        DeadlineRow(c, c.respond_by, c.respond_by - now) for c in rows if c.respond_by is not None
    ]


# --- promises -------------------------------------------------------------------------------


def visible_promises(actor: User, *, status: str = "") -> QuerySet[Promise]:
    """The owner sees every promise (the inspection); a sub-account its own and those of its
    conversations and orders."""
    shop = shop_of(actor)
    qs = Promise.objects.filter(shop=shop)
    if not actor.is_owner:
        qs = qs.filter(
            Q(owner=actor)
            | Q(conversation__in=visible_conversations(actor).values("pk"))
            | Q(order__in=visible_orders(actor).values("pk"))
        )
    if status:
        qs = qs.filter(status=status)
    return qs.select_related("owner", "order", "buyer", "conversation")


def access_promise(actor: User, promise_id: int) -> Promise:
    found = visible_promises(actor).filter(pk=promise_id).first()
    if found is None:
        raise Http404("no such promise")
    return found


@dataclass(frozen=True)
class PromiseBoard:
    overdue: list[Promise]
    due_soon: list[Promise]
    later: list[Promise]
    closed: list[Promise]


def promise_board(
    actor: User, *, mine_only: bool = False, now: dt.datetime | None = None
) -> PromiseBoard:
    """Open promises split into overdue, due soon and later; the latest closed ones."""
    now = now or timezone.now()
    settings_ = care_settings(shop=shop_of(actor))
    soon = now + dt.timedelta(hours=settings_.promise_due_soon_hours)
    qs = visible_promises(actor)
    if mine_only:
        qs = qs.filter(owner=actor)
    open_ = list(qs.filter(status=PromiseStatus.OPEN).order_by("due_at", "pk")[:500])
    closed = list(qs.exclude(status=PromiseStatus.OPEN).order_by("-closed_at", "-pk")[:50])
    return PromiseBoard(
        overdue=[p for p in open_ if p.due_at <= now],
        due_soon=[p for p in open_ if now < p.due_at <= soon],
        later=[p for p in open_ if p.due_at > soon],
        closed=closed,
    )


def promises_due_on(
    actor: User, *, day: dt.date, now: dt.datetime | None = None
) -> tuple[dt.datetime, PromiseBoard]:
    """The promises overdue and due soon as of the end of `day` in the shop's time zone (as of
    now for today): those made by then and still open then, even if kept or broken since —
    what an owner inspecting that day would have seen. Returns (that moment, the board)."""
    shop = shop_of(actor)
    now = now or timezone.now()
    end = dt.datetime.combine(
        day + dt.timedelta(days=1), dt.time(0), tzinfo=zoneinfo.ZoneInfo(shop.timezone)
    )
    moment = min(end, now)
    soon = moment + dt.timedelta(hours=care_settings(shop=shop).promise_due_soon_hours)
    open_then = list(
        visible_promises(actor)
        .filter(created_at__lte=moment, due_at__lte=soon)
        .filter(Q(status=PromiseStatus.OPEN) | Q(closed_at__gt=moment))
        .select_related("owner")
        .order_by("due_at", "pk")[:500]
    )
    return moment, PromiseBoard(
        overdue=[p for p in open_then if p.due_at <= moment],
        due_soon=[p for p in open_then if p.due_at > moment],
        later=[],
        closed=[],
    )


@dataclass(frozen=True)
class PromiseTally:
    agent: str
    kept: int
    broken: int
    open: int
    overdue: int

    @property
    def kept_rate(self) -> float | None:
        done = self.kept + self.broken
        return round(self.kept / done, 3) if done else None


def promise_tally(
    actor: User, *, since: dt.datetime, now: dt.datetime | None = None
) -> list[PromiseTally]:
    """Kept and broken promises per agent since `since`, and the open and overdue ones now."""
    now = now or timezone.now()
    counts: dict[int | None, dict[str, int]] = {}
    names: dict[int | None, str] = {}
    rows = visible_promises(actor).filter(Q(status=PromiseStatus.OPEN) | Q(closed_at__gte=since))
    for owner_id, status, due_at in rows.values_list("owner_id", "status", "due_at"):
        c = counts.setdefault(owner_id, {"kept": 0, "broken": 0, "open": 0, "overdue": 0})
        c[status] += 1
        if status == PromiseStatus.OPEN and due_at <= now:
            c["overdue"] += 1
    for user in User.objects.filter(pk__in=[k for k in counts if k is not None]):
        names[user.pk] = user.name_for_buyers
    return sorted(
        (
            PromiseTally(names.get(k, "—"), v["kept"], v["broken"], v["open"], v["overdue"])
            for k, v in counts.items()
        ),
        key=lambda t: t.agent,
    )


@dataclass(frozen=True)
class PromiseOffer:
    message_id: int
    what: str
    due_at: dt.datetime


# An offer stays in the reply box this long after the reply was sent.
OFFER_WINDOW = dt.timedelta(hours=2)


def promise_offer(actor: User, conv: Conversation) -> PromiseOffer | None:
    """The actor's latest reply in the chat, when it promises something with a time and no
    promise was recorded from it yet: what the reply box offers to track. Reads only."""
    last = (
        Message.objects.filter(
            conversation=conv,
            direction=Direction.AGENT,
            author=actor,
            sent_at__gte=timezone.now() - OFFER_WINDOW,
        )
        .order_by("-sent_at", "-pk")
        .only("pk", "text", "sent_at")
        .first()
    )
    if last is None or not last.text:
        return None
    if Promise.objects.filter(shop_id=conv.shop_id, message=last).exists():
        return None
    guess = find_promise(last.text, now=last.sent_at, timezone_name=shop_of(actor).timezone)
    if guess is None:
        return None
    return PromiseOffer(message_id=last.pk, what=guess.what, due_at=guess.due_at)


# --- alerts ---------------------------------------------------------------------------------


def live_alerts(actor: User) -> QuerySet[CareAlert]:
    """Alerts not dismissed yet: the owner sees the shop's, a sub-account those addressed to
    it."""
    qs = CareAlert.objects.filter(shop=shop_of(actor), dismissed_at__isnull=True)
    if not actor.is_owner:
        qs = qs.filter(user=actor)
    return qs.select_related("complaint", "promise").order_by("-created_at", "-pk")


def access_alert(actor: User, alert_id: int) -> CareAlert:
    qs = CareAlert.objects.filter(shop=shop_of(actor))
    if not actor.is_owner:
        qs = qs.filter(user=actor)
    found = qs.filter(pk=alert_id).first()
    if found is None:
        raise Http404("no such alert")
    return found


def alert_text(alert: CareAlert) -> str:
    """The alert in the reader's language."""
    if alert.kind == AlertKind.SURGE:
        values = {"n": alert.count, "what": alert.label, "base": f"{alert.baseline:.1f}"}
        if alert.scope == "shop":
            return (
                _("Complaint surge: %(n)s complaints in the last hour (usual: %(base)s)") % values
            )
        return (
            _(
                "Complaint surge: %(n)s complaints about “%(what)s” in the last hour "
                "(usual: %(base)s)"
            )
            % values
        )
    if alert.kind == AlertKind.DEADLINE:
        if alert.scope == "passed":
            return _("Dispute #%(id)s: the marketplace's deadline has passed") % {
                "id": alert.complaint_id
            }
        return _("Dispute #%(id)s: answer the marketplace before its deadline") % {
            "id": alert.complaint_id
        }
    if alert.kind == AlertKind.PROMISE_OVERDUE:
        return _("Promise overdue: %(what)s") % {"what": alert.label}
    return _("Promise due soon: %(what)s") % {"what": alert.label}


def alert_conversations(actor: User, alert: CareAlert) -> list[Conversation]:
    """The conversations behind an alert, as far as the actor may see them."""
    ids = [i for i in alert.conversation_ids if isinstance(i, int)]
    return list(
        visible_conversations(actor)
        .filter(pk__in=ids)
        .select_related("buyer", "assignee")
        .order_by("-last_message_at")
    )


# --- returns and exchanges ------------------------------------------------------------------


def visible_returns(actor: User, *, status: str = "") -> QuerySet[ReturnRequest]:
    """The owner sees every return; a sub-account those of orders with its products and of
    its conversations, and the ones it opened."""
    shop = shop_of(actor)
    qs = ReturnRequest.objects.filter(shop=shop)
    if not actor.is_owner:
        qs = qs.filter(
            Q(order__in=visible_orders(actor).values("pk"))
            | Q(conversation__in=visible_conversations(actor).values("pk"))
            | Q(created_by=actor)
        )
    if status == "open":
        qs = qs.exclude(status__in=RETURN_DONE)
    elif status:
        qs = qs.filter(status=status)
    return qs.select_related("order", "buyer", "conversation", "replacement")


def access_return(actor: User, return_id: int) -> ReturnRequest:
    found = visible_returns(actor).filter(pk=return_id).first()
    if found is None:
        raise Http404("no such return")
    return found


def visible_feedback(actor: User, *, kind: str = "") -> QuerySet[Feedback]:
    """The owner reads every buyer's feedback; a sub-account what it saved and what was said
    in its conversations."""
    shop = shop_of(actor)
    qs = Feedback.objects.filter(shop=shop)
    if not actor.is_owner:
        qs = qs.filter(
            Q(created_by=actor) | Q(conversation__in=visible_conversations(actor).values("pk"))
        )
    if kind:
        qs = qs.filter(kind=kind)
    return qs.select_related("buyer", "product", "created_by")


def visible_call_tasks(actor: User, *, done: bool = False) -> QuerySet[CallTask]:
    """The owner and the outreach group see every call; another sub-account the calls about
    orders and complaints it may see."""
    shop = shop_of(actor)
    qs = CallTask.objects.filter(shop=shop, done_at__isnull=not done)
    if not (actor.is_owner or actor.in_outreach):
        qs = qs.filter(
            Q(order__in=visible_orders(actor).values("pk"))
            | Q(complaint__in=visible_complaints(actor).values("pk"))
        )
    return qs.select_related("order", "buyer", "complaint")


def access_call_task(actor: User, task_id: int) -> CallTask:
    found = (
        visible_call_tasks(actor).filter(pk=task_id).first()
        or visible_call_tasks(actor, done=True).filter(pk=task_id).first()
    )
    if found is None:
        raise Http404("no such call")
    return found


def call_tally(actor: User, *, since: dt.datetime) -> list[tuple[str, dict[str, int]]]:
    """Calls logged per agent since `since`, by outcome."""
    qs = CallLog.objects.filter(shop=shop_of(actor), at__gte=since)
    if not (actor.is_owner or actor.in_outreach):
        qs = qs.filter(agent=actor)
    tally: dict[str, dict[str, int]] = {}
    for name, username, outcome in qs.values_list(
        "agent__display_name", "agent__username", "outcome"
    ):
        row = tally.setdefault(name or username or "—", {})
        row[outcome] = row.get(outcome, 0) + 1
    return sorted(tally.items())


UNSETTLED_CALLS = (CallOutcome.REFUSED, CallOutcome.NO_ANSWER)


def late_call_marks(actor: User) -> dict[int, str]:
    """order id -> the last outcome of its late-shipment call, for the orders whose buyer
    refused the delay or did not answer: the risk board keeps them marked as such."""
    rows = (
        visible_call_tasks(actor)
        .filter(reason=CallReason.LATE_SHIPMENT, last_outcome__in=UNSETTLED_CALLS)
        .values_list("order_id", "last_outcome")
    )
    labels = dict(CallOutcome.choices)
    return {order_id: str(labels[outcome]) for order_id, outcome in rows if order_id is not None}
