"""Products a shop sells; each may be managed by one sub-account (R-02, R-21)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kefu.accounts.models import Shop


class Product(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(_("platform product id"), max_length=80)
    title = models.CharField(_("title"), max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="products",
        help_text=_("The sub-account that manages this product."),
    )
    price = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default="USD")
    stock = models.IntegerField(default=0)
    free_shipping = models.BooleanField(_("free shipping"), default=True)
    is_main_push = models.BooleanField(_("main-push product 主推款"), default=False)
    usage_cycle_days = models.PositiveIntegerField(null=True, blank=True)
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    url = models.URLField(blank=True)
    # Facts buyers ask about before buying; scripts use them as placeholders and an
    # empty one is a gap the agent fills by hand.
    shelf_life = models.CharField(_("shelf life"), max_length=200, blank=True)
    suits = models.CharField(_("who it suits"), max_length=300, blank=True)
    ships_from = models.CharField(_("ships from"), max_length=200, blank=True)
    dispatch_time = models.CharField(_("dispatch time"), max_length=200, blank=True)
    differences = models.TextField(
        _("how it differs from similar products"), max_length=1000, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"], name="product_external_id_per_shop"
            )
        ]

    def __str__(self) -> str:
        return self.title
