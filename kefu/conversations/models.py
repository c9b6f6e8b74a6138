"""Buyers, conversations, messages, their event timeline, the outbox, agent presence and the
source ids of imported message history."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import ServiceGroup, Shop
from kefu.catalog.models import Product
from kefu.integrations.channels import Channel


class EntryPoint(models.TextChoices):
    PRODUCT_PAGE = "product_page", _("Product page")
    SHOP_PAGE = "shop_page", _("Shop page")
    SEARCH = "search", _("Search")
    WIDGET = "widget", _("Chat widget")
    ORDER_LIST = "order_list", _("Order list")
    ORDER_DETAIL = "order_detail", _("Order detail")
    DISPUTE = "dispute", _("Dispute")


# a conversation started from an order or a dispute is after-sale; all others pre-sale.
AFTER_SALE_ENTRY_POINTS = frozenset(
    {EntryPoint.ORDER_LIST, EntryPoint.ORDER_DETAIL, EntryPoint.DISPUTE}
)


class Buyer(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="buyers")
    external_id = models.CharField(max_length=120)
    name = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=10, blank=True)
    country = models.CharField(max_length=2, blank=True)
    first_seen_at = models.DateTimeField()
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"], name="buyer_external_id_per_shop"
            )
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class ConversationStatus(models.TextChoices):
    OPEN = "open", _("Open")  # waiting for the shop
    PENDING = "pending", _("Pending")  # the shop answered; waiting for the buyer
    RESOLVED = "resolved", _("Resolved")


class Conversation(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="conversations")
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="conversations")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    entry_point = models.CharField(max_length=20, choices=EntryPoint.choices)
    group = models.CharField(max_length=20, choices=ServiceGroup.choices)
    status = models.CharField(
        max_length=10, choices=ConversationStatus.choices, default=ConversationStatus.OPEN
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_conversations",
    )
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="conversations"
    )
    order_external_id = models.CharField(max_length=80, blank=True)
    unread_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField()
    last_message_preview = models.CharField(max_length=160, blank=True)
    # Set by the first unanswered buyer message, cleared by a person's reply: the response clock.
    waiting_since = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "status", "-last_message_at"], name="conv_inbox"),
            models.Index(fields=["shop", "assignee", "status"], name="conv_assignee"),
            models.Index(fields=["shop", "buyer", "group", "status"], name="conv_buyer_group"),
        ]
        constraints = [
            # One live thread per buyer and group, like the marketplace's own chat.
            models.UniqueConstraint(
                fields=["shop", "buyer", "group"],
                condition=~Q(status="resolved"),
                name="one_active_conversation_per_buyer_group",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.buyer}"


class Direction(models.TextChoices):
    BUYER = "buyer", _("Buyer")
    AGENT = "agent", _("Agent")
    AUTO = "auto", _("Automatic reply")
    SYSTEM = "system", _("System")


# ``payload["automation"]`` of an outreach campaign's message (kefu.outreach): the intake
# recognises a reply to it, the metrics leave it out of the service figures.
CAMPAIGN_AUTOMATION = "campaign"


class MessageKind(models.TextChoices):
    TEXT = "text", _("Text")
    IMAGE = "image", _("Image")
    PRODUCT_CARD = "product_card", _("Product card")
    COUPON = "coupon", _("Coupon")


class Message(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="messages")
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=10, choices=Direction.choices)
    kind = models.CharField(max_length=20, choices=MessageKind.choices, default=MessageKind.TEXT)
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages_written",
    )
    # The channel's own message id: unique per shop so a retried webhook stores nothing twice.
    external_id = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001 - NULL stays out of the unique constraint
    sent_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_external_id_per_shop",
            )
        ]
        indexes = [
            models.Index(fields=["conversation", "sent_at"], name="msg_timeline"),
            models.Index(fields=["shop", "buyer", "sent_at"], name="msg_buyer_time"),
            # The campaign messages alone, for the intake's campaign-reply check
            # (decisions §69): a probe per buyer, not a walk through its messages.
            models.Index(
                fields=["shop", "buyer", "sent_at"],
                condition=Q(direction="auto", payload__automation="campaign"),
                name="msg_campaign_buyer_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.direction}: {self.text[:40]}"


class EventKind(models.TextChoices):
    """Every state change the timeline shows; each kind has one writer in ``events.py``."""

    CREATED = "created", _("Conversation started")
    REOPENED = "reopened", _("Reopened")
    MESSAGE_RECEIVED = "message_received", _("Buyer wrote")
    AUTO_MESSAGE = "auto_message", _("Automatic message")
    REPLY_SENT = "reply_sent", _("Reply sent")
    ASSIGNED = "assigned", _("Assigned")
    REASSIGNED = "reassigned", _("Reassigned")
    UNASSIGNED = "unassigned", _("Unassigned")
    RESOLVED = "resolved", _("Resolved")
    ORDER_CHOSEN = "order_chosen", _("Order chosen")
    NOTE = "note", _("Note")
    MARKED = "marked", _("Marked")
    UNMARKED = "unmarked", _("Mark cleared")
    MARK_DUTY_DONE = "mark_duty_done", _("Mark duty done")
    DELIVERY_FAILED = "delivery_failed", _("Not delivered")
    DELIVERY_RETRIED = "delivery_retried", _("Delivery retried")


class ConversationEvent(models.Model):
    """One row per state change: the conversation timeline and the feed for live pushes."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="conversation_events")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=40, choices=EventKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written by a process that cannot reach agents' sockets; the web process relays it.
    needs_relay = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=Q(needs_relay=True), name="event_relay_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.conversation_id}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Sending")
    DELIVERED = "delivered", _("Delivered")
    # Final until an agent retries it: the message did not leave Kefu (decisions §31).
    NOT_DELIVERED = "not_delivered", _("Not delivered")


