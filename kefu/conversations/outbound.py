"""Messages the shop sends, and the outbox that delivers them.

Every outgoing message is stored with its outbox row in one transaction; a task delivers the
row after commit and retries it with backoff, so a crash loses nothing. Deliveries are
at-least-once: channels de-duplicate on the ``Idempotency-Key`` header.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop, User
from kefu.compliance import services as guard
from kefu.conversations import events, load
from kefu.conversations.assignment import assign_to
from kefu.conversations.models import (
    Buyer,
    Conversation,
    ConversationStatus,
    Direction,
    EntryPoint,
    Message,
    MessageKind,
    Outbox,
    OutboxStatus,
)
from kefu.conversations.text import clean_text, preview
from kefu.core.db.bulk import Table, insert_instances
from kefu.integrations.channels import Channel

log = logging.getLogger("kefu.delivery")


# --- the outbox ------------------------------------------------------------------------------


def queue_delivery(message: Message) -> Outbox:
    """The outbox row for ``message``; its delivery is enqueued once the transaction commits."""
    return queue_deliveries([message])[0]


def queue_deliveries(messages: list[Message], *, bulk: bool = False) -> list[Outbox]:
    """The outbox rows for stored messages, one multi-row INSERT (the intake worker's batch
    stores many, issue 15); each row's delivery is enqueued once the transaction commits.
    The one writer of the outbox (tests/compliance/test_every_path_guarded.py).

    ``bulk``: a campaign's messages, delivered after every due service message."""
    now = timezone.now()
    rows = [
        Outbox(
            shop_id=m.shop_id,
            message=m,
            channel=m.conversation.channel,
            next_attempt_at=now,
            bulk=bulk,
        )
        for m in messages
    ]
    insert_instances(rows, now=now)
    for row in rows:
        _deliver_on_commit(row.pk)
    return rows


_batch = threading.local()


def _deliver_on_commit(outbox_id: int) -> None:
    collected: list[int] | None = getattr(_batch, "ids", None)
    if collected is not None:
        collected.append(outbox_id)
        return
    transaction.on_commit(lambda: _enqueue_delivery(outbox_id))


@contextmanager
def deliveries_batched() -> Iterator[None]:
    """Inside the block, the rows ``queue_delivery`` writes are enqueued in one task after
    the transaction commits, not one task each: the intake worker writes hundreds of
    automatic replies per transaction and each task is a broker write. Use it inside the
    transaction whose commit makes the rows real."""
    outer: list[int] | None = getattr(_batch, "ids", None)
    ids: list[int] = []
    _batch.ids = ids
    try:
        yield
    finally:
        _batch.ids = outer
    if ids:
        transaction.on_commit(lambda: _enqueue_deliveries(ids))


def _enqueue_delivery(outbox_id: int) -> None:
    _enqueue_deliveries([outbox_id])


def _enqueue_deliveries(outbox_ids: list[int]) -> None:
    # The task module imports this one: resolved at call time to keep the import one-way.
    from kefu.conversations.tasks import deliver_outbox, deliver_outbox_rows

    try:
        if len(outbox_ids) == 1:
            deliver_outbox.delay(outbox_ids[0])
        else:
            deliver_outbox_rows.delay(outbox_ids)
    except Exception:  # the broker is down: the rows stay pending and the sweeper sends them
        log.exception("outbox_enqueue_failed ids=%s", outbox_ids)


def retry_delivery(*, actor: User, message: Message) -> Outbox:
    """Send a message that was not delivered again, e.g. after the owner saved a callback URL.

    The caller has resolved the message's conversation through ``access_conversation`` for
    ``actor``. Only a message that is not delivered can be retried; a marketplace message is
    refused while the shop still has no callback URL, since it would fail the same way.
    """
    if message.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's message")
    with transaction.atomic():
        row = (
            Outbox.objects.select_for_update(of=("self",))
            .select_related("shop")
            .filter(message=message)
            .first()
        )
        if row is None or row.status != OutboxStatus.NOT_DELIVERED:
            raise ValidationError(
                _("only a message that was not delivered can be sent again"), code="not_failed"
            )
        if row.channel != Channel.WIDGET and not row.shop.callback_url:
            raise ValidationError(
                _(
                    "the marketplace is not connected yet: save a callback URL in the shop "
                    "settings, then retry"
                ),
                code="no_callback_url",
            )
        previous = row.reason
        row.status = OutboxStatus.PENDING
        row.reason = ""
        row.attempts = 0
        row.last_error = ""
        row.next_attempt_at = timezone.now()
        row.save(update_fields=["status", "reason", "attempts", "last_error", "next_attempt_at"])
        events.delivery_retried(message.conversation, message, actor=actor, previous=previous)
        outbox_id = row.pk
        transaction.on_commit(lambda: _enqueue_delivery(outbox_id))
    log.info("outbox_retry id=%s by=%s previous=%s", row.pk, actor.pk, previous)
    return row


