from __future__ import annotations

from celery import shared_task

from kefu.integrations.services import deliver_outbox_row, due_outbox_ids


@shared_task(ignore_result=True)
def deliver_outbox(outbox_id: int) -> str:
    """Retries are scheduled on the row itself (next_attempt_at), picked up by the sweeper."""
    return deliver_outbox_row(outbox_id=outbox_id)


@shared_task(ignore_result=True)
def deliver_due_outbox() -> int:
    ids = due_outbox_ids()
    for outbox_id in ids:
        deliver_outbox_row(outbox_id=outbox_id)
    return len(ids)
