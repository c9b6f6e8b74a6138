"""Shops (tenants), their main account and sub-accounts (R-01, R-02)."""

from __future__ import annotations

import secrets
import zoneinfo

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    ALIEXPRESS = "aliexpress", "AliExpress"
    TMALL = "tmall", _("Tmall")
    TAOBAO = "taobao", _("Taobao")
    GENERIC = "generic", _("Other shop")


class ServiceGroup(models.TextChoices):
    PRE_SALE = "pre_sale", _("Pre-sale 售前")
    AFTER_SALE = "after_sale", _("After-sale 售后")
    OUTREACH = "outreach", _("Outreach 呼叫")


class Role(models.TextChoices):
    OWNER = "owner", _("Main account 主账号")
    AGENT = "agent", _("Sub-account 子账号")


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value}) from exc


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


class Shop(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[validate_timezone]
    )
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    webhook_secret = models.CharField(max_length=64, default=new_webhook_secret)
    callback_url = models.URLField(
        _("reply callback URL"),
        blank=True,
        help_text=_("Replies to marketplace buyers are POSTed here, signed like inbound webhooks."),
    )
    # The last signed test ping the callback answered 2xx, and the URL it answered at: a
    # changed URL is not connected until a ping to it succeeds (the setup checklist).
    callback_ping_at = models.DateTimeField(null=True, blank=True)
    callback_ping_url = models.URLField(blank=True)
    sign_replies = models.BooleanField(_("sign replies with the agent's name"), default=True)
    signature_template = models.CharField(
        _("signature"), max_length=200, default="— {agent_name}, {shop_name}"
    )
    # Rate limits the owner may change (issue 10). Intake is generous so a marketplace's
    # Double 11 peak is never refused by default; the widget is open to anyone, so strict.
    intake_per_minute = models.PositiveIntegerField(
        _("marketplace messages, orders and tracking events per minute"),
        default=600_000,
        validators=[MinValueValidator(1), MaxValueValidator(100_000_000)],
    )
    intake_per_buyer_per_minute = models.PositiveIntegerField(
        _("marketplace messages per buyer per minute"),
        default=120,
        validators=[MinValueValidator(1), MaxValueValidator(100_000_000)],
    )
    widget_messages_per_minute = models.PositiveIntegerField(
        _("chat widget messages per buyer per minute"),
        default=20,
        validators=[MinValueValidator(1), MaxValueValidator(10_000)],
    )
    widget_chats_per_hour = models.PositiveIntegerField(
        _("new chat widget conversations per network address per hour"),
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    # Buyer messages are queued and answered 202 (decisions §42); a synchronous shop stores
    # and routes each message before answering 201 with the routing, as before. Shops that
    # existed before the queue keep the synchronous answer their connectors read.
    intake_synchronous = models.BooleanField(
        _("store and route each marketplace message before answering"), default=False
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A login of a shop: the main account (owner) or a sub-account (agent).

    Superusers used for the back office may have no shop; they see no shop data.
    """

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, null=True, blank=True, related_name="members"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    display_name = models.CharField(_("display name"), max_length=60, blank=True)
    in_pre_sale = models.BooleanField(_("pre-sale group"), default=False)
    in_after_sale = models.BooleanField(_("after-sale group"), default=False)
    in_outreach = models.BooleanField(_("outreach group"), default=False)
    # Owner-granted rights that sub-accounts lack by default.
    can_manage_settings = models.BooleanField(_("may change shop settings"), default=False)
    can_issue_refunds = models.BooleanField(_("may issue refunds"), default=False)
    refund_limit = models.DecimalField(
        _("refund limit"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    can_create_campaigns = models.BooleanField(_("may create outreach campaigns"), default=False)
    # Routing skips a login that opted out; the main account starts opted out (it supervises).
    takes_new_chats = models.BooleanField(_("takes new chats"), default=True)
    language = models.CharField(
        _("interface language"),
        max_length=10,
        choices=[("zh-hans", "简体中文"), ("en", "English")],
        default="zh-hans",
    )

    objects: UserManager[User] = UserManager()  # type: ignore[assignment,misc]

    class Meta:
        indexes = [models.Index(fields=["shop", "role"])]

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER and self.shop_id is not None

    @property
    def name_for_buyers(self) -> str:
        return self.display_name or self.username

    @property
    def service_groups(self) -> list[str]:
        groups = []
        if self.in_pre_sale:
            groups.append(ServiceGroup.PRE_SALE.value)
        if self.in_after_sale:
            groups.append(ServiceGroup.AFTER_SALE.value)
        if self.in_outreach:
            groups.append(ServiceGroup.OUTREACH.value)
        return groups

    def in_group(self, group: str) -> bool:
        return group in self.service_groups


class ApiToken(models.Model):
    """A personal API token; only its SHA-256 is stored."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=60)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()
