"""Celery tasks of the desk: the intake worker (decisions §42)."""

from __future__ import annotations

from celery import shared_task

from kefu.desk import intake_queue


@shared_task(name="intake.drain", ignore_result=True)
def drain_intake(lanes: list[int] | None = None) -> int:
    """Store the queued buyer messages of these lanes (all lanes from the beat sweep)."""
    return intake_queue.drain(lanes=lanes)
