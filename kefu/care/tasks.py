"""Care jobs: beat runs `watch_all_shops` every minute (disputes opened by the marketplace,
complaint surges, dispute deadlines, promises due) and `follow_ups_all_shops` every minute
(follow-ups of order events); one task per shop, each idempotent."""

from __future__ import annotations

from celery import shared_task

from kefu.accounts.models import Shop
from kefu.care import followups, watch


@shared_task(name="care.watch_shop", ignore_result=True)
def watch_shop(shop_id: int) -> dict[str, int]:
    shop = Shop.objects.filter(pk=shop_id).first()
    return watch.watch_shop(shop=shop) if shop else {}


@shared_task(name="care.watch_all_shops", ignore_result=True)
def watch_all_shops() -> int:
    shops = watch.shops_to_watch()
    for shop_id in shops:
        watch_shop.delay(shop_id)
    return len(shops)


@shared_task(name="care.follow_ups_shop", ignore_result=True)
def follow_ups_shop(shop_id: int) -> dict[str, int]:
    shop = Shop.objects.filter(pk=shop_id).first()
    return followups.run_follow_ups(shop=shop) if shop else {}


@shared_task(name="care.follow_ups_all_shops", ignore_result=True)
def follow_ups_all_shops() -> int:
    """Beat, every minute: plan and send each shop's follow-ups (idempotent)."""
    shops = followups.shops_with_follow_ups()
    for shop_id in shops:
        follow_ups_shop.delay(shop_id)
    return len(shops)
