"""After-sale care: the case archive (案例备份, R-35), complaints and disputes with their causes
and surge alerts (R-31), promises and commitments (R-28, R-32)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Shop


class CaseOutcome(models.TextChoices):
    OPEN = "open", _("Still open 处理中")
    RESOLVED = "resolved", _("Resolved 已解决")
    ESCALATED = "escalated", _("Escalated to the platform 平台介入")
    LOST = "lost", _("Buyer lost 流失")


class Case(models.Model):
    """A notable conversation saved for team training (案例备份, R-35)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    date = models.DateField(_("date 日期"))
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Kept as text so the case still reads right after the login or the buyer is gone.
    agent_name = models.CharField(max_length=150, blank=True)
    buyer_name = models.CharField(max_length=120, blank=True)
    title = models.CharField(_("title"), max_length=200)
    event = models.TextField(_("event 事件"))
    follow_up = models.TextField(_("follow-up 跟进"), blank=True)
    outcome = models.TextField(_("outcome 结果"), blank=True)
    outcome_kind = models.CharField(
        max_length=12, choices=CaseOutcome.choices, default=CaseOutcome.RESOLVED
    )
    tags = models.CharField(_("tags"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # The table the metrics app created: the model moved apps, the rows stayed put.
        db_table = "metrics_case"
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["shop", "-date"], name="case_shop_date")]

    def __str__(self) -> str:
        return self.title


# --- complaints and disputes (R-31) ---------------------------------------------------------


class ComplaintKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint 投诉")
    DISPUTE = "dispute", _("Marketplace dispute 纠纷")


class ComplaintSource(models.TextChoices):
    CONVERSATION = "conversation", _("From a conversation")
    ORDER = "order", _("From an order")
    DISPUTE = "dispute", _("Opened by a marketplace dispute")
    MANUAL = "manual", _("By hand")


class ComplaintStatus(models.TextChoices):
    OPEN = "open", _("Open 处理中")
    WAITING_BUYER = "waiting_buyer", _("Waiting for the buyer 等买家")
    WAITING_PLATFORM = "waiting_platform", _("Waiting for the platform 等平台")
    RESOLVED = "resolved", _("Resolved 已结束")


class Resolution(models.TextChoices):
    KEPT = "kept", _("Buyer kept 挽回")
    REFUNDED = "refunded", _("Refunded 退款")
    RETURNED = "returned", _("Returned 退货")
    ESCALATED = "escalated", _("Escalated to the platform 平台介入")
    LOST = "lost", _("Buyer lost 流失")


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class CompensationKind(models.TextChoices):
    REFUND = "refund", _("Refund 退款")
    PARTIAL_REFUND = "partial_refund", _("Partial refund 部分退款")
    COUPON = "coupon", _("Coupon 优惠券")
    RESHIPMENT = "reshipment", _("Reshipment 补发")
    GIFT = "gift", _("Gift 赠品")


class CompensationState(models.TextChoices):
    OFFERED = "offered", _("Offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")


class ComplaintCause(models.Model):
    """A cause of the shop's taxonomy. Until the owner edits it the shop uses the default list
    (`kefu.care.causes.DEFAULT_CAUSES`); the first edit stores the whole list here."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="complaint_cause_code_per_shop")
        ]

    def __str__(self) -> str:
        return self.label


class Complaint(models.Model):
    """A complaint or a marketplace dispute, from opening to its resolution (R-31)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ComplaintKind.choices)
    source = models.CharField(max_length=14, choices=ComplaintSource.choices)
    buyer = models.ForeignKey(
        "conversations.Buyer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    channel = models.CharField(max_length=20, blank=True)
    cause = models.CharField(max_length=40)
    severity = models.CharField(max_length=6, choices=Severity.choices, default=Severity.MEDIUM)
    summary = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=ComplaintStatus.choices, default=ComplaintStatus.OPEN
    )
    resolution = models.CharField(max_length=10, choices=Resolution.choices, blank=True)
    compensation_kind = models.CharField(
        max_length=16, choices=CompensationKind.choices, blank=True
    )
    compensation_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    compensation_currency = models.CharField(max_length=3, blank=True)
    compensation_state = models.CharField(
        max_length=10, choices=CompensationState.choices, blank=True
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The marketplace's deadline for the shop's answer to a dispute (None for a complaint).
    respond_by = models.DateTimeField(null=True, blank=True)
    # What opened a dispute automatically ("order:12", "conversation:34"): one complaint each.
    dispute_key = models.CharField(max_length=40, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "opened_at"], name="complaint_opened"),
            models.Index(fields=["shop", "status", "respond_by"], name="complaint_deadline"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "dispute_key"],
                condition=~models.Q(dispute_key=""),
                name="one_complaint_per_dispute",
            )
        ]

    def __str__(self) -> str:
        return f"complaint #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status != ComplaintStatus.RESOLVED


