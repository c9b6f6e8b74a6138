"""Findings of the rule guard: every warn or block it raised on text leaving a shop (R-29, R-40)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Shop


class Source(models.TextChoices):
    REPLY = "reply", _("Reply 回复")
    SCRIPT = "script", _("Script 话术")
    QUICK_REPLY = "quick_reply", _("Quick reply 快捷短语")
    KEYWORD_REPLY = "keyword_reply", _("Keyword reply 关键词回复")
    WELCOME = "welcome", _("Welcome reply 欢迎语")
    CAMPAIGN = "campaign", _("Campaign 营销消息")
    SYSTEM = "system", _("System message 系统消息")
    API = "api", _("API")


class FindingSeverity(models.TextChoices):
    WARN = "warn", _("Warning 提醒")
    BLOCK = "block", _("Blocked 拦截")


class ComplianceFinding(models.Model):
    """One rule finding on one piece of outgoing text.

    ``blocked``: the text was stopped (the verdict was block). ``overridden``: the agent sent a
    warned text anyway. Privacy excerpts have their digits masked: the table must not become a
    second copy of the buyer data it protects.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="compliance_findings")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="compliance_findings",
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    conversation_id = models.BigIntegerField(null=True, blank=True)
    code = models.CharField(max_length=40)
    severity = models.CharField(max_length=10, choices=FindingSeverity.choices)
    requirement = models.CharField(max_length=10, blank=True)
    excerpt = models.CharField(max_length=200)
    pack_version = models.CharField(max_length=40)
    blocked = models.BooleanField(default=False)
    overridden = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "created_at"], name="finding_shop_day"),
            models.Index(fields=["shop", "actor", "created_at"], name="finding_shop_actor_day"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.severity})"


class ShippingPolicy(models.Model):
    """The shop's own shipping promise, for when neither the product nor the order says (R-25).

    ``free_shipping``: the shop ships free on the mainland; ``excluded_regions``: the regions
    its listings set their own postage for (e.g. 新疆, 西藏). Empty with free shipping means
    remote regions are included too.
    """

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="shipping_policy")
    free_shipping = models.BooleanField(_("free shipping on the mainland"), default=False)
    excluded_regions = models.JSONField(
        _("regions excluded from free shipping"), default=list, blank=True
    )
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"shipping policy of shop {self.shop_id}"
