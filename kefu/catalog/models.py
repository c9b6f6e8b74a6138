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
    # The seller's own code (商家编码): order exports carry it, so order items link by it.
    sku = models.CharField(_("SKU / 商家编码"), max_length=80, blank=True)
    title = models.CharField(_("title"), max_length=300)
    # The seller's own label for the kind of product ("面霜", "Lamps"): free text, matched
    # exactly by the outreach "bought from category" filter. Not the marketplace's numeric
    # category id (宝贝类目), which no seller reads.
    category = models.CharField(_("category"), max_length=100, blank=True)
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
    # Regions (by name, as the buyer's address says them) the free shipping does not cover.
    free_shipping_excluded_regions = models.JSONField(
        _("regions excluded from free shipping"), default=list, blank=True
    )
    is_main_push = models.BooleanField(_("main-push product 主推款"), default=False)
    usage_cycle_days = models.PositiveIntegerField(null=True, blank=True)
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    url = models.URLField(blank=True)
    image_url = models.URLField(_("main image"), max_length=500, blank=True)
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
        # Order items link to products by SKU, else by exact title (the Taobao order export
        # has only 宝贝标题): both are looked up per shop.
        indexes = [
            models.Index(fields=["shop", "sku"], name="product_sku"),
            models.Index(fields=["shop", "title"], name="product_title"),
            # The segment page lists the shop's categories; the filter looks products up by it.
            models.Index(fields=["shop", "category"], name="product_category"),
        ]

    def __str__(self) -> str:
        return self.title


class ImportKind(models.TextChoices):
    ORDERS = "orders", _("orders")
    PRODUCTS = "products", _("products")
    REVIEWS = "reviews", _("reviews")


class ColumnMapping(models.Model):
    """A shop's remembered column mapping for one kind of import: the seller mapped their
    file's headers on the upload page once, and the next upload of that kind uses it.

    Kept in the catalogue, the lowest domain every importer (orders, products, reviews)
    reaches."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=ImportKind.choices)
    # header as the file writes it -> Kefu field, or "-" to ignore the column
    mapping = models.JSONField(default=dict, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "kind"], name="column_mapping_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} column mapping"
