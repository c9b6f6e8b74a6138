"""Celery app: worker and beat share settings with the web process."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

app = Celery("kefu")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "reassign-offline-agents": {
        "task": "kefu.conversations.tasks.reassign_offline_agents",
        "schedule": 30.0,
    },
    "assign-waiting-conversations": {
        "task": "kefu.conversations.tasks.assign_waiting_conversations",
        "schedule": 30.0,
    },
    "deliver-due-outbox": {
        "task": "kefu.integrations.tasks.deliver_due_outbox",
        "schedule": 15.0,
    },
}