# --- agents' replies -------------------------------------------------------------------------


def _signed(conv: Conversation, actor: User, text: str, kind: str) -> str:
    """R-04: the agent's first reply in a conversation (since it was opened) carries a signature."""
    shop = conv.shop
    # A channel that renders a product card shows the product, not the text: a signature there
    # would be lost, so cards are not signed and the agent's next text reply introduces them.
    if not shop.sign_replies or kind == MessageKind.PRODUCT_CARD:
        return text
    if kind == MessageKind.IMAGE and not text:
        return text  # a signature alone under a photo reads like a caption
    already = (
        Message.objects.filter(
            conversation=conv, author=actor, direction=Direction.AGENT, sent_at__gte=conv.opened_at
        )
        .exclude(kind=MessageKind.PRODUCT_CARD)
        .exclude(kind=MessageKind.IMAGE, text="")
        .exists()
    )
    if already:
        return text
    signature = shop.signature_template.replace("{agent_name}", actor.name_for_buyers).replace(
        "{shop_name}", shop.name
    )
    return f"{text}\n{signature}"


def post_agent_message(
    *,
    actor: User,
    conversation: Conversation,
    text: str,
    kind: str = MessageKind.TEXT,
    payload: dict[str, Any] | None = None,
) -> tuple[Conversation, Message]:
    """Store an agent's message with its outbox row and move the conversation on. Call it
    inside a transaction, after the reply passed its checks (``kefu.desk.replies``).

    Returns the locked, updated conversation with the message.
    """
    if conversation.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's conversation")
    if kind not in MessageKind.values:
        raise ValidationError(f"unknown message kind {kind!r}", code="kind")
    now = timezone.now()
    conv = (
        Conversation.objects.select_for_update(of=("self",))
        .select_related("shop", "assignee")
        .get(pk=conversation.pk)
    )
    message = Message.objects.create(
        shop_id=conv.shop_id,
        conversation=conv,
        buyer_id=conv.buyer_id,
        direction=Direction.AGENT,
        kind=kind,
        text=_signed(conv, actor, text, kind),
        author=actor,
        sent_at=now,
        payload=payload or {},
    )
    queue_delivery(message)
    if conv.status == ConversationStatus.RESOLVED:
        if (
            Conversation.objects.filter(
                shop_id=conv.shop_id, buyer_id=conv.buyer_id, group=conv.group
            )
            .exclude(status=ConversationStatus.RESOLVED)
            .exclude(pk=conv.pk)
            .exists()
        ):
            # Only one live conversation per buyer and group (decisions §4): reopening this
            # one would break that, so the agent answers in the live one.
            raise ValidationError(
                _("the buyer already has a live conversation in this group: reply there"),
                code="duplicate",
            )
        conv.opened_at = now
        conv.resolved_at = None
        load.shift(conv.assignee_id, +1)
        events.conversation_reopened(conv, actor=actor, reason="agent_reply")
    conv.status = ConversationStatus.PENDING
    conv.waiting_since = None
    conv.unread_count = 0
    conv.last_message_at = now
    conv.last_message_preview = preview(message.text or f"[{kind}]")
    conv.save()
    if conv.assignee_id is None:
        assign_to(conv, actor, reason="replied", previous=None, actor=actor)
    events.reply_sent(conv, message, actor=actor)
    return conv, message


# --- messages without a person ---------------------------------------------------------------


# What the rule guard records as the source of an automatic reply.
_AUTOMATION_SOURCE = {"keyword": "keyword_reply", "welcome": "welcome", "out_of_hours": "welcome"}


