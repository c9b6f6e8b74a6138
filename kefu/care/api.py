"""The care domain over the API: the case archive (`router`, mounted at /metrics/cases) and
complaints, promises, alerts and settings (`care_router`, mounted at /care)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from pydantic import Field

from kefu.accounts.access import api_user, needs, shop_auth
from kefu.accounts.models import Platform, User
from kefu.accounts.permissions import Capability
from kefu.accounts.scoping import shop_of
from kefu.automation.selectors import buyer_language
from kefu.care import alerts as alert_services
from kefu.care import analysis, config, selectors, services
from kefu.care import calls as call_services
from kefu.care import complaints as complaint_services
from kefu.care import feedback as feedback_services
from kefu.care import promises as promise_services
from kefu.care import returns as return_services
from kefu.care import revisits as revisit_reads
from kefu.care.listing import listed
from kefu.care.models import CallTask, Case, Complaint, Feedback, Promise, ReturnRequest
from kefu.conversations.selectors import access_conversation
from kefu.core.schema_types import ErrorOut, Instant
from kefu.orders.selectors import access_order

router = Router(auth=shop_auth, tags=["care"])


class CaseIn(Schema):
    title: str = Field(min_length=1, max_length=200)
    event: str = Field(min_length=1, max_length=10_000)
    follow_up: str = Field(default="", max_length=10_000)
    outcome: str = Field(default="", max_length=10_000)
    outcome_kind: Literal["open", "resolved", "escalated", "lost"] = "resolved"
    tags: str = Field(default="", max_length=200)
    date: dt.date | None = None
    conversation_id: int | None = None
    agent_id: int | None = None


class CaseOut(Schema):
    id: int
    date: dt.date
    title: str
    agent: str
    buyer: str
    conversation_id: int | None
    event: str
    follow_up: str
    outcome: str
    outcome_kind: str
    tags: str


def _case_out(case: Case) -> CaseOut:
    return CaseOut(
        id=case.pk,
        date=case.date,
        title=case.title,
        agent=case.agent_name,
        buyer=case.buyer_name,
        conversation_id=case.conversation_id,
        event=case.event,
        follow_up=case.follow_up,
        outcome=case.outcome,
        outcome_kind=case.outcome_kind,
        tags=case.tags,
    )


class CasesQuery(Schema):
    q: str = Field(default="", max_length=200)
    outcome: Literal["", "open", "resolved", "escalated", "lost"] = ""


@router.get("", response=list[CaseOut])
def cases(request: HttpRequest, q: Query[CasesQuery]) -> list[CaseOut]:
    filters = {"query": q.q, "outcome": q.outcome}
    return listed(selectors.visible_cases, api_user(request), filters, limit=500, out=_case_out)


@router.post("", response={201: CaseOut, 404: ErrorOut})
def create_case(request: HttpRequest, payload: CaseIn) -> Status[CaseOut]:
    user = api_user(request)
    conversation = (
        access_conversation(user, payload.conversation_id)
        if payload.conversation_id is not None
        else None
    )
    case = services.save_case(
        actor=user,
        conversation=conversation,
        data=services.CaseInput(
            title=payload.title,
            event=payload.event,
            date=payload.date,
            follow_up=payload.follow_up,
            outcome=payload.outcome,
            outcome_kind=payload.outcome_kind,
            tags=payload.tags,
            agent_id=payload.agent_id,
        ),
    )
    return Status(201, _case_out(case))


# --- after-sale care at /api/v1/care: complaints, promises, alerts, settings ---------------

care_router = Router(auth=shop_auth, tags=["care"])


class ComplaintIn(Schema):
    cause: str = Field(min_length=1, max_length=40)
    summary: str = Field(default="", max_length=10_000)
    severity: Literal["low", "medium", "high"] = "medium"
    dispute: bool = False
    conversation_id: int | None = None
    order_id: int | None = None
    product_ids: list[int] = Field(default_factory=list, max_length=50)
    owner_id: int | None = None


class ComplaintPatch(Schema):
    status: Literal["open", "waiting_buyer", "waiting_platform", "resolved"] | None = None
    resolution: Literal["", "kept", "refunded", "returned", "escalated", "lost"] | None = None
    cause: str | None = Field(default=None, min_length=1, max_length=40)
    severity: Literal["low", "medium", "high"] | None = None
    summary: str | None = Field(default=None, max_length=10_000)
    owner_id: int | None = None
    compensation_kind: (
        Literal["", "refund", "partial_refund", "coupon", "reshipment", "gift"] | None
    ) = None
    compensation_amount: Decimal | None = Field(
        default=None, ge=0, lt=Decimal("1e12"), max_digits=14, decimal_places=2
    )
    compensation_currency: str | None = Field(default=None, max_length=3)
    compensation_state: Literal["", "offered", "accepted", "declined"] | None = None


class ComplaintOut(Schema):
    id: int
    kind: str
    source: str
    status: str
    resolution: str
    cause: str
    severity: str
    summary: str
    channel: str
    buyer: str | None
    order_id: int | None
    order_external_id: str | None
    conversation_id: int | None
    products: list[str]
    owner: str | None
    compensation_kind: str
    compensation_amount: Decimal | None
    compensation_currency: str
    compensation_state: str
    respond_by: dt.datetime | None
    opened_at: dt.datetime
    resolved_at: dt.datetime | None


def _complaint_out(c: Complaint) -> ComplaintOut:
    return ComplaintOut(
        id=c.pk,
        kind=c.kind,
        source=c.source,
        status=c.status,
        resolution=c.resolution,
        cause=c.cause,
        severity=c.severity,
        summary=c.summary,
        channel=c.channel,
        buyer=str(c.buyer) if c.buyer is not None else None,
        order_id=c.order_id,
        order_external_id=c.order.external_id if c.order is not None else None,
        conversation_id=c.conversation_id,
        products=selectors.complaint_products(c),
        owner=c.owner.name_for_buyers if c.owner is not None else None,
        compensation_kind=c.compensation_kind,
        compensation_amount=c.compensation_amount,
        compensation_currency=c.compensation_currency,
        compensation_state=c.compensation_state,
        respond_by=c.respond_by,
        opened_at=c.opened_at,
        resolved_at=c.resolved_at,
    )


class ComplaintsQuery(Schema):
    status: Literal["", "active", "open", "waiting_buyer", "waiting_platform", "resolved"] = ""
    cause: str = Field(default="", max_length=40)
    kind: Literal["", "complaint", "dispute"] = ""


@care_router.get("/complaints", response=list[ComplaintOut])
def complaints(request: HttpRequest, q: Query[ComplaintsQuery]) -> list[ComplaintOut]:
    """Complaints and disputes the caller may see, newest first (at most 500)."""
    user = api_user(request)
    return listed(selectors.visible_complaints, user, q.dict(), limit=500, out=_complaint_out)


@care_router.post("/complaints", response={201: ComplaintOut, 400: ErrorOut, 404: ErrorOut})
def create_complaint(request: HttpRequest, payload: ComplaintIn) -> Status[ComplaintOut]:
    """Record a complaint from a conversation, an order or by hand; 400 for an unknown cause."""
    user = api_user(request)
    conversation = (
        access_conversation(user, payload.conversation_id)
        if payload.conversation_id is not None
        else None
    )
    order = access_order(user, payload.order_id) if payload.order_id is not None else None
    complaint = complaint_services.open_complaint(
        actor=user,
        conversation=conversation,
        order=order,
        data=complaint_services.ComplaintInput(
            cause=payload.cause,
            summary=payload.summary,
            severity=payload.severity,
            dispute=payload.dispute,
            product_ids=tuple(payload.product_ids),
            owner_id=payload.owner_id,
        ),
    )
    return Status(201, _complaint_out(complaint))


class AnalysisQuery(Schema):
    since: dt.date | None = None
    until: dt.date | None = None


class GroupOut(Schema):
    key: str
    label: str
    complaints: int
    share: float | None
    resolved: int
    turned_around: int
    turnaround_rate: float | None
    orders: int | None
    complaint_rate: float | None


class AnalysisOut(Schema):
    since: dt.date
    until: dt.date
    total: int
    resolved: int
    turned_around: int
    turnaround_rate: float | None
    by_cause: list[GroupOut]
    by_product: list[GroupOut]
    by_agent: list[GroupOut]
    by_week: list[GroupOut]


def analysis_window(
    shop_today: dt.date, since: dt.date | None, until: dt.date | None
) -> tuple[dt.date, dt.date]:
    until = until or shop_today
    since = since or until - dt.timedelta(weeks=12)
    if since > until:
        since, until = until, since
    return since, until


@care_router.get("/complaints/analysis", response=AnalysisOut)
def complaint_analysis(request: HttpRequest, q: Query[AnalysisQuery]) -> AnalysisOut:
    """Counts and rates by cause, product, agent and week (default: the last 12 weeks)."""
    user = api_user(request)
    since, until = analysis_window(selectors.shop_today(shop_of(user)), q.since, q.until)
    a = analysis.cause_analysis(user, since=since, until=until)

    def groups(items: list[analysis.Group]) -> list[GroupOut]:
        return [
            GroupOut(
                key=g.key,
                label=g.label,
                complaints=g.complaints,
                share=a.share(g),
                resolved=g.resolved,
                turned_around=g.turned_around,
                turnaround_rate=g.turnaround_rate,
                orders=g.orders,
                complaint_rate=g.complaint_rate,
            )
            for g in items
        ]

    return AnalysisOut(
        since=a.since,
        until=a.until,
        total=a.total,
        resolved=a.resolved,
        turned_around=a.turned_around,
        turnaround_rate=a.turnaround_rate,
        by_cause=groups(a.by_cause),
        by_product=groups(a.by_product),
        by_agent=groups(a.by_agent),
        by_week=groups(a.by_week),
    )


@care_router.get("/complaints/{complaint_id}", response=ComplaintOut)
def complaint(request: HttpRequest, complaint_id: int) -> ComplaintOut:
    return _complaint_out(selectors.access_complaint(api_user(request), complaint_id))


@care_router.patch("/complaints/{complaint_id}", response={200: ComplaintOut, 400: ErrorOut})
def change_complaint(
    request: HttpRequest, complaint_id: int, payload: ComplaintPatch
) -> ComplaintOut:
    """Move a complaint on; "resolved" needs a resolution (400 otherwise)."""
    user = api_user(request)
    found = selectors.access_complaint(user, complaint_id)
    amount = payload.compensation_amount
    updated = complaint_services.update_complaint(
        actor=user,
        complaint=found,
        change=complaint_services.ComplaintChange(
            status=payload.status,
            resolution=payload.resolution,
            cause=payload.cause,
            severity=payload.severity,
            summary=payload.summary,
            owner_id=payload.owner_id,
            compensation_kind=payload.compensation_kind,
            compensation_amount=str(amount) if amount is not None else None,
            compensation_currency=payload.compensation_currency,
            compensation_state=payload.compensation_state,
        ),
    )
    return _complaint_out(updated)


class PromiseIn(Schema):
    what: str = Field(min_length=1, max_length=300)
    due_at: Instant
    conversation_id: int | None = None
    order_id: int | None = None
    message_id: int | None = None
    owner_id: int | None = None


class CommitmentIn(Schema):
    order_id: int
    kind: Literal["return_window", "repair"] = "return_window"
    days: int = Field(default=7, ge=1, le=3 * 365)


class CloseIn(Schema):
    kept: bool
    note: str = Field(default="", max_length=300)


class PromiseOut(Schema):
    id: int
    kind: str
    what: str
    status: str
    due_at: dt.datetime
    overdue: bool
    owner: str | None
    buyer: str | None
    order_external_id: str | None
    conversation_id: int | None
    message_id: int | None
    closed_at: dt.datetime | None
    note: str


def _promise_out(p: Promise) -> PromiseOut:
    return PromiseOut(
        id=p.pk,
        kind=p.kind,
        what=p.what,
        status=p.status,
        due_at=p.due_at,
        overdue=p.status == "open" and p.due_at <= timezone.now(),
        owner=p.owner.name_for_buyers if p.owner is not None else None,
        buyer=str(p.buyer) if p.buyer is not None else None,
        order_external_id=p.order.external_id if p.order is not None else None,
        conversation_id=p.conversation_id,
        message_id=p.message_id,
        closed_at=p.closed_at,
        note=p.note,
    )


class PromisesQuery(Schema):
    status: Literal["", "open", "kept", "broken"] = ""


@care_router.get("/promises", response=list[PromiseOut])
def promises(request: HttpRequest, q: Query[PromisesQuery]) -> list[PromiseOut]:
    """Promises the caller may see, soonest due first (at most 500)."""
    user = api_user(request)
    rows = selectors.visible_promises(user, status=q.status).order_by("due_at", "pk")
    return [_promise_out(p) for p in rows[:500]]


@care_router.post("/promises", response={201: PromiseOut, 400: ErrorOut, 404: ErrorOut})
def create_promise(request: HttpRequest, payload: PromiseIn) -> Status[PromiseOut]:
    """Track a promise made to a buyer, from a reply (`message_id`) or an order."""
    user = api_user(request)
    if payload.due_at.tzinfo is None:
        raise DjangoValidationError("give the due time with its offset")
    conversation = (
        access_conversation(user, payload.conversation_id)
        if payload.conversation_id is not None
        else None
    )
    order = access_order(user, payload.order_id) if payload.order_id is not None else None
    made = promise_services.record_promise(
        actor=user,
        conversation=conversation,
        order=order,
        data=promise_services.PromiseInput(
            what=payload.what,
            due_at=payload.due_at,
            owner_id=payload.owner_id,
            message_id=payload.message_id,
        ),
    )
    return Status(201, _promise_out(made))


@care_router.post("/promises/commitments", response={201: PromiseOut, 400: ErrorOut, 404: ErrorOut})
def create_commitment(request: HttpRequest, payload: CommitmentIn) -> Status[PromiseOut]:
    """A delivered order's 7-day no-reason return or repair commitment, due from delivery."""
    user = api_user(request)
    order = access_order(user, payload.order_id)
    made = promise_services.record_order_commitment(
        actor=user, order=order, kind=payload.kind, days=payload.days
    )
    return Status(201, _promise_out(made))


