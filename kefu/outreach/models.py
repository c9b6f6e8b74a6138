"""Outreach (R-37): saved segments of buyers, campaigns sent to them, who got what, opt-outs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Platform


class Segment(models.Model):
    """A saved audience: the filters are kept, the buyers are found again at send time."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    filters = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="segment_name")]

    def __str__(self) -> str:
        return self.name


class CampaignStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    PAUSED = "paused", _("Paused")
    CANCELLED = "cancelled", _("Cancelled")


class Campaign(models.Model):
    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    # {"en": "...", "ru": "..."}: one variant per language; every one passed the rule guard.
    texts = models.JSONField(default=dict)
    # Optional second variant per language (A/B): buyers of that language are split at random.
    texts_b = models.JSONField(default=dict, blank=True)
    # The owner's fallback order for buyers whose language has no variant.
    language_order = models.JSONField(default=list)
    starts_at = models.DateTimeField()
    # The daily sending window, in the buyer's local hours [window_start, window_end).
    window_start = models.PositiveSmallIntegerField(default=9)
    window_end = models.PositiveSmallIntegerField(default=21)
    per_minute = models.PositiveIntegerField(default=20)
    status = models.CharField(
        max_length=12, choices=CampaignStatus.choices, default=CampaignStatus.SCHEDULED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["status", "starts_at"], name="campaign_due")]

    def __str__(self) -> str:
        return self.name

    @property
    def sending(self) -> bool:
        """Started and neither paused nor cancelled: the segment is re-read at each send step,
        so a running campaign has no "finished" state."""
        return self.status == CampaignStatus.SCHEDULED and self.starts_at <= timezone.now()


class Recipient(models.Model):
    """One buyer of one campaign: written in the transaction that stores the message, and
    unique, so a re-run, an overlapping segment or a restarted worker never sends twice."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    buyer = models.ForeignKey("conversations.Buyer", on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=10)
    variant = models.CharField(max_length=1, default="A")
    message = models.ForeignKey(
        "conversations.Message", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # True when the rule guard blocked the text at send time (nothing was sent).
    blocked = models.BooleanField(default=False)
    sent_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "buyer"], name="recipient_once")]
        indexes = [models.Index(fields=["shop", "sent_at"], name="recipient_shop_sent")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.buyer_id}"


class OptOut(models.Model):
    """The buyer asked for no more campaign messages: every campaign of the shop skips them."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    buyer = models.OneToOneField(
        "conversations.Buyer", on_delete=models.CASCADE, related_name="outreach_opt_out"
    )
    campaign = models.ForeignKey(Campaign, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"opt-out {self.buyer_id}"


# --- Consultation invitations and idle-time outreach ------------------------------


class InvitationTrigger(models.TextChoices):
    DELAY = "delay", _("After some seconds on the page")
    EXIT = "exit", _("When the buyer is about to leave")


class InvitationPlacement(models.TextChoices):
    PRODUCT_PAGES = "product_pages", _("Product pages")
    ALL_PAGES = "all_pages", _("All pages")
    PRODUCTS = "products", _("Chosen products")


class Invitation(models.Model):
    """The widget inviting a browsing buyer to chat: text per language, optional coupon, when
    and where it appears; every text passed the rule guard before it was saved."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=120)
    texts = models.JSONField(default=dict)
    # The second (B) text per language for an A/B test, in the same languages; {} for none.
    texts_b = models.JSONField(default=dict, blank=True)
    # {"code", "value", "currency", "min_spend", "valid_until"} as strings; {} for none.
    coupon = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(
        max_length=10, choices=InvitationTrigger.choices, default=InvitationTrigger.DELAY
    )
    delay_seconds = models.PositiveIntegerField(default=20)
    placement = models.CharField(
        max_length=16,
        choices=InvitationPlacement.choices,
        default=InvitationPlacement.PRODUCT_PAGES,
    )
    # Product external ids, for the "chosen products" placement.
    products = models.JSONField(default=list, blank=True)
    cooling_off_hours = models.PositiveIntegerField(default=24)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="invitation_name")]

    def __str__(self) -> str:
        return self.name


class InvitationDisplay(models.Model):
    """One invitation shown to one browser (the widget's buyer id), and whether it was taken."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="displays")
    # The widget cookie's buyer id ("w-…"): the browser, known before any Buyer row exists.
    visitor = models.CharField(max_length=120)
    # The text this browser was shown: A, or B when the invitation has a second text.
    variant = models.CharField(max_length=1, default="A")
    product_external_id = models.CharField(max_length=80, blank=True)
    shown_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    buyer = models.ForeignKey(
        "conversations.Buyer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    conversation = models.ForeignKey(
        "conversations.Conversation",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        indexes = [
            models.Index(fields=["shop", "visitor", "-shown_at"], name="invitation_visitor"),
            models.Index(fields=["invitation", "shown_at"], name="invitation_shown"),
        ]

    def __str__(self) -> str:
        return f"{self.invitation_id}:{self.visitor}"


class OutreachSettings(models.Model):
    """Per shop: how long the outreach group's inbox must be quiet before its agents see
    their campaign and revisit queues first."""

    shop = models.OneToOneField("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    idle_minutes = models.PositiveIntegerField(
        _("quiet minutes before outreach queues"), default=10
    )

    def __str__(self) -> str:
        return f"outreach settings {self.shop_id}"


# --- issue 17 (rest): what a campaign message carries, and the marketplace's caps -------------


class CampaignOffer(models.Model):
    """An optional coupon or product card a campaign's message carries (one per campaign,
    every variant): the coupon is written in the buyer's language, the card is the product's.
    Guarded with the text when the campaign is scheduled and when each message is sent."""

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="offer")
    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    product = models.ForeignKey(
        "catalog.Product", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    coupon_code = models.CharField(max_length=40, blank=True)
    coupon_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    # An ISO currency, or "%" for a percentage off (kefu.automation.coupons.PERCENT).
    coupon_currency = models.CharField(max_length=3, blank=True)
    coupon_min_spend = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    coupon_valid_until = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(product__isnull=True) | models.Q(coupon_code=""),
                name="offer_coupon_or_card",
            )
        ]

    def __str__(self) -> str:
        return f"offer {self.campaign_id}"


class MarketplaceCap(models.Model):
    """What the marketplace lets one shop send unprompted (the owner copies it from the
    marketplace's rules): no campaign throttle goes past it."""

    shop = models.ForeignKey("accounts.Shop", on_delete=models.CASCADE, related_name="+")
    platform = models.CharField(max_length=20)
    per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Per the shop's calendar day (its time zone).
    per_day = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform"], name="marketplace_cap_once")
        ]

    def __str__(self) -> str:
        return f"{self.platform}: {self.per_minute}/min {self.per_day}/day"

    @property
    def platform_label(self) -> str:
        """The marketplace by name ("AliExpress", "天猫"), the stored code if it is not one."""
        if self.platform in Platform.values:
            return str(Platform(self.platform).label)
        return self.platform