class DeliveryReason(models.TextChoices):
    """Why a message is not delivered, in words a seller acts on."""

    NO_CALLBACK_URL = (
        "no_callback_url",
        _("The marketplace is not connected: save a callback URL in the shop settings."),
    )
    REFUSED = "refused", _("The marketplace refused this message.")
    GAVE_UP = "gave_up", _("The marketplace could not be reached; Kefu stopped retrying.")


class Outbox(models.Model):
    """An outbound message to deliver, written in the same transaction as the message."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="outbox")
    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="outbox")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(
        max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    reason = models.CharField(max_length=20, choices=DeliveryReason.choices, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    next_attempt_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # A campaign's message: delivered after every due service message (replies, automatic
    # replies, reminders), so a 100,000-buyer campaign never holds a reply up (decisions §59).
    bulk = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["status", "bulk", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["shop", "status"], name="outbox_shop_status"),
        ]

    def __str__(self) -> str:
        return f"outbox {self.message_id} {self.status}"


def _media_token() -> str:
    return secrets.token_urlsafe(24)


class MediaFile(models.Model):
    """An image the shop sends buyers, re-encoded without metadata and served without a login
    at an unguessable address (``/media/m/<token>.<ext>``): channels fetch it from there."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="media_files")
    token = models.CharField(max_length=40, unique=True, default=_media_token)
    content_type = models.CharField(max_length=20)
    extension = models.CharField(max_length=5)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    # Of the bytes as uploaded: the same keyword image sent a thousand times is one file.
    source_sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "source_sha256"], name="media_once_per_shop")
        ]

    def __str__(self) -> str:
        return self.filename

    @property
    def filename(self) -> str:
        return f"{self.token}.{self.extension}"


class PresenceStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    AWAY = "away", _("Away")


