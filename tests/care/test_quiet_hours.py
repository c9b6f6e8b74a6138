"""One quiet hours setting per shop: the owner sets it on the order settings page (or its API)
and payment reminders, review invitations, follow-ups and revisits all keep to it; the
follow-ups page shows it and links there. A database that had follow-up quiet hours of their
own keeps them through the migration (decisions: one quiet hours setting)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from kefu.accounts.services import create_shop
from kefu.care.followups import RuleInput, run_follow_ups, save_rule
from kefu.care.models import FollowUp
from kefu.orders.config import update_order_settings
from tests.care.test_followups import THANKS, order_webhook, shop_hour
from tests.conftest import login_client

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
def test_the_order_settings_page_sets_the_quiet_hours_follow_ups_keep_to(shop, owner):
    client = login_client(owner)
    page = client.get("/orders/settings/", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    saved = client.patch(
        "/api/v1/orders/settings",
        data=json.dumps({"quiet_start": "20:30", "quiet_end": "07:30"}),
        content_type="application/json",
    )
    assert saved.status_code == 200, saved.content
    save_rule(
        actor=owner,
        data=RuleInput(kind="after_purchase", texts=THANKS),
        now=timezone.now() - dt.timedelta(days=1),
    )
    order_webhook(shop, "QH-1")
    evening = shop_hour(timezone.now(), 21)  # 21:00 Shanghai: quiet since 20:30
    assert run_follow_ups(shop=shop, now=evening)["deferred"] == 1
    due = FollowUp.objects.get().due_at.astimezone(SH)
    assert (due.hour, due.minute) == (7, 30)  # lets go at the quiet end's minute

    shown = client.get("/care/follow-ups/", headers={"Accept-Language": "en"}).content.decode()
    assert "20:30–07:30" in shown and 'href="/orders/settings/"' in shown
    assert 'name="quiet_from"' not in shown  # one place to set them
    read = client.get("/api/v1/care/follow-ups/quiet-hours").json()
    assert (read["quiet_start"], read["quiet_end"]) == ("20:30:00", "07:30:00")


@pytest.mark.django_db
def test_the_follow_up_api_refuses_quiet_hours_and_changes_nothing(shop, owner):
    client = login_client(owner)
    refused = client.put(
        "/api/v1/care/follow-ups/quiet-hours",
        data=json.dumps({"quiet_from": 23, "quiet_until": 6, "business_hours_only": True}),
        content_type="application/json",
    )
    assert refused.status_code == 400
    read = client.get("/api/v1/care/follow-ups/quiet-hours").json()
    assert read == {
        "quiet_start": "22:00:00",
        "quiet_end": "08:00:00",
        "business_hours_only": False,
    }
    ok = client.put(
        "/api/v1/care/follow-ups/quiet-hours",
        data=json.dumps({"business_hours_only": True}),
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["business_hours_only"] is True


BEFORE = [("care", "0008_call_reasons_reviews_and_revisits")]
AFTER = [("care", "0009_one_quiet_hours_setting")]


def _migrate(targets: list[tuple[str, str]]):
    MigrationExecutor(connection).migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_follow_up_quiet_hours_saved_before_are_kept_as_the_shops_quiet_hours():
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = _migrate(BEFORE)

        def shop(slug: str):
            made = create_shop(
                name=slug, platform="aliexpress", slug=slug, owner_password="correct-horse-1"
            )
            return made.shop, made.owner

        only_care, _o1 = shop("only-care")
        care_and_default, o2 = shop("care-and-default")
        both_set, o3 = shop("both-set")
        only_orders, o4 = shop("only-orders")
        settings = old.get_model("care", "FollowUpSettings")
        for s in (only_care, care_and_default, both_set):
            settings.objects.create(shop_id=s.pk, quiet_from=23, quiet_until=7)
        # Order settings saved on their page: other values, default quiet hours...
        update_order_settings(actor=o2, shop=care_and_default, stall_days=9)
        # ...or quiet hours the seller changed.
        for owner, s in ((o3, both_set), (o4, only_orders)):
            update_order_settings(
                actor=owner, shop=s, quiet_start=dt.time(21, 30), quiet_end=dt.time(9, 15)
            )

        new = _migrate(AFTER)
        rows = new.get_model("orders", "OrderSettings").objects
        hours = {r.shop_id: (r.quiet_start, r.quiet_end, r.stall_days) for r in rows.all()}
        assert hours[only_care.pk][:2] == (dt.time(23), dt.time(7))
        assert hours[care_and_default.pk] == (dt.time(23), dt.time(7), 9)
        assert hours[both_set.pk][:2] == (dt.time(21, 30), dt.time(9, 15))  # the seller's
        assert hours[only_orders.pk][:2] == (dt.time(21, 30), dt.time(9, 15))
        kept = new.get_model("care", "FollowUpSettings").objects.count()
        assert kept == 3
    finally:
        MigrationExecutor(connection).migrate(latest)