@care_router.post("/promises/{promise_id}/close", response={200: PromiseOut, 400: ErrorOut})
def close_promise(request: HttpRequest, promise_id: int, payload: CloseIn) -> PromiseOut:
    """Record the promise as kept or broken; 400 when it is already closed."""
    user = api_user(request)
    found = selectors.access_promise(user, promise_id)
    return _promise_out(
        promise_services.close_promise(
            actor=user, promise=found, kept=payload.kept, note=payload.note
        )
    )


class AlertOut(Schema):
    id: int
    kind: str
    text: str
    count: int
    baseline: Decimal
    complaint_id: int | None
    promise_id: int | None
    conversation_ids: list[int]
    created_at: dt.datetime


@care_router.get("/alerts", response=list[AlertOut])
def alerts(request: HttpRequest) -> list[AlertOut]:
    """Surge, deadline and promise alerts not dismissed yet (owners: the shop's)."""
    user = api_user(request)
    return [
        AlertOut(
            id=a.pk,
            kind=a.kind,
            text=selectors.alert_text(a),
            count=a.count,
            baseline=a.baseline,
            complaint_id=a.complaint_id,
            promise_id=a.promise_id,
            conversation_ids=[c.pk for c in selectors.alert_conversations(user, a)],
            created_at=a.created_at,
        )
        for a in selectors.live_alerts(user)[:100]
    ]


