"""Metrics rollups (R-39), reporting-currency rates, the refresh cursor and the settings.

`MetricsFact` holds what each buyer contributes per (local day, credited agent, group);
`DailyRollup` sums the facts per (day, agent, group) for the dashboard. Both are derived:
`kefu metrics rebuild` recomputes them from messages, orders and conversation events.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Shop


def _counter() -> models.BigIntegerField[int, int]:
    return models.BigIntegerField(default=0)


class CounterFields(models.Model):
    """The summable counters of `kefu.metrics.compute.Counters` (same names)."""

    reception_count = _counter()
    replied_buyers = _counter()
    converted_buyers = _counter()
    placed_buyers = _counter()
    messages_received = _counter()
    messages_replied = _counter()
    replied_24h = _counter()
    replied_24h_with_auto = _counter()
    auto_only = _counter()
    guided_orders = _counter()
    guided_gmv = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    unconverted_orders = _counter()
    paid_orders = _counter()
    disputed_orders = _counter()
    first_responses = _counter()
    first_response_seconds = _counter()
    first_response_business_seconds = _counter()
    responses = _counter()
    response_seconds = _counter()
    response_business_seconds = _counter()
    resolutions = _counter()
    resolution_seconds = _counter()
    resolution_business_seconds = _counter()

    class Meta:
        abstract = True


class MetricsFact(CounterFields):
    """One buyer's figures for one shop-local day, credited agent (0 = nobody) and group."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    buyer_id = models.BigIntegerField()
    day = models.DateField()
    agent_id = models.BigIntegerField(default=0)
    group = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "buyer_id", "day", "agent_id", "group"], name="metrics_fact_key"
            )
        ]
        indexes = [models.Index(fields=["shop", "day"], name="metrics_fact_day")]

    def __str__(self) -> str:
        return f"buyer {self.buyer_id} {self.day} agent {self.agent_id} {self.group}"


class DailyRollup(CounterFields):
    """The sum of the facts of one shop-local day, agent (0 = nobody) and group."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    agent_id = models.BigIntegerField(default=0)
    group = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["day", "agent_id", "group"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "day", "agent_id", "group"], name="metrics_rollup_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} agent {self.agent_id} {self.group}"


class MetricsCursor(models.Model):
    """How far the incremental refresh has read each source, per shop.

    Each cursor only moves past rows older than the overlap window, so rows whose
    transaction committed late are still seen; recomputing a buyer twice is harmless.
    """

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    message_id = models.BigIntegerField(default=0)
    conversation_event_id = models.BigIntegerField(default=0)
    order_event_id = models.BigIntegerField(default=0)
    orders_updated_at = models.DateTimeField(null=True, blank=True)
    needs_rebuild = models.BooleanField(default=False)
    # Of the rates, reporting currency, business hours and time zone the facts were built with.
    rules_fingerprint = models.CharField(max_length=32, blank=True)
    # A lease, so two runs (beat overlap, a rebuild) never write the same shop at once.
    locked_until = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_rebuild_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"metrics cursor of shop {self.shop_id}"


class MetricsSettings(models.Model):
    """The shop's reporting currency and the reply-time threshold of the daily inspection."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="+")
    reporting_currency = models.CharField(_("reporting currency"), max_length=3)
    slow_reply_minutes = models.PositiveIntegerField(
        _("a first response is slow after N minutes"), default=30
    )

    def __str__(self) -> str:
        return f"metrics settings of shop {self.shop_id}"


class FxRate(models.Model):
    """1 unit of ``currency`` = ``rate`` units of the shop's reporting currency (owner-set)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    rate = models.DecimalField(max_digits=18, decimal_places=8)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "currency"], name="fx_rate_per_shop"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="fx_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate}"
