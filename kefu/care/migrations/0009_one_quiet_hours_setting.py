"""The follow-ups' quiet hours (whole hours on FollowUpSettings) become the shop's one quiet
hours setting (OrderSettings.quiet_start/quiet_end, decisions §: one quiet hours setting).

For each shop that saved follow-up quiet hours: with no order settings saved, a row is stored
with the platform's defaults and the follow-up hours; with order settings saved whose quiet
hours are still the defaults (22:00-08:00), the follow-up hours replace them; with order
settings saved whose quiet hours the seller changed, those stay (the seller set them on the
settings page that already governed payment reminders and review invitations)."""

import datetime as dt

from django.db import migrations

DEFAULT_START, DEFAULT_END = dt.time(22, 0), dt.time(8, 0)


def carry_quiet_hours(apps, schema_editor):
    from kefu.orders.rules import PLATFORM_PENALTY_RULES

    FollowUpSettings = apps.get_model("care", "FollowUpSettings")
    OrderSettings = apps.get_model("orders", "OrderSettings")
    for conf in FollowUpSettings.objects.select_related("shop").iterator():
        start, end = dt.time(conf.quiet_from % 24), dt.time(conf.quiet_until % 24)
        found = OrderSettings.objects.filter(shop_id=conf.shop_id).first()
        if found is None:
            rule = PLATFORM_PENALTY_RULES.get(
                conf.shop.platform, PLATFORM_PENALTY_RULES["generic"]
            )
            OrderSettings.objects.create(
                shop_id=conf.shop_id,
                penalty_rate=rule.rate,
                penalty_cap=rule.cap,
                penalty_cap_currency=rule.cap_currency,
                ship_by_hours=72,
                quiet_start=start,
                quiet_end=end,
            )
        elif (found.quiet_start, found.quiet_end) == (DEFAULT_START, DEFAULT_END):
            found.quiet_start, found.quiet_end = start, end
            found.save(update_fields=["quiet_start", "quiet_end"])


def restore_quiet_hours(apps, schema_editor):
    FollowUpSettings = apps.get_model("care", "FollowUpSettings")
    OrderSettings = apps.get_model("orders", "OrderSettings")
    for conf in FollowUpSettings.objects.iterator():
        found = OrderSettings.objects.filter(shop_id=conf.shop_id).first()
        if found is not None:
            conf.quiet_from, conf.quiet_until = found.quiet_start.hour, found.quiet_end.hour
            conf.save(update_fields=["quiet_from", "quiet_until"])


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0008_call_reasons_reviews_and_revisits"),
        ("orders", "0010_import_run_headers"),
    ]

    operations = [
        migrations.RunPython(carry_quiet_hours, restore_quiet_hours),
        migrations.RemoveField(model_name="followupsettings", name="quiet_from"),
        migrations.RemoveField(model_name="followupsettings", name="quiet_until"),
    ]