@care_router.post("/alerts/{alert_id}/dismiss", response={204: None})
def dismiss_alert(request: HttpRequest, alert_id: int) -> Status[None]:
    user = api_user(request)
    alert_services.dismiss_alert(actor=user, alert=selectors.access_alert(user, alert_id))
    return Status(204, None)


class CareSettingsIO(Schema):
    dispute_hours: dict[Literal["aliexpress", "tmall", "taobao", "generic"], int]
    remind_hours_before: int = Field(ge=0, le=336)
    surge_factor: Decimal = Field(gt=1, le=100, max_digits=5, decimal_places=2)
    surge_min_count: int = Field(ge=1, le=10_000)
    promise_due_soon_hours: int = Field(ge=1, le=336)
    causes: list[str]


def _settings_out(user: User) -> CareSettingsIO:
    shop = shop_of(user)
    s = config.care_settings(shop=shop)
    return CareSettingsIO(
        dispute_hours={p: config.dispute_hours(s, p) for p in Platform.values},  # type: ignore[misc]
        remind_hours_before=s.remind_hours_before,
        surge_factor=s.surge_factor,
        surge_min_count=s.surge_min_count,
        promise_due_soon_hours=s.promise_due_soon_hours,
        causes=[c.label for c in config.causes_of(shop)],
    )


