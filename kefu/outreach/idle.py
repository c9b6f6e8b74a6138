"""Idle-time outreach (issue 17, the call group): when no buyer has waited on the outreach
group for the shop's quiet minutes, its agents see two queues first in the workbench —
the campaign queue (buyers a running campaign reached who have not answered) and the revisit
queue (buyers whose last order was delivered a while ago and who have not ordered since) —
and take a buyer from them into an outreach conversation of their own."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import ServiceGroup, Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.conversations.assignment import assign_to
from kefu.conversations.models import (
    Buyer,
    Conversation,
    ConversationMark,
    ConversationStatus,
    Direction,
    MarkColor,
    Message,
)
from kefu.conversations.outbound import conversation_for_outreach
from kefu.orders.models import Order
from kefu.outreach.models import CampaignStatus, OptOut, OutreachSettings, Recipient
from kefu.outreach.results import ATTRIBUTION_WINDOW

QUEUE_SIZE = 20
MAX_IDLE_MINUTES = 24 * 60
# Revisit buyers whose last order was delivered between these many days ago.
REVISIT_AFTER = dt.timedelta(days=7)
REVISIT_UNTIL = dt.timedelta(days=90)


def idle_minutes(shop: Shop) -> int:
    found = OutreachSettings.objects.filter(shop=shop).values_list("idle_minutes", flat=True)
    return next(iter(found), OutreachSettings._meta.get_field("idle_minutes").default)


def save_idle_minutes(*, actor: User, minutes: int) -> OutreachSettings:
    require(actor, Capability.MANAGE_SETTINGS)
    if not 1 <= minutes <= MAX_IDLE_MINUTES:
        raise ValidationError(
            _("Quiet minutes are between 1 and %(max)s.") % {"max": MAX_IDLE_MINUTES},
            code="idle_minutes",
        )
    conf, _created = OutreachSettings.objects.update_or_create(
        shop=shop_of(actor), defaults={"idle_minutes": minutes}
    )
    return conf


def outreach_is_quiet(shop: Shop, now: dt.datetime | None = None) -> bool:
    """No buyer waits on the outreach group now and none wrote to it in the quiet minutes.

    A buyer answering a campaign message (within the attribution window) counts as writing
    to the outreach group whichever group their reply was routed to: the outreach agents
    are the ones who follow it up."""
    now = now or timezone.now()
    answering = Recipient.objects.filter(
        shop=shop, message__isnull=False, sent_at__gt=now - ATTRIBUTION_WINDOW
    ).values("buyer_id")
    ours = Q(group=ServiceGroup.OUTREACH) | Q(buyer_id__in=answering)
    if Conversation.objects.filter(ours, shop=shop, status=ConversationStatus.OPEN).exists():
        return False
    since = now - dt.timedelta(minutes=idle_minutes(shop))
    return not Message.objects.filter(
        Q(conversation__group=ServiceGroup.OUTREACH) | Q(buyer_id__in=answering),
        shop=shop,
        direction=Direction.BUYER,
        sent_at__gt=since,
    ).exists()


@dataclass(frozen=True)
class QueueEntry:
    buyer: Buyer
    since: dt.datetime
    # "campaign": the campaign's name; "revisit": the last order's id.
    detail: str
    conversation_id: int | None = None


@dataclass(frozen=True)
class IdleQueues:
    campaign: list[QueueEntry]
    revisit: list[QueueEntry]


def _may_use(actor: User) -> bool:
    return actor.is_owner or actor.in_group(ServiceGroup.OUTREACH)


def _not_excluded(shop: Shop) -> Q:
    opted_out = OptOut.objects.filter(buyer=OuterRef("pk"))
    complaint = ConversationMark.objects.filter(
        conversation__buyer=OuterRef("pk"), color=MarkColor.RED, cleared_at__isnull=True
    )
    return ~Q(Exists(opted_out)) & ~Q(Exists(complaint)) & Q(shop=shop)


def campaign_queue(actor: User, *, buyer_id: int | None = None) -> list[QueueEntry]:
    """Buyers a running campaign reached who have not written since, whose outreach
    conversation is this agent's or no one's: to follow up by hand."""
    shop = shop_of(actor)
    answered = Message.objects.filter(
        conversation=OuterRef("message__conversation"),
        direction=Direction.BUYER,
        sent_at__gt=OuterRef("sent_at"),
    )
    rows = (
        Recipient.objects.filter(
            shop=shop,
            message__isnull=False,
            campaign__status__in=[CampaignStatus.SCHEDULED, CampaignStatus.PAUSED],
            message__conversation__group=ServiceGroup.OUTREACH,
            buyer__in=Buyer.objects.filter(_not_excluded(shop)),
        )
        .exclude(message__conversation__status=ConversationStatus.RESOLVED)
        .filter(
            Q(message__conversation__assignee__isnull=True)
            | Q(message__conversation__assignee=actor)
        )
        .exclude(Exists(answered))
        .select_related("buyer", "campaign", "message")
        .order_by("sent_at", "pk")
    )
    if buyer_id is not None:
        rows = rows.filter(buyer_id=buyer_id)
    return [
        QueueEntry(
            buyer=r.buyer,
            since=r.sent_at,
            detail=r.campaign.name,
            conversation_id=r.message.conversation_id if r.message else None,
        )
        for r in rows[:QUEUE_SIZE]
    ]


def revisit_queue(
    actor: User, *, buyer_id: int | None = None, now: dt.datetime | None = None
) -> list[QueueEntry]:
    """Buyers whose last order was delivered 7–90 days ago, who have not ordered or written
    since and whom no one else is talking to: to invite back to buy again."""
    shop = shop_of(actor)
    now = now or timezone.now()
    later_order = Order.objects.filter(buyer=OuterRef("buyer"), placed_at__gt=OuterRef("placed_at"))
    since_delivery = Message.objects.filter(
        buyer=OuterRef("buyer"), sent_at__gt=OuterRef("delivered_at")
    )
    taken = Conversation.objects.filter(
        buyer=OuterRef("buyer"), group=ServiceGroup.OUTREACH
    ).filter(
        ~Q(status=ConversationStatus.RESOLVED) & ~Q(assignee=actor) & Q(assignee__isnull=False)
    )
    rows = (
        Order.objects.filter(
            shop=shop,
            delivered_at__lte=now - REVISIT_AFTER,
            delivered_at__gt=now - REVISIT_UNTIL,
            buyer__in=Buyer.objects.filter(_not_excluded(shop)),
        )
        .exclude(Exists(later_order))
        .exclude(Exists(since_delivery))
        .exclude(Exists(taken))
        .select_related("buyer")
        .order_by("delivered_at", "pk")
    )
    if buyer_id is not None:
        rows = rows.filter(buyer_id=buyer_id)
    return [
        QueueEntry(buyer=o.buyer, since=o.delivered_at or o.placed_at, detail=o.external_id)
        for o in rows[:QUEUE_SIZE]
    ]


def idle_queues(actor: User, now: dt.datetime | None = None) -> IdleQueues | None:
    """The two queues for an outreach agent while the outreach inbox is quiet; else None."""
    if not _may_use(actor):
        return None
    shop = shop_of(actor)
    if not outreach_is_quiet(shop, now):
        return None
    return IdleQueues(campaign=campaign_queue(actor), revisit=revisit_queue(actor, now=now))


def take_from_queue(*, actor: User, buyer: Buyer) -> Conversation:
    """The agent takes a queued buyer: their outreach conversation (a new one waiting on the
    buyer when none is live) is assigned to the agent, who then writes first."""
    if not _may_use(actor):
        raise PermissionDenied("not in the outreach group")
    shop = shop_of(actor)
    if buyer.shop_id != shop.pk:
        raise PermissionDenied("buyer of another shop")
    if not (campaign_queue(actor, buyer_id=buyer.pk) or revisit_queue(actor, buyer_id=buyer.pk)):
        raise ValidationError(_("This buyer is no longer in your queues."), code="not_queued")
    conversation = conversation_for_outreach(shop=shop, buyer=buyer, group=ServiceGroup.OUTREACH)
    if conversation.assignee_id is None:
        assign_to(conversation, actor, reason="manual", previous=None, actor=actor)
    elif conversation.assignee_id != actor.pk:
        raise ValidationError(_("Another agent is talking to this buyer."), code="taken")
    return conversation
