"""Campaign sending: beat runs one step of every due campaign twice a minute."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from kefu.outreach.models import Campaign, CampaignStatus
from kefu.outreach.services import send_campaign_step


@shared_task(name="outreach.send_due_campaigns")
def send_due_campaigns() -> int:
    sent = 0
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, starts_at__lte=timezone.now())
    for campaign in due.select_related("shop", "segment"):
        sent += send_campaign_step(campaign=campaign)
    return sent
