"""Celery app: worker and beat share settings with the web process."""

from __future__ import annotations

import gc
import os

from celery import Celery
from celery.signals import worker_process_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

app = Celery("kefu")


@worker_process_init.connect
def _freeze_start_up_objects(**_: object) -> None:
    """Each worker process: what start-up built out of the collector's walks, so a full
    collection in the middle of an intake batch walks only what batches allocate (decisions
    §104; the intake server does the same, §72)."""
    gc.collect()
    gc.freeze()


app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The desk is not a Django app of its own (it has no models) but owns the intake worker.
app.conf.include = ["kefu.desk.tasks"]


def intake_poll_seconds() -> float:
    """KEFU_INTAKE_POLL_SECONDS (decisions §62): 0.05 s on SQLite, 0 (Celery kicks) on
    PostgreSQL unless set. Read from the environment, here, because beat builds its schedule
    before Django is set up; kefu.settings takes its setting from this too."""
    default = "0" if os.environ.get("KEFU_DATABASE_URL") else "0.05"
    return float(os.environ.get("KEFU_INTAKE_POLL_SECONDS", default))


# Built whole, then set once: reading app.conf (as `app.conf.beat_schedule[k] = v` does) loads
# Django's settings at import, before the WSGI intake server has chosen its own (decisions §48).
_schedule: dict[str, dict[str, object]] = {
    "reassign-offline-agents": {
        "task": "kefu.conversations.tasks.reassign_offline_agents",
        "schedule": 30.0,
    },
    "assign-waiting-conversations": {
        "task": "kefu.conversations.tasks.assign_waiting_conversations",
        "schedule": 30.0,
    },
    "recount-agent-loads": {
        "task": "kefu.conversations.tasks.recount_agent_loads",
        "schedule": 60.0,
    },
    "ask-to-pay-after-delivery": {"task": "orders.ask_to_pay_after_delivery", "schedule": 600.0},
    "payment-reminders": {"task": "orders.send_payment_reminders_all_shops", "schedule": 300.0},
    "late-shipment-scan": {"task": "orders.scan_late_shipments_all_shops", "schedule": 900.0},
    "parcel-alerts": {"task": "orders.alert_parcels_all_shops", "schedule": 3600.0},
    "sweep-stale-imports": {
        "task": "orders.sweep_stale_imports",
        # Read here, not from settings: beat builds its schedule before Django is set up.
        "schedule": float(os.environ.get("KEFU_IMPORT_SWEEP_SECONDS", "60")),
    },
    # A complaint surge reaches the owner within a minute.
    "care-watch": {"task": "care.watch_all_shops", "schedule": 30.0},
    # Follow-ups of order events: a webhook's payment or delivery is thanked within a
    # minute ("right after purchase"); deferred ones leave when quiet hours end or the
    # complaint closes. Each run reads only the rules' recent window through the orders' time
    # indexes, so once a minute costs little.
    "care-follow-ups": {"task": "care.follow_ups_all_shops", "schedule": 60.0},
    "outreach-campaigns": {"task": "outreach.send_due_campaigns", "schedule": 30.0},
    "metrics-refresh": {"task": "kefu.metrics.tasks.refresh_metrics", "schedule": 20.0},
    "deliver-due-outbox": {
        "task": "kefu.conversations.tasks.deliver_due_outbox",
        "schedule": 15.0,
    },
}
if not intake_poll_seconds() > 0:
    # Picks up buyer messages a web process queued but could not hand to a worker (it died
    # between its commit and the kick, or the broker was down): decisions §42. A polling
    # intake worker finds those itself; there is no Celery intake worker to sweep for. The
    # sweep sends a drain only when none is pending (decisions §80): sent straight to the
    # intake queue every 5 s, sweeps piled up behind drains busy for the whole of a long run.
    _schedule["sweep-intake"] = {
        "task": "intake.sweep",
        "schedule": float(os.environ.get("KEFU_INTAKE_SWEEP_SECONDS", "5")),
    }
app.conf.beat_schedule = _schedule