@care_router.get("/settings", response=CareSettingsIO)
def care_settings(request: HttpRequest) -> CareSettingsIO:
    """Dispute deadlines per platform, reminders, the surge rule and the cause list."""
    return _settings_out(api_user(request))


@care_router.put("/settings", response={200: CareSettingsIO, 400: ErrorOut, 403: ErrorOut})
@needs(Capability.MANAGE_SETTINGS)
def save_care_settings(request: HttpRequest, payload: CareSettingsIO) -> CareSettingsIO:
    """Main account, or a sub-account allowed to change settings (403 otherwise)."""
    user = api_user(request)
    with transaction.atomic():
        config.save_care_settings(
            actor=user,
            data=config.SettingsInput(
                dispute_hours={str(k): v for k, v in payload.dispute_hours.items()},
                remind_hours_before=payload.remind_hours_before,
                surge_factor=payload.surge_factor,
                surge_min_count=payload.surge_min_count,
                promise_due_soon_hours=payload.promise_due_soon_hours,
            ),
        )
        config.save_causes(actor=user, labels=payload.causes)
    return _settings_out(user)


class ReturnIn(Schema):
    order_id: int
    kind: Literal["return", "exchange"] = "return"
    reason: str = Field(min_length=1, max_length=300)
    conversation_id: int | None = None