class ComplaintProduct(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    # The complaint's opening time, copied: the surge detector counts by product and hour.
    opened_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["complaint", "product"], name="complaint_product_once")
        ]
        indexes = [models.Index(fields=["shop", "opened_at"], name="complaint_product_opened")]

    def __str__(self) -> str:
        return f"product {self.product_id} of complaint {self.complaint_id}"


class CareSettings(models.Model):
    """A shop's after-sale settings; read with defaults until the owner saves them."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    # {"aliexpress": 120, "tmall": 48, ...}: hours the marketplace gives to answer a dispute.
    dispute_hours = models.JSONField(default=dict, blank=True)
    remind_hours_before = models.PositiveIntegerField(default=12)
    surge_factor = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("3"))
    surge_min_count = models.PositiveIntegerField(default=3)
    promise_due_soon_hours = models.PositiveIntegerField(default=24)

    def __str__(self) -> str:
        return f"care settings of {self.shop}"


class AlertKind(models.TextChoices):
    SURGE = "surge", _("Complaint surge 投诉激增")
    DEADLINE = "deadline", _("Dispute deadline 纠纷时限")
    PROMISE_DUE = "promise_due", _("Promise due 承诺将到期")
    PROMISE_OVERDUE = "promise_overdue", _("Promise overdue 承诺已逾期")


class CareAlert(models.Model):
    """A notice in the workbench: a surge for the owners, a deadline or a promise for its
    owner (``user``; None: the shop's main accounts)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # "surge:cause:quality:2026-11-30T14", "deadline:12:…": the same alert is raised once.
    key = models.CharField(max_length=120)
    # A surge's scope ("shop", "cause", "product") and what it is about (a cause's label, a
    # product's title); the text is written at display time, in the reader's language.
    scope = models.CharField(max_length=10, blank=True)
    label = models.CharField(max_length=300, blank=True)
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    promise = models.ForeignKey(
        "Promise", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    count = models.PositiveIntegerField(default=0)
    baseline = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    conversation_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    dismissed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="care_alert_once")]
        indexes = [models.Index(fields=["shop", "dismissed_at"], name="care_alert_live")]

    def __str__(self) -> str:
        return self.key


# --- promises (R-28, R-32) ------------------------------------------------------------------


class PromiseKind(models.TextChoices):
    REPLY = "reply", _("Promised in a reply")
    MANUAL = "manual", _("Recorded by hand")
    RETURN_WINDOW = "return_window", _("7-day no-reason return 七天无理由")
    REPAIR = "repair", _("Repair 保修")


class PromiseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    KEPT = "kept", _("Kept 已兑现")
    BROKEN = "broken", _("Broken 未兑现")


