"""Celery tasks of the desk: the intake worker (decisions §42)."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from kefu.core import stagetrace
from kefu.desk import intake_queue


@shared_task(name="intake.drain", ignore_result=True)
def drain_intake(lanes: list[int] | None = None) -> int:
    """Store the queued buyer messages of these lanes (all lanes from the beat sweep), then
    keep looking a moment for the next ones (not when run inline, as in tests)."""
    linger = 0.0 if settings.CELERY_TASK_ALWAYS_EAGER else intake_queue.LINGER_SECONDS
    # Before the first read: a kick after this sends the next drain, one before it is seen by
    # this one's reads (decisions §80).
    intake_queue.release_drain_claim()
    stagetrace.record("drain_start")
    stored = intake_queue.drain(lanes=lanes, linger=linger)
    stagetrace.record("drain_end", stored=stored)
    return stored


@shared_task(name="intake.sweep", ignore_result=True)
def sweep_intake() -> bool:
    """The beat's backstop (on the default queue, so it never waits behind drains): a drain
    of every lane unless one is pending. True when it sent one."""
    return intake_queue.sweep()
