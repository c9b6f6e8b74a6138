"""What followed an automatic reply or a script use (R-09, R-14): buyer reply, order, complaint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.accounts.scoping import shop_of
from kefu.automation.models import AutomationHit, HitKind, Script
from kefu.conversations.models import Conversation, Message

OUTCOME_WINDOW = dt.timedelta(hours=48)


def note_buyer_reply(message: Message) -> int:
    """The buyer wrote `message`: auto-replies and script uses of the conversation in the 48 h
    before count as answered. Returns how many were marked."""
    return AutomationHit.objects.filter(
        shop_id=message.shop_id,
        conversation_id=message.conversation_id,
        buyer_replied_at__isnull=True,
        created_at__gte=message.sent_at - OUTCOME_WINDOW,
        created_at__lt=message.sent_at,
    ).update(buyer_replied_at=message.sent_at)


def note_orders_placed(*, shop: Shop, placed: Iterable[tuple[int, dt.datetime]]) -> int:
    """The orders domain calls this with each batch of newly paid orders, as (buyer id, placed
    at): automatic replies and script uses of those buyers in the 48 h before an order count
    as followed by it. One read for the whole batch, however large an import; returns how many
    uses it marked."""
    by_buyer: dict[int, list[dt.datetime]] = {}
    for buyer_id, at in placed:
        by_buyer.setdefault(buyer_id, []).append(at)
    if not by_buyer:
        return 0
    earliest = min(min(times) for times in by_buyer.values())
    hits = AutomationHit.objects.filter(
        shop=shop,
        buyer_id__in=list(by_buyer),
        ordered_at__isnull=True,
        created_at__gte=earliest - OUTCOME_WINDOW,
    ).values_list("pk", "buyer_id", "created_at")
    marked: dict[dt.datetime, list[int]] = {}
    for pk, buyer_id, created in hits:
        followed = [at for at in by_buyer[buyer_id] if created <= at <= created + OUTCOME_WINDOW]
        if followed:
            marked.setdefault(min(followed), []).append(pk)
    for at, pks in marked.items():
        AutomationHit.objects.filter(pk__in=pks).update(ordered_at=at)
    return sum(len(pks) for pks in marked.values())


def note_complaint(*, shop: Shop, conversation: Conversation, at: dt.datetime) -> int:
    """The care domain calls this when a complaint is recorded for a conversation."""
    return AutomationHit.objects.filter(
        shop=shop,
        conversation=conversation,
        complained_at__isnull=True,
        created_at__gte=at - OUTCOME_WINDOW,
        created_at__lte=at,
    ).update(complained_at=at)


def record_script_use(
    *,
    agent: User,
    conversation: Conversation,
    script: Script,
    language: str,
    message: Message | None = None,
    suggested: bool = False,
) -> AutomationHit:
    """Call when an agent sends a reply built from a script (R-14); `message` is the sent
    agent message, `suggested` whether the script came from the suggestions."""
    shop = shop_of(agent)
    if conversation.shop_id != shop.pk or script.shop_id != shop.pk:
        raise ValidationError(_("script and conversation must belong to your shop"), code="shop")
    if message is not None and message.conversation_id != conversation.pk:
        raise ValidationError(_("the message is not in this conversation"), code="message")
    return AutomationHit.objects.create(
        shop=shop,
        kind=HitKind.SCRIPT,
        conversation=conversation,
        buyer_id=conversation.buyer_id,
        reply_message=message,
        script=script,
        language=language,
        agent=agent,
        suggested=suggested,
        created_at=message.sent_at if message is not None else timezone.now(),
    )