def live_presence(*, prefix: str = "", now: datetime | None = None) -> Q:
    """The one rule for "at the inbox now", as a filter on AgentPresence (``prefix`` reaches it
    through a relation, e.g. ``"presence__"``): online, an open socket, and a ping within the
    routing grace, so a count left behind by a crashed web process goes stale with its pings."""
    recent = (now or timezone.now()) - timedelta(seconds=settings.KEFU_ROUTING_GRACE_SECONDS)
    return Q(
        **{
            f"{prefix}is_online": True,
            f"{prefix}socket_count__gt": 0,
            f"{prefix}last_seen_at__gte": recent,
        }
    )


class AgentPresence(models.Model):
    """Whether an agent can take conversations now.

    Online means a live socket or a heartbeat within the grace period; routing only picks
    agents that are online and available.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="presences")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    status = models.CharField(
        max_length=10, choices=PresenceStatus.choices, default=PresenceStatus.AVAILABLE
    )
    is_online = models.BooleanField(default=False)
    socket_count = models.IntegerField(default=0)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)
    # Live (open or pending) conversations assigned to the agent: routing's "least busy".
    open_load = models.IntegerField(default=0)

    class Meta:
        indexes = [
            # Routing's order over a shop's online agents: the intake batch reads the first
            # n + 1 of them down this index instead of sorting every online agent of the
            # shop per batch (decisions §88).
            models.Index(
                F("shop"),
                F("status"),
                F("open_load"),
                F("last_assigned_at").asc(nulls_first=True),
                F("user"),
                name="presence_routing_order",
                condition=Q(is_online=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {'online' if self.is_online else 'offline'}"


class MarkColor(models.TextChoices):
    """R-06: fixed colour marks, each with a meaning and a follow-up duty."""

    YELLOW = "yellow", _("Yellow · reshipment: send the new tracking number")
    BLUE = "blue", _("Blue · big order or returning buyer: keep following up")
    GREEN = "green", _("Green · refunded")
    RED = "red", _("Red · product quality problem")
    PURPLE = "purple", _("Purple · dispute refunded: ask to pay once delivered")
    LABEL = "label", _("Shop label")


class ConversationMark(models.Model):
    """A mark on a conversation. Its duty is done when ``duty_done_at`` is set."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="marks")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="marks")
    color = models.CharField(max_length=10, choices=MarkColor.choices)
    label = models.CharField(max_length=40, blank=True)
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="marks"
    )
    note = models.CharField(max_length=300, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    duty_done_at = models.DateTimeField(null=True, blank=True)
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["shop", "color", "cleared_at"], name="mark_color_active"),
            models.Index(fields=["shop", "product", "created_at"], name="mark_quality"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "color", "label"],
                condition=Q(cleared_at__isnull=True),
                name="one_active_mark_per_colour",
            )
        ]

    def __str__(self) -> str:
        return f"{self.color} on #{self.conversation_id}"

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None


class ImportedConversation(models.Model):
    """The conversation a message-history import stored under a source conversation id."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=200)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")

    class Meta:
        # The table the metrics app created: the model moved apps, the rows stayed put.
        db_table = "metrics_importedconversation"
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="imported_conv_once")
        ]

    def __str__(self) -> str:
        return self.external_id


class IntakeMessage(models.Model):
    """A signed buyer message the webhook accepted (202) and the intake worker has not yet
    stored. Committed before the answer, deleted in the transaction that stores it: the
    table holds only what is still to do (decisions §42)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    external_id = models.CharField(max_length=120)
    # Messages of one buyer share a lane; a lane is processed by one worker at a time, in id
    # order, so a buyer's messages are stored in the order they were accepted.
    lane = models.PositiveSmallIntegerField()
    payload = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="intake_message_once")
        ]
        indexes = [models.Index(fields=["lane", "id"], name="intake_lane_order")]

    def __str__(self) -> str:
        return self.external_id


class IntakeLane(models.Model):
    """One row per lane: the row a worker locks (FOR UPDATE SKIP LOCKED) while it processes
    the lane's messages, so two workers never store one buyer's messages at once."""

    number = models.PositiveSmallIntegerField(primary_key=True)

    def __str__(self) -> str:
        return str(self.number)