class StepIn(Schema):
    status: Literal[
        "approved", "sent_back", "received", "refunded", "replacement_shipped", "rejected"
    ]
    note: str = Field(default="", max_length=300)
    tracking_number: str = Field(default="", max_length=80)
    carrier: str = Field(default="", max_length=80)
    amount: Decimal | None = Field(default=None, gt=0, lt=Decimal("1e12"), decimal_places=2)


class StepOut(Schema):
    status: str
    at: dt.datetime
    by: str | None
    note: str


class ReturnOut(Schema):
    id: int
    kind: str
    status: str
    reason: str
    order_id: int
    order_external_id: str
    conversation_id: int | None
    return_tracking: str
    replacement_tracking: str | None
    next_steps: list[str]
    buyer_script: str
    steps: list[StepOut]


def _return_out(r: ReturnRequest, language: str) -> ReturnOut:
    return ReturnOut(
        id=r.pk,
        kind=r.kind,
        status=r.status,
        reason=r.reason,
        order_id=r.order_id,
        order_external_id=r.order.external_id,
        conversation_id=r.conversation_id,
        return_tracking=r.return_tracking,
        replacement_tracking=r.replacement.tracking_number if r.replacement else None,
        next_steps=list(return_services.next_steps(r)),
        buyer_script=return_services.buyer_script(r, language=language),
        steps=[
            StepOut(
                status=s.status,
                at=s.at,
                by=s.actor.name_for_buyers if s.actor else None,
                note=s.note,
            )
            for s in r.steps.select_related("actor")
        ],
    )


def _language(r: ReturnRequest) -> str:
    return (buyer_language(r.buyer) if r.buyer is not None else "") or "en"


class ReturnsQuery(Schema):
    status: Literal[
        "",
        "open",
        "requested",
        "approved",
        "sent_back",
        "received",
        "refunded",
        "replacement_shipped",
        "rejected",
    ] = ""


@care_router.get("/returns", response=list[ReturnOut])
def returns(request: HttpRequest, q: Query[ReturnsQuery]) -> list[ReturnOut]:
    """Returns and exchanges the caller may see, newest first (at most 200)."""
    return listed(
        selectors.visible_returns,
        api_user(request),
        q.dict(),
        limit=200,
        out=lambda r: _return_out(r, _language(r)),
    )


@care_router.post("/returns", response={201: ReturnOut, 400: ErrorOut, 404: ErrorOut})
def create_return(request: HttpRequest, payload: ReturnIn) -> Status[ReturnOut]:
    """The buyer asks to return or exchange; 400 when the order already has an open one."""
    user = api_user(request)
    order = access_order(user, payload.order_id)
    conversation = (
        access_conversation(user, payload.conversation_id)
        if payload.conversation_id is not None
        else None
    )
    made = return_services.open_return(
        actor=user, order=order, conversation=conversation, kind=payload.kind, reason=payload.reason
    )
    return Status(201, _return_out(made, _language(made)))


@care_router.get("/returns/{return_id}", response=ReturnOut)
def return_request(request: HttpRequest, return_id: int) -> ReturnOut:
    found = selectors.access_return(api_user(request), return_id)
    return _return_out(found, _language(found))


@care_router.post(
    "/returns/{return_id}/steps", response={200: ReturnOut, 400: ErrorOut, 403: ErrorOut}
)
def return_step(request: HttpRequest, return_id: int, payload: StepIn) -> ReturnOut:
    """The next step; "refunded" records the refund (403 without the refund right or over
    the limit), "replacement_shipped" adds the reshipment parcel; 400 for a step that cannot
    follow."""
    user = api_user(request)
    found = selectors.access_return(user, return_id)
    moved = return_services.advance_return(
        actor=user,
        request=found,
        step=return_services.StepInput(
            status=payload.status,
            note=payload.note,
            tracking_number=payload.tracking_number,
            carrier=payload.carrier,
            amount=str(payload.amount) if payload.amount is not None else "",
        ),
    )
    return _return_out(moved, _language(moved))


