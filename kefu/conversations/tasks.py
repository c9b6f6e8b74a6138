"""Celery tasks of the inbox: presence sweeps and outbox delivery."""

from __future__ import annotations

from celery import shared_task

from kefu.conversations import delivery, load, presence


@shared_task(ignore_result=True)
def reassign_offline_agents() -> int:
    return presence.reassign_offline_agents()


@shared_task(ignore_result=True)
def recount_agent_loads() -> int:
    return load.recount_loads()


@shared_task(ignore_result=True)
def assign_waiting_conversations(shop_id: int | None = None) -> int:
    return presence.assign_waiting_conversations(shop_id=shop_id)


@shared_task(ignore_result=True)
def move_conversations_of_absent_agent(agent_id: int, reason: str) -> int:
    return presence.move_conversations_if_still_absent(agent_id=agent_id, reason=reason)


@shared_task(ignore_result=True)
def deliver_outbox(outbox_id: int) -> str:
    """Retries are scheduled on the row itself (next_attempt_at), picked up by the sweeper."""
    return delivery.deliver_outbox_row(outbox_id=outbox_id)


@shared_task(ignore_result=True)
def deliver_outbox_rows(outbox_ids: list[int]) -> int:
    """The rows one transaction queued (the intake worker's batch, a campaign round): claimed
    and recorded a batch at a time, waiting service rows first."""
    return delivery.deliver_rows(outbox_ids)


@shared_task(ignore_result=True)
def deliver_due_outbox() -> int:
    return delivery.deliver_due()
