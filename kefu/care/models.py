"""After-sale care: the case archive (案例备份, R-35); complaints and disputes will join it."""

from __future__ import annotations

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