class RevisitOut(Schema):
    buyer_id: int
    buyer: str
    language: str
    product_id: int
    product: str
    order_external_id: str
    delivered_on: dt.date
    runs_out_on: dt.date
    days_left: int
    order_id: int
    opted_out: bool
    revisited: str


class RevisitQuery(Schema):
    lead: int = Field(default=3, ge=0, le=60)


@care_router.get("/revisits", response=list[RevisitOut])
def revisits(request: HttpRequest, q: Query[RevisitQuery]) -> list[RevisitOut]:
    """Buyers due a revisit by the products' usage cycles (R-34), in the shop's days."""
    rows = revisit_reads.revisit_table(api_user(request), lead_days=q.lead)
    return [RevisitOut(**vars(r)) for r in rows]


class FeedbackIn(Schema):
    conversation_id: int
    kind: Literal["suggestion", "opinion", "praise", "problem"]
    text: str = Field(min_length=1, max_length=5000)
    product_id: int | None = None


class FeedbackOut(Schema):
    id: int
    kind: str
    text: str
    buyer: str | None
    product: str | None
    conversation_id: int | None
    created_at: dt.datetime


def _feedback_out(f: Feedback) -> FeedbackOut:
    return FeedbackOut(
        id=f.pk,
        kind=f.kind,
        text=f.text,
        buyer=str(f.buyer) if f.buyer else None,
        product=f.product.title if f.product else None,
        conversation_id=f.conversation_id,
        created_at=f.created_at,
    )


class FeedbackQuery(Schema):
    kind: Literal["", "suggestion", "opinion", "praise", "problem"] = ""


@care_router.get("/feedback", response=list[FeedbackOut])
def feedback(request: HttpRequest, q: Query[FeedbackQuery]) -> list[FeedbackOut]:
    """Buyers' feedback the caller may read, newest first (at most 500)."""
    user = api_user(request)
    return listed(selectors.visible_feedback, user, q.dict(), limit=500, out=_feedback_out)


@care_router.post("/feedback", response={201: FeedbackOut, 400: ErrorOut, 404: ErrorOut})
def create_feedback(request: HttpRequest, payload: FeedbackIn) -> Status[FeedbackOut]:
    """Save what a buyer suggested or thought, from a conversation the caller serves."""
    user = api_user(request)
    conversation = access_conversation(user, payload.conversation_id)
    saved = feedback_services.save_feedback(
        actor=user,
        conversation=conversation,
        kind=payload.kind,
        text=payload.text,
        product_id=payload.product_id,
    )
    return Status(201, _feedback_out(saved))


class CallTaskOut(Schema):
    id: int
    reason: str
    buyer: str | None
    phone: str
    order_external_id: str | None
    complaint_id: int | None
    call_by: dt.datetime
    last_outcome: str


class CallLogIn(Schema):
    outcome: Literal["reached", "no_answer", "agreed", "refused"]
    note: str = Field(default="", max_length=300)
    next_step: str = Field(default="", max_length=300)


def _call_out(t: CallTask) -> CallTaskOut:
    return CallTaskOut(
        id=t.pk,
        reason=t.reason,
        buyer=str(t.buyer) if t.buyer else None,
        phone=t.order.phone if t.order else "",
        order_external_id=t.order.external_id if t.order else None,
        complaint_id=t.complaint_id,
        call_by=t.call_by,
        last_outcome=t.last_outcome,
    )


@care_router.get("/calls", response=list[CallTaskOut])
def call_tasks(request: HttpRequest) -> list[CallTaskOut]:
    """Open call tasks, soonest first: late shipments to explain, disputes near deadline."""
    return listed(selectors.visible_call_tasks, api_user(request), {}, limit=300, out=_call_out)


@care_router.post("/calls/{task_id}/log", response={200: CallTaskOut, 400: ErrorOut})
def log_call(request: HttpRequest, task_id: int, payload: CallLogIn) -> CallTaskOut:
    """Log a call; reached or agreed closes the task."""
    user = api_user(request)
    task = selectors.access_call_task(user, task_id)
    call_services.log_call(
        actor=user,
        task=task,
        outcome=payload.outcome,
        note=payload.note,
        next_step=payload.next_step,
    )
    return _call_out(task)
