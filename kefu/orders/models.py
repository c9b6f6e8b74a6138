"""Orders, their items, parcels and tracking events, refunds, alerts and per-shop settings.

Every row carries its shop. The platform's own ids (order id, tracking number, tracking
event id) are unique per shop so a retried import or webhook stores nothing twice.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Shop
from kefu.catalog.models import Product
from kefu.conversations.models import Buyer


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed, unpaid 待付款")
    PAID = "paid", _("Paid, to ship 待发货")
    SHIPPED = "shipped", _("Shipped 已发货")
    DELIVERED = "delivered", _("Delivered 已签收")
    CLOSED = "closed", _("Closed 交易关闭")
    REFUNDED = "refunded", _("Refunded 已退款")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded 部分退款")


# A status only moves forward: an old export or a late webhook never undoes newer news.
STATUS_RANK: dict[str, int] = {
    OrderStatus.PLACED: 0,
    OrderStatus.PAID: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.DELIVERED: 3,
    OrderStatus.PARTIALLY_REFUNDED: 4,
    OrderStatus.REFUNDED: 5,
    OrderStatus.CLOSED: 5,
}


class OrderFlag(models.TextChoices):
    """Facts that need care in-sale (R-20) and the mark duties they imply (R-06)."""

    ADDRESS_CHANGE = "address_change", _("Address change 改地址")
    INVOICE_REQUESTED = "invoice_requested", _("Invoice requested 开发票")
    OVERSOLD = "oversold", _("Oversold 超卖")
    SPLIT = "split", _("Split shipment 拆单")
    PARTIALLY_SHIPPED = "partially_shipped", _("Partially shipped 部分发货")
    RESHIPMENT = "reshipment", _("Reshipment 补发")
    PAYMENT_ANOMALY = "payment_anomaly", _("Payment anomaly 支付异常")
    CANCEL_REQUESTED = "cancel_requested", _("Cancellation requested 取消中")
    DISPUTE_OPEN = "dispute_open", _("Dispute open 纠纷中")
    FROZEN = "frozen", _("Frozen by the platform 冻结")
    # Duties: yellow (send the new tracking number), green (refunded), purple (refunded in a
    # logistics dispute, then delivered after all: ask the buyer to pay).
    SEND_NEW_TRACKING = "send_new_tracking", _("Send the buyer the new tracking number")
    REFUNDED = "refunded", _("Refunded 已退款")
    LOGISTICS_DISPUTE_REFUND = "logistics_dispute_refund", _("Refunded in a logistics dispute")
    ASK_BUYER_TO_PAY = "ask_buyer_to_pay", _("Delivered after a dispute refund: ask to pay")
    LATE_SHIPMENT = "late_shipment", _("Shipped late 延迟发货")


class StockStatus(models.TextChoices):
    UNKNOWN = "unknown", _("Unknown")
    ENOUGH = "enough", _("In stock")
    SHORT = "short", _("Short of stock")


class OrderSource(models.TextChoices):
    IMPORT = "import", _("Import")
    WEBHOOK = "webhook", _("Webhook")
    MANUAL = "manual", _("Manual")


class Order(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(_("platform order id 订单编号"), max_length=80)
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="orders")
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    platform_status = models.CharField(_("status on the platform"), max_length=60, blank=True)
    currency = models.CharField(max_length=3)
    goods_amount = models.DecimalField(
        _("goods 货款"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    shipping_fee = models.DecimalField(
        _("shipping 邮费"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    total_amount = models.DecimalField(
        _("total 总金额"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    # The amount the buyer actually paid (实际支付金额): the base of the late-shipment penalty.
    paid_amount = models.DecimalField(
        _("actually paid 实付"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    refunded_amount = models.DecimalField(
        _("refunded 退款"), max_digits=14, decimal_places=2, default=Decimal("0")
    )
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    ship_by = models.DateTimeField(_("promised ship-by"), null=True, blank=True)
    stock_status = models.CharField(
        max_length=10, choices=StockStatus.choices, default=StockStatus.UNKNOWN
    )
    flags = models.JSONField(default=list, blank=True)
    buyer_message = models.TextField(_("buyer's note 买家留言"), blank=True)
    seller_note = models.TextField(_("seller's note 订单备注"), blank=True)
    receiver_name = models.CharField(max_length=120, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.CharField(max_length=400, blank=True)
    country = models.CharField(max_length=60, blank=True)
    region = models.CharField(_("province/state"), max_length=80, blank=True)
    shipping_method = models.CharField(max_length=80, blank=True)
    invoice_title = models.CharField(max_length=200, blank=True)
    close_reason = models.CharField(max_length=200, blank=True)
    payment_reminded_at = models.DateTimeField(null=True, blank=True)
    # The source's own time of the newest state applied (the webhook's updated_at or signing
    # time): an older report arriving later, a replay, never overwrites a newer one.
    source_updated_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=10, choices=OrderSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"], name="order_external_id_per_shop"
            )
        ]
        indexes = [
            models.Index(fields=["shop", "status", "ship_by"], name="order_status_shipby"),
            models.Index(fields=["shop", "buyer", "-placed_at"], name="order_buyer"),
            models.Index(fields=["shop", "status", "placed_at"], name="order_status_placed"),
            # The revisit table reads the orders delivered within a window of days (care).
            models.Index(fields=["shop", "delivered_at"], name="order_delivered"),
            # Covers the outreach segments' per-buyer spend and order count, read from the
            # index alone (decisions §59): 4–9 s → under 1 s over 1M orders on PostgreSQL.
            models.Index(fields=["shop", "buyer", "paid_amount"], name="order_buyer_paid"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def has_flag(self, flag: str) -> bool:
        return flag in self.flags

    @property
    def is_paid(self) -> bool:
        return self.paid_at is not None


class OrderItem(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="order_items"
    )
    product_external_id = models.CharField(max_length=80, blank=True)
    # The seller's code (商家编码) the export gave: links the item when it has no product id,
    # also to products imported later.
    sku = models.CharField(max_length=80, blank=True)
    # One row per product (or per title when the export has no product id): re-imports update it.
    key = models.CharField(max_length=300)
    title = models.CharField(max_length=300)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "key"], name="order_item_key"),
        ]
        indexes = [models.Index(fields=["shop", "product"], name="order_item_product")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def line_total(self) -> Decimal:
        return self.unit_price * self.quantity


class TrackingStatus(models.TextChoices):
    INFO_RECEIVED = "info_received", _("Info received 已揽收信息")
    IN_TRANSIT = "in_transit", _("In transit 运输中")
    AT_CUSTOMS = "at_customs", _("At customs 清关中")
    AVAILABLE_FOR_PICKUP = "available_for_pickup", _("Available for pickup 待取件")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Out for delivery 派送中")
    DELIVERED = "delivered", _("Delivered 已签收")
    DELIVERY_FAILED = "delivery_failed", _("Delivery failed 投递失败")
    EXCEPTION = "exception", _("Exception 异常")
    RETURNED = "returned", _("Returned 已退回")


# Not a stored status: shown when a live parcel has had no event for the shop's stall_days.
STALLED = "stalled"
TERMINAL_TRACKING = frozenset({TrackingStatus.DELIVERED, TrackingStatus.RETURNED})


class Parcel(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="parcels")
    carrier = models.CharField(max_length=80, blank=True)
    tracking_number = models.CharField(max_length=80)
    status = models.CharField(
        max_length=24, choices=TrackingStatus.choices, default=TrackingStatus.INFO_RECEIVED
    )
    shipped_at = models.DateTimeField()
    last_event_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    is_reshipment = models.BooleanField(default=False)
    replaces = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaced_by"
    )
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipped_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "tracking_number"], name="parcel_tracking_number_per_shop"
            )
        ]
        indexes = [models.Index(fields=["shop", "status", "last_event_at"], name="parcel_live")]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}".strip()

    @property
    def quiet_since(self) -> dt.datetime:
        """When the parcel was last heard of: the stall clock starts here."""
        return self.last_event_at or self.shipped_at


class TrackingEvent(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="events")
    status = models.CharField(max_length=24, choices=TrackingStatus.choices)
    raw_status = models.CharField(max_length=80, blank=True)
    description = models.CharField(max_length=500, blank=True)
    location = models.CharField(max_length=160, blank=True)
    occurred_at = models.DateTimeField()
    # The carrier's event id, or a digest of (time, status, description) when it has none.
    dedupe_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["parcel", "dedupe_key"], name="tracking_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.status}"


class RefundChannel(models.TextChoices):
    PLATFORM = "platform", _("Platform 平台")
    PAYPAL = "paypal", "PayPal"
    OTHER = "other", _("Other 其他")


class RefundKind(models.TextChoices):
    REFUND = "refund", _("Refund only 仅退款")
    RETURN = "return", _("Return and refund 退货退款")


class Refund(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    kind = models.CharField(max_length=10, choices=RefundKind.choices, default=RefundKind.REFUND)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=300)
    channel = models.CharField(max_length=10, choices=RefundChannel.choices)
    logistics_dispute = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"refund {self.amount} {self.currency}"


class OrderEventKind(models.TextChoices):
    """What happened to an order; `kefu.orders.events` has one writer per kind."""

    CREATED = "created", _("Order received")
    STATUS_CHANGED = "status_changed", _("Status")
    FLAG_ADDED = "flag_added", _("Flag added")
    FLAG_CLEARED = "flag_cleared", _("Marked as done")
    PARCEL_ADDED = "parcel_added", _("Parcel added")
    PARCEL_STATUS = "parcel_status", _("Parcel")
    REFUND_RECORDED = "refund_recorded", _("Refund recorded")
    PAYMENT_REMINDED = "payment_reminded", _("Payment reminder sent")
    SHIP_BY_MISSED = "ship_by_missed", _("Ship-by missed")
    PARCEL_STALLED_ALERT = "parcel_stalled_alert", _("Stalled parcel: note for the agent")
    PARCEL_PICKUP_ALERT = "parcel_pickup_alert", _("Waiting for pickup: note for the agent")
    INCIDENT_NOTIFIED = "incident_notified", _("Incident message sent")


class OrderEvent(models.Model):
    """One row per state change of an order: its timeline and the metrics' feed."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40, choices=OrderEventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["shop", "kind", "created_at"], name="order_event_kind")]

    def __str__(self) -> str:
        return f"{self.kind} on order {self.order_id}"