def store_automatic_reply(
    *,
    trigger: Message,
    kind: str,
    text: str,
    payload: dict[str, Any],
    checks: guard.UnattendedChecks | None = None,
    save: bool = True,
) -> Message | None:
    """An automatic answer to a buyer's message (welcome, out of hours, keyword), stored.
    It leaves the conversation waiting for a person; ``queue_automatic_replies`` sends it.

    The text was checked when it was saved; it is checked again here because the rules or the
    shop's context may have changed since. None (nothing stored) when the guard blocks it.
    The intake worker's batch passes its ``checks`` and ``save=False``: it gets the unsaved
    row and inserts the batch's replies together (decisions §47)."""
    if text.strip():
        verdict = guard.check_unattended(
            shop=trigger.shop,
            text=text,
            source=_AUTOMATION_SOURCE.get(str(payload.get("automation")), "welcome"),
            conversation_id=trigger.conversation_id,
            product=trigger.conversation.product,
            checks=checks,
        )
        if verdict.blocked:
            log.warning(
                "automatic_reply_blocked conversation=%s codes=%s",
                trigger.conversation_id,
                ",".join(sorted(verdict.codes)),
            )
            return None
    reply = Message(
        shop_id=trigger.shop_id,
        conversation_id=trigger.conversation_id,
        buyer_id=trigger.buyer_id,
        direction=Direction.AUTO,
        kind=kind,
        text=text,
        author=None,
        sent_at=max(timezone.now(), trigger.sent_at),
        payload=payload,
    )
    if save:
        reply.save(force_insert=True)
    return reply


def queue_automatic_replies(conversation: Conversation, replies: list[Message]) -> None:
    """The outbox rows and timeline events of stored automatic replies, in sending order."""
    for reply in replies:
        reply.conversation = conversation
        queue_delivery(reply)
        events.automatic_message_sent(
            conversation, reply, automation=str(reply.payload.get("automation", ""))
        )


def _blocked_by_guard(
    shop: Shop,
    conversation: Conversation,
    text: str,
    automation: str,
    checks: guard.UnattendedChecks | None = None,
) -> bool:
    """The rule guard's verdict on a system message; a block is recorded and logged."""
    if not text.strip():
        return False
    verdict = guard.check_unattended(
        shop=shop,
        text=text,
        source="system",
        conversation_id=conversation.pk,
        product=conversation.product,
        checks=checks,
    )
    if verdict.blocked:
        log.warning(
            "system_message_blocked conversation=%s automation=%s codes=%s",
            conversation.pk,
            automation,
            ",".join(sorted(verdict.codes)),
        )
    return verdict.blocked


def _system_message(
    conversation: Conversation,
    text: str,
    automation: str,
    dedupe_key: str,
    kind: str,
    payload: dict[str, Any] | None,
    now: datetime,
) -> Message:
    """The unsaved row of a system message (its ``external_id`` is the once-per-shop key)."""
    return Message(
        shop_id=conversation.shop_id,
        conversation=conversation,
        buyer_id=conversation.buyer_id,
        direction=Direction.AUTO,
        kind=kind,
        text=text,
        external_id=f"kefu:{dedupe_key}"[:120],
        sent_at=now,
        payload={"automation": automation, **(payload or {})},
    )


def _outreach_entry_point(group: str) -> str:
    return EntryPoint.ORDER_LIST if group == "after_sale" else EntryPoint.SHOP_PAGE


def send_system_message(
    *,
    conversation: Conversation,
    text: str,
    automation: str,
    dedupe_key: str,
    kind: str = MessageKind.TEXT,
    payload: dict[str, Any] | None = None,
) -> Message | None:
    """A message the shop sends without a person (reminders, alerts, broadcasts).

    Sent at most once per ``dedupe_key`` in the shop, even when two jobs race: returns None
    when it was sent before. Never counts as the shop's reply: unread state, the response
    clock and the status stay as they are. The rule guard checks it like any reply: on a
    block nothing is stored or sent (the finding is recorded) and None is returned.
    """
    text = clean_text(text)
    if _blocked_by_guard(conversation.shop, conversation, text, automation):
        return None
    now = timezone.now()
    try:
        with transaction.atomic():
            message = _system_message(
                conversation, text, automation, dedupe_key, kind, payload, now
            )
            message.save(force_insert=True)
            queue_delivery(message)
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_at=now, last_message_preview=preview(text)
            )
            events.automatic_message_sent(conversation, message, automation=automation)
    except IntegrityError:
        return None
    return message


