"""Celery tasks: thin, idempotent, shop-scoped wrappers around services.

Beat walks every shop (`*_all_shops`), fanning out one task per shop so a slow shop does not
hold up the others. Each per-shop task is safe to run twice or concurrently: the services
claim each effect with an insert or a conditional update before sending anything. A task
that fails is not retried automatically: the next beat tick picks up whatever is still due.
"""

from __future__ import annotations

from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.db.models import F
from django.utils import timezone, translation

from kefu.accounts.models import Shop
from kefu.orders import ask_to_pay, incidents, parcel_alerts, reminders, risk
from kefu.orders.importers import sweep
from kefu.orders.importers.run import import_orders_for_run
from kefu.orders.models import ImportRun, ImportStatus, IncidentBroadcast
from kefu.orders.selectors import shops_with_orders


def _shop(shop_id: int) -> Shop | None:
    return Shop.objects.filter(pk=shop_id).first()


@shared_task(name="orders.send_payment_reminders", ignore_result=True)
def send_payment_reminders(shop_id: int) -> int:
    shop = _shop(shop_id)
    return reminders.send_payment_reminders(shop=shop) if shop else 0


@shared_task(name="orders.scan_late_shipments", ignore_result=True)
def scan_late_shipments(shop_id: int) -> int:
    shop = _shop(shop_id)
    return risk.scan_late_shipments(shop=shop).missed if shop else 0


@shared_task(name="orders.alert_parcels", ignore_result=True)
def alert_parcels(shop_id: int) -> int:
    shop = _shop(shop_id)
    return parcel_alerts.alert_parcels(shop=shop) if shop else 0


@shared_task(name="orders.send_payment_reminders_all_shops", ignore_result=True)
def send_payment_reminders_all_shops() -> int:
    shops = [s.pk for s in shops_with_orders()]
    for shop_id in shops:
        send_payment_reminders.delay(shop_id)
    return len(shops)


@shared_task(name="orders.scan_late_shipments_all_shops", ignore_result=True)
def scan_late_shipments_all_shops() -> int:
    shops = [s.pk for s in shops_with_orders()]
    for shop_id in shops:
        scan_late_shipments.delay(shop_id)
    return len(shops)


@shared_task(name="orders.alert_parcels_all_shops", ignore_result=True)
def alert_parcels_all_shops() -> int:
    shops = [s.pk for s in shops_with_orders()]
    for shop_id in shops:
        alert_parcels.delay(shop_id)
    return len(shops)


@shared_task(name="orders.deliver_incident_broadcast", ignore_result=True)
def deliver_incident_broadcast(broadcast_id: int) -> int:
    broadcast = IncidentBroadcast.objects.select_related("shop").filter(pk=broadcast_id).first()
    return incidents.deliver_incident_broadcast(broadcast=broadcast) if broadcast else 0


@shared_task(name="orders.run_import", ignore_result=True)
def run_import(run_id: int, language: str = "") -> str:
    """Import an uploaded file (the owner's UI), updating the run's counters as it goes."""
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, progressed_at=timezone.now(), attempts=F("attempts") + 1
    )
    if not claimed:
        return "skipped"
    run = ImportRun.objects.select_related("shop", "created_by").get(pk=run_id)
    # Row reasons are stored as text: write them in the language the file was uploaded in.
    language = language or getattr(run.created_by, "language", "") or settings.LANGUAGE_CODE
    try:
        with translation.override(language):
            summary = import_orders_for_run(run=run)
    except Exception as exc:
        ImportRun.objects.filter(pk=run_id).update(
            status=ImportStatus.FAILED, error=str(exc)[:500], finished_at=timezone.now()
        )
        raise
    finally:
        Path(run.path).unlink(missing_ok=True)
    return f"created={summary.created} updated={summary.updated} rejected={summary.rejected}"


@shared_task(name="orders.ask_to_pay_after_delivery", ignore_result=True)
def ask_to_pay_after_delivery() -> int:
    return ask_to_pay.ask_to_pay_after_delivery()


@shared_task(name="orders.sweep_stale_imports", ignore_result=True)
def sweep_stale_imports() -> int:
    swept = sweep.sweep_stale_imports()
    for run_id in swept.resumed:
        run_import.delay(run_id)
    return len(swept.resumed) + swept.failed