# Cross-border refunds: the card networks take 3 to 20 business days to show the money.
DEFAULT_REFUND_DAYS = "3–20"


class ShipByPolicy(models.IntegerChoices):
    H24 = 24, _("Ship within 24 h of payment")
    H72 = 72, _("Ship within 72 h of payment")


class OrderSettings(models.Model):
    """A shop's logistics-assistant settings; created with defaults on first use."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="order_settings")
    stall_days = models.PositiveIntegerField(
        _("a parcel is stalled after N days without news"), default=7
    )
    payment_reminder_enabled = models.BooleanField(default=True)
    payment_reminder_delay_minutes = models.PositiveIntegerField(default=60)
    # Orders older than this are not reminded at all: a reminder days later is noise.
    payment_reminder_max_age_hours = models.PositiveIntegerField(default=48)
    quiet_start = models.TimeField(_("quiet hours start"), default=dt.time(22, 0))
    quiet_end = models.TimeField(_("quiet hours end"), default=dt.time(8, 0))
    ship_by_hours = models.PositiveIntegerField(choices=ShipByPolicy.choices, default=72)
    # How long a refund takes to reach the buyer, in business days ("3–20" or "7"): what
    # scripts ({refund_days}) and the rule guard's suggested wording promise.
    refund_days = models.CharField(
        _("refund reaches the buyer within (business days)"),
        max_length=20,
        default=DEFAULT_REFUND_DAYS,
    )
    risk_window_hours = models.PositiveIntegerField(
        _("show on the risk board this many hours before ship-by"), default=12
    )
    penalty_rate = models.DecimalField(max_digits=5, decimal_places=4, default=Decimal("0.30"))
    penalty_cap = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    penalty_cap_currency = models.CharField(max_length=3, default="CNY")
    # {"carrier name or code": "https://.../{number}"}; matched case-insensitively.
    tracking_url_templates = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"order settings of {self.shop}"


class LateShipment(models.Model):
    """A paid order that was not shipped by its promise: recorded once, with the penalty."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="late_shipment")
    ship_by = models.DateTimeField()
    penalty = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    recorded_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"late shipment of order {self.order_id}"


