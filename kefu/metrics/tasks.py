"""Metrics jobs: thin wrappers around `kefu.metrics.refresh`. Beat runs `refresh_metrics` (20 s)."""

from __future__ import annotations

from celery import shared_task

from kefu.accounts.models import Shop
from kefu.metrics import refresh


@shared_task(ignore_result=True)
def refresh_metrics() -> int:
    """Incremental refresh of every shop. Idempotent; a shop still being refreshed by an
    earlier run is skipped (its lease), so overlapping beats never double-write."""
    return refresh.refresh_all_shops()


@shared_task(ignore_result=True, autoretry_for=(refresh.Busy,), retry_backoff=5, max_retries=12)
def rebuild_metrics(shop_id: int) -> int:
    """Full recomputation of one shop from raw rows; retried while a refresh holds the shop."""
    shop = Shop.objects.get(pk=shop_id)
    return refresh.rebuild_shop(shop=shop).facts