class Promise(models.Model):
    """Something the shop promised a buyer, by a time (R-28: a broken promise costs points)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=14, choices=PromiseKind.choices)
    what = models.CharField(max_length=300)
    buyer = models.ForeignKey(
        "conversations.Buyer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=PromiseStatus.choices, default=PromiseStatus.OPEN
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["shop", "status", "due_at"], name="promise_due")]
        constraints = [
            # One return window and one repair commitment per order.
            models.UniqueConstraint(
                fields=["shop", "order", "kind"],
                condition=models.Q(kind__in=["return_window", "repair"]),
                name="one_order_commitment_per_kind",
            )
        ]

    def __str__(self) -> str:
        return self.what


# --- returns and exchanges (R-30) -----------------------------------------------------------


class ReturnKind(models.TextChoices):
    RETURN = "return", _("Return and refund 退货退款")
    EXCHANGE = "exchange", _("Exchange 换货")


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested 已申请")
    APPROVED = "approved", _("Approved 已同意")
    SENT_BACK = "sent_back", _("Buyer sent it back 买家已寄回")
    RECEIVED = "received", _("Received 已收货")
    REFUNDED = "refunded", _("Refunded 已退款")
    REPLACEMENT_SHIPPED = "replacement_shipped", _("Replacement shipped 已换新发出")
    REJECTED = "rejected", _("Rejected 已拒绝")


RETURN_DONE = ("refunded", "replacement_shipped", "rejected")


class ReturnRequest(models.Model):
    """A return or an exchange of an order, step by step (R-30)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey(
        "conversations.Buyer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    kind = models.CharField(max_length=10, choices=ReturnKind.choices)
    reason = models.CharField(max_length=300)
    status = models.CharField(
        max_length=20, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED
    )
    # The buyer's parcel back to the shop.
    return_tracking = models.CharField(max_length=80, blank=True)
    return_carrier = models.CharField(max_length=80, blank=True)
    refund = models.ForeignKey(
        "orders.Refund", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    replacement = models.ForeignKey(
        "orders.Parcel", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "status"], name="return_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "order"],
                condition=~models.Q(status__in=RETURN_DONE),
                name="one_open_return_per_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class ReturnStep(models.Model):
    """One step of a return: when, who, and what was noted (a tracking number, an amount)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    request = models.ForeignKey(ReturnRequest, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=20, choices=ReturnStatus.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} of return {self.request_id}"


# --- buyers' feedback (R-40) ----------------------------------------------------------------


class FeedbackKind(models.TextChoices):
    SUGGESTION = "suggestion", _("Suggestion 建议")
    OPINION = "opinion", _("Opinion 意见")
    PRAISE = "praise", _("Praise 表扬")
    PROBLEM = "problem", _("Product problem 产品问题")


class Feedback(models.Model):
    """A buyer's suggestion or opinion saved from a conversation, for the owner to read."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=12, choices=FeedbackKind.choices)
    text = models.TextField()
    conversation = models.ForeignKey(
        "conversations.Conversation",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    buyer = models.ForeignKey(
        "conversations.Buyer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "-created_at"], name="feedback_recent")]

    def __str__(self) -> str:
        return self.text[:40]


# --- the call group's work (呼叫组, R-42) ----------------------------------------------------


class CallReason(models.TextChoices):
    LATE_SHIPMENT = "late_shipment", _("Late shipment: ask to accept a short delay")
    DISPUTE = "dispute", _("Dispute near its deadline")
    MANUAL = "manual", _("Added by hand")
    NEGATIVE_REVIEW = "negative_review", _("Negative review: call the buyer")
    REVISIT = "revisit", _("Revisit: the buyer is about to run out")


class CallOutcome(models.TextChoices):
    REACHED = "reached", _("Reached 已接通")
    NO_ANSWER = "no_answer", _("No answer 未接通")
    AGREED = "agreed", _("Agreed 已同意")
    REFUSED = "refused", _("Refused 拒绝")


class CallTask(models.Model):
    """A buyer to phone. Kefu does not dial: it lists, assigns and measures the calling."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=16, choices=CallReason.choices)
    # "late_shipment:order:12", "dispute:34": one task each.
    key = models.CharField(max_length=80)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    complaint = models.ForeignKey(
        Complaint, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    buyer = models.ForeignKey(
        "conversations.Buyer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    call_by = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    last_outcome = models.CharField(max_length=10, choices=CallOutcome.choices, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["call_by", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="call_task_once")]
        indexes = [models.Index(fields=["shop", "done_at", "call_by"], name="call_task_open")]

    def __str__(self) -> str:
        return self.key


class CallLog(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(CallTask, on_delete=models.CASCADE, related_name="calls")
    outcome = models.CharField(max_length=10, choices=CallOutcome.choices)
    note = models.CharField(max_length=300, blank=True)
    next_step = models.CharField(max_length=300, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} on {self.task_id}"


# --- reviews (R-43) -------------------------------------------------------------------------


class ReviewLevel(models.TextChoices):
    POSITIVE = "positive", _("Positive 好评")
    MEDIUM = "medium", _("Medium 中评")
    NEGATIVE = "negative", _("Negative 差评")


class ReviewSource(models.TextChoices):
    IMPORT = "import", _("Imported file")
    WEBHOOK = "webhook", _("Marketplace webhook")


class Review(models.Model):
    """A buyer's review of an order, as the marketplace shows it (imported or pushed)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    # The marketplace's review id (or, for an export without one, the order, product and
    # time): the same review imported twice is one row.
    external_id = models.CharField(max_length=120)
    platform = models.CharField(max_length=20)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    order_external_id = models.CharField(max_length=80, blank=True)
    buyer = models.ForeignKey(
        "conversations.Buyer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    buyer_name = models.CharField(max_length=120, blank=True)
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    product_external_id = models.CharField(max_length=80, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    level = models.CharField(max_length=10, choices=ReviewLevel.choices)
    text = models.TextField(blank=True)
    posted_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=ReviewSource.choices)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-posted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="review_once_per_shop")
        ]
        indexes = [models.Index(fields=["shop", "level", "-posted_at"], name="review_shop_level")]

    def __str__(self) -> str:
        return self.external_id


class ReviewTaskStatus(models.TextChoices):
    OPEN = "open", _("To contact 待联系")
    CONTACTED = "contacted", _("Contacted 已联系")
    REVIEW_UPDATED = "review_updated", _("Review updated 已追评/改评")
    RESOLVED = "resolved", _("Resolved 已解决")


class ReviewTask(models.Model):
    """A medium or negative review for the after-sale or call group to handle: contact the
    buyer, settle it (with compensation or not) and see whether the review changes."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    review = models.OneToOneField(Review, on_delete=models.CASCADE, related_name="task")
    group = models.CharField(max_length=12)
    status = models.CharField(
        max_length=16, choices=ReviewTaskStatus.choices, default=ReviewTaskStatus.OPEN
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    call = models.ForeignKey(
        CallTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    compensation_kind = models.CharField(
        max_length=16, choices=CompensationKind.choices, blank=True
    )
    compensation_amount = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True
    )
    compensation_currency = models.CharField(max_length=3, blank=True)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["closed_at", "-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "status"], name="review_task_status")]

    def __str__(self) -> str:
        return f"review task {self.pk}"


class ReviewTaskStep(models.Model):
    """One move of a review task, with who made it and when."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    task = models.ForeignKey(ReviewTask, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=16, choices=ReviewTaskStatus.choices)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.status} on {self.task_id}"


class ReviewSettings(models.Model):
    """How a shop reads scores and who handles reviews; invitations after delivery."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    # Tmall shows stars, not 中评/差评: a score at or below this counts as negative.
    tmall_negative_at_most = models.PositiveSmallIntegerField(default=3)
    task_group = models.CharField(max_length=12, default="after_sale")
    invite_enabled = models.BooleanField(default=False)
    invite_after_days = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"review settings of {self.shop_id}"


class ReviewInvitation(models.Model):
    """An order whose buyer was asked for a review: once per order, however it was sent."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "order"], name="review_invitation_once")
        ]

    def __str__(self) -> str:
        return f"invitation for {self.order_id}"


# --- follow-ups and revisits sent (R-34) ----------------------------------------


class FollowUpKind(models.TextChoices):
    AFTER_PURCHASE = "after_purchase", _("Right after purchase 下单后")
    AT_DELIVERY = "at_delivery", _("At delivery 签收时")
    AFTER_DAYS = "after_days", _("N days after delivery 签收N天后")
    # Not sent by an order event: the script the revisit table's one click sends.
    REVISIT = "revisit", _("Revisit script 回访话术")


class FollowUpRule(models.Model):
    """A message the shop sends on an order event, with a text per language (R-33, R-48)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=FollowUpKind.choices)
    # Days after delivery, for the "after N days" rule (a review invitation where allowed).
    days = models.PositiveIntegerField(default=0)
    # {"en": "...", "ru": "..."}: the buyer's language, else the fallback's text.
    texts = models.JSONField(default=dict)
    fallback_language = models.CharField(max_length=10, default="en")
    active = models.BooleanField(default=True)
    # Only events after this moment are followed up: a new rule does not message old orders.
    active_since = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "kind"], name="follow_up_rule_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} of shop {self.shop_id}"


class FollowUpSettings(models.Model):
    """How follow-ups and revisits keep to the shop's hours: the shop's one quiet hours
    setting (orders' OrderSettings.quiet_start/quiet_end) always; with `business_hours_only`
    a message also waits for opening."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    business_hours_only = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"follow-up settings of {self.shop}"


class FollowUpStatus(models.TextChoices):
    PENDING = "pending", _("Waiting 待发送")
    SENT = "sent", _("Sent 已发送")
    SKIPPED = "skipped", _("Not sent 未发送")


class FollowUp(models.Model):
    """One follow-up of one order: written once per (order, kind), sent when due."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=FollowUpKind.choices)
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey("conversations.Buyer", on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    status = models.CharField(
        max_length=8, choices=FollowUpStatus.choices, default=FollowUpStatus.PENDING
    )
    # Why it waits or was not sent: quiet_hours, complaint_open, opted_out, blocked, expired.
    reason = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=10, blank=True)
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind"], name="follow_up_once_per_order")
        ]
        indexes = [models.Index(fields=["shop", "status", "due_at"], name="follow_up_due")]

    def __str__(self) -> str:
        return f"{self.kind} of order {self.order_id}"


class RevisitWay(models.TextChoices):
    MESSAGE = "message", _("Message sent 已发消息")
    CALL = "call", _("Call task 已建电话任务")


class Revisit(models.Model):
    """A revisit the team made from the revisit table (one per delivered order and product):
    a script sent or a call task; its results are read from later messages and orders."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    buyer = models.ForeignKey("conversations.Buyer", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    # The delivered order whose product is running out.
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="+")
    way = models.CharField(max_length=8, choices=RevisitWay.choices)
    message = models.ForeignKey(
        "conversations.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    call_task = models.ForeignKey(
        CallTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The case it was saved as, with the second sale it led to.
    case = models.OneToOneField(
        Case, on_delete=models.SET_NULL, null=True, blank=True, related_name="revisit"
    )
    second_order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "product"], name="revisit_once_per_order")
        ]
        indexes = [models.Index(fields=["shop", "at"], name="revisit_recent")]

    def __str__(self) -> str:
        return f"revisit of order {self.order_id}"