class ParcelAlertKind(models.TextChoices):
    STALLED = "stalled", _("Stalled parcel")
    PICKUP = "pickup", _("Waiting for pickup")


class ParcelAlert(models.Model):
    """One alert per parcel, kind and episode (`since` = the last news at the time)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    parcel = models.ForeignKey(Parcel, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(max_length=10, choices=ParcelAlertKind.choices)
    since = models.DateTimeField()
    conversation_id = models.BigIntegerField(null=True, blank=True)
    suggested_reply = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parcel", "kind", "since"], name="parcel_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert for parcel {self.parcel_id}"


class IncidentBroadcast(models.Model):
    """A holding message to every buyer of the selected orders (R-19), once per buyer."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=120)
    text = models.TextField()
    criteria = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    recipient_count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return self.title


class IncidentRecipient(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    broadcast = models.ForeignKey(
        IncidentBroadcast, on_delete=models.CASCADE, related_name="recipients"
    )
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    message_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["broadcast", "buyer"], name="incident_once_per_buyer")
        ]

    def __str__(self) -> str:
        return f"buyer {self.buyer_id} of broadcast {self.broadcast_id}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportRun(models.Model):
    """An order import started from the UI or the CLI; its counters drive the progress bar."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    filename = models.CharField(max_length=255)
    path = models.CharField(max_length=500, blank=True)
    file_format = models.CharField(max_length=10, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_bytes = models.BigIntegerField(default=0)
    done_bytes = models.BigIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    # Further rows of an order an earlier row of the file named (see ImportSummary.merged).
    merged = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # The first rejections, each {"row": n, "reason": "..."}; the counter holds them all.
    rejections = models.JSONField(default=list, blank=True)
    # The columns not read, each "header (why)", and warnings such as "no amount column".
    ignored_columns = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    # The file's header row, so the page can offer to map the columns Kefu did not recognise.
    headers = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Last sign of life of a running import; a run silent too long lost its worker.
    progressed_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker took the run: one more after each resume (sweep.py).
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shop", "-created_at"], name="import_run_recent")]
        constraints = [
            models.CheckConstraint(condition=Q(done_bytes__gte=0), name="import_done_bytes_pos")
        ]

    def __str__(self) -> str:
        return f"import of {self.filename}"

    @property
    def stored_nothing(self) -> bool:
        """A finished run whose every row was rejected: it must not read as "done"."""
        return self.status == ImportStatus.DONE and self.rows > 0 and self.rejected == self.rows

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_bytes:
            return 0
        return min(99, int(self.done_bytes * 100 / self.total_bytes))
