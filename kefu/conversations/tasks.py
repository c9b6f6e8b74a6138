from __future__ import annotations

from celery import shared_task

from kefu.conversations import services


@shared_task(ignore_result=True)
def reassign_offline_agents() -> int:
    return services.reassign_offline_agents()


@shared_task(ignore_result=True)
def assign_waiting_conversations() -> int:
    return services.assign_waiting_conversations()


@shared_task(ignore_result=True)
def ask_to_pay_after_delivery() -> int:
    from kefu.conversations.marks import ask_to_pay_after_delivery as run

    return run()