def conversation_for_outreach(
    *,
    shop: Shop,
    buyer: Buyer,
    group: str,
    channel: str | None = None,
    entry_point: str | None = None,
    reason: str = "outreach",
) -> Conversation:
    """The buyer's live conversation of ``group``, or a new one waiting on the buyer.

    A widget invitation passes its own channel, entry point and reason (the conversation is
    tagged with the invitation in its timeline); campaigns use the buyer's last channel."""
    if buyer.shop_id != shop.pk:
        raise PermissionDenied("buyer of another shop")
    conv = (
        Conversation.objects.filter(shop=shop, buyer=buyer, group=group)
        .exclude(status=ConversationStatus.RESOLVED)
        .first()
    )
    if conv is not None:
        return conv
    last = Conversation.objects.filter(shop=shop, buyer=buyer).order_by("-last_message_at").first()
    now = timezone.now()
    try:
        with transaction.atomic():
            conv = Conversation.objects.create(
                shop=shop,
                buyer=buyer,
                channel=channel or (last.channel if last else Channel.MARKETPLACE),
                entry_point=entry_point or _outreach_entry_point(group),
                group=group,
                status=ConversationStatus.PENDING,
                last_message_at=now,
                opened_at=now,
            )
            events.conversation_created(conv, reason=reason)
    except IntegrityError:
        conv = (
            Conversation.objects.filter(shop=shop, buyer=buyer, group=group)
            .exclude(status=ConversationStatus.RESOLVED)
            .get()
        )
    return conv


@dataclass(frozen=True)
class OutreachMessage:
    """One buyer's message of a set-based outreach send (``send_outreach_messages``)."""

    buyer_id: int
    text: str
    dedupe_key: str
    kind: str = MessageKind.TEXT
    payload: dict[str, Any] | None = None


_CONVERSATIONS: Table | None = None


def send_outreach_messages(
    *,
    shop: Shop,
    group: str,
    automation: str,
    items: Sequence[OutreachMessage],
    checks: guard.UnattendedChecks | None = None,
) -> list[Message | None]:
    """``conversation_for_outreach`` and ``send_system_message`` for many buyers of one shop
    at once, storing what they store: a live conversation of ``group`` per buyer (created
    waiting on the buyer when missing, on the buyer's last channel), the message, its outbox
    row and the timeline events, each with one multi-row statement for all buyers (a campaign
    step sends thousands; one buyer at a time cost ~17 statements each).

    Every text goes through the rule guard; a blocked one is neither stored nor sent (None in
    its place, the finding recorded). One message per buyer in ``items``. Call inside a
    transaction: a concurrent run that stored the same live conversation or dedupe key first
    raises ``IntegrityError`` and the caller rolls the whole set back."""
    global _CONVERSATIONS
    if not items:
        return []
    buyer_ids = [item.buyer_id for item in items]
    if len(set(buyer_ids)) != len(buyer_ids):
        raise ValueError("one message per buyer")
    now = timezone.now()
    checks = checks or guard.UnattendedChecks()
    live = {
        c.buyer_id: c
        for c in Conversation.objects.filter(shop=shop, buyer_id__in=buyer_ids, group=group)
        .exclude(status=ConversationStatus.RESOLVED)
        .select_related("product")
    }
    missing = [pk for pk in buyer_ids if pk not in live]
    last_channel: dict[int, str] = {}
    if missing:
        # Oldest first, so each buyer's last conversation is the one kept.
        for buyer_id, channel in (
            Conversation.objects.filter(shop=shop, buyer_id__in=missing)
            .order_by("last_message_at", "pk")
            .values_list("buyer_id", "channel")
        ):
            last_channel[buyer_id] = channel
    texts = {item.buyer_id: clean_text(item.text) for item in items}
    created = [
        Conversation(
            shop=shop,
            buyer_id=buyer_id,
            channel=last_channel.get(buyer_id, Channel.MARKETPLACE),
            entry_point=_outreach_entry_point(group),
            group=group,
            status=ConversationStatus.PENDING,
            last_message_at=now,
            last_message_preview=preview(texts[buyer_id]),
            opened_at=now,
        )
        for buyer_id in missing
    ]
    sent: list[Message | None] = []
    with events.deferred():
        insert_instances(created, now=now)
        for conv in created:
            live[conv.buyer_id] = conv
            events.conversation_created(conv, reason="outreach")
        messages: list[Message] = []
        for item in items:
            conv = live[item.buyer_id]
            text = texts[item.buyer_id]
            if _blocked_by_guard(shop, conv, text, automation, checks):
                sent.append(None)
                continue
            message = _system_message(
                conv, text, automation, item.dedupe_key, item.kind, item.payload, now
            )
            messages.append(message)
            sent.append(message)
        insert_instances(messages, now=now)
        queue_deliveries(messages, bulk=True)
        fresh = {id(conv) for conv in created}
        touched = [m for m in messages if id(m.conversation) not in fresh]
        if touched:
            if _CONVERSATIONS is None:
                _CONVERSATIONS = Table(Conversation)
            _CONVERSATIONS.update_joined(
                ["last_message_at", "last_message_preview"],
                [[now, preview(m.text), m.conversation_id] for m in touched],
            )
        for message in messages:
            events.automatic_message_sent(message.conversation, message, automation=automation)
    return sent
