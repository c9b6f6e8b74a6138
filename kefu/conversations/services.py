"""Every write about buyers, conversations, messages, assignment and presence."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.accounts.models import Shop, User
from kefu.catalog.models import Product
from kefu.conversations.events import record_event
from kefu.conversations.models import (
    AgentPresence,
    Buyer,
    Channel,
    Conversation,
    ConversationStatus,
    Direction,
    EntryPoint,
    Message,
    MessageKind,
    Outbox,
)
from kefu.conversations.routing import ACTIVE, choose_agent, group_for_entry_point

log = logging.getLogger("kefu.conversations")

# A buyer writing again soon after resolution continues the same thread (metrics measure
# the first response from the reopening).
REOPEN_WINDOW = timedelta(days=7)
PREVIEW_CHARS = 160


class RuleStop(ValidationError):
    """The rule guard stopped a reply: a block, or warnings the agent has not confirmed."""

    def __init__(self, verdict: Any, *, needs_confirmation: bool) -> None:
        self.verdict = verdict
        self.needs_confirmation = needs_confirmation
        codes = ", ".join(sorted(verdict.codes))
        what = "needs a second look" if needs_confirmation else "breaks platform rules"
        super().__init__(f"this reply {what}: {codes}", code="rules")


@dataclass(frozen=True)
class BuyerIn:
    external_id: str
    name: str = ""
    language: str = ""
    country: str = ""


@dataclass(frozen=True)
class IntakeResult:
    conversation: Conversation
    message: Message
    created: bool
    auto_replies: list[Message] = field(default_factory=list)


def _clean_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError("the message is empty", code="empty")
    if len(text) > settings.KEFU_MAX_MESSAGE_CHARS:
        raise ValidationError(
            f"the message is longer than {settings.KEFU_MAX_MESSAGE_CHARS} characters",
            code="too_long",
        )
    return text


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW_CHARS else flat[: PREVIEW_CHARS - 1] + "…"


# --- intake -------------------------------------------------------------------------------


def receive_buyer_message(
    *,
    shop: Shop,
    buyer: BuyerIn,
    text: str,
    entry_point: str,
    channel: str = Channel.MARKETPLACE,
    external_id: str | None = None,
    product_external_id: str | None = None,
    order_external_id: str | None = None,
    sent_at: datetime | None = None,
) -> IntakeResult:
    """Store a buyer's message, routing a new conversation (R-03).

    Idempotent on ``external_id`` (unique per shop): the same id again returns the stored
    message with ``created=False`` and changes nothing.
    """
    text = _clean_text(text)
    if entry_point not in EntryPoint.values:
        raise ValidationError(f"unknown entry point {entry_point!r}", code="entry_point")
    if channel not in Channel.values:
        raise ValidationError(f"unknown channel {channel!r}", code="channel")
    if not buyer.external_id.strip() or len(buyer.external_id) > 120:
        raise ValidationError("buyer.external_id must be 1-120 characters", code="buyer_id")
    if sent_at is not None and timezone.is_naive(sent_at):
        raise ValidationError("sent_at needs a time zone offset", code="naive_time")
    if external_id is not None:
        existing = _existing_message(shop, external_id)
        if existing is not None:
            return IntakeResult(existing.conversation, existing, created=False)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _store_buyer_message(
                    shop=shop,
                    buyer_in=buyer,
                    text=text,
                    entry_point=entry_point,
                    channel=channel,
                    external_id=external_id,
                    product_external_id=product_external_id,
                    order_external_id=order_external_id,
                    sent_at=sent_at,
                )
        except IntegrityError:
            # A concurrent delivery of the same message, or of the buyer's first message.
            if external_id is not None:
                existing = _existing_message(shop, external_id)
                if existing is not None:
                    return IntakeResult(existing.conversation, existing, created=False)
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _existing_message(shop: Shop, external_id: str) -> Message | None:
    return (
        Message.objects.filter(shop=shop, external_id=external_id)
        .select_related("conversation__assignee")
        .first()
    )


def _store_buyer_message(
    *,
    shop: Shop,
    buyer_in: BuyerIn,
    text: str,
    entry_point: str,
    channel: str,
    external_id: str | None,
    product_external_id: str | None,
    order_external_id: str | None,
    sent_at: datetime | None,
) -> IntakeResult:
    now = timezone.now()
    at = sent_at or now
    buyer, created_buyer = Buyer.objects.get_or_create(
        shop=shop,
        external_id=buyer_in.external_id.strip(),
        defaults={
            "name": buyer_in.name[:120],
            "language": buyer_in.language[:10],
            "country": buyer_in.country[:2].upper(),
            "first_seen_at": at,
        },
    )
    if not created_buyer:
        changed = {
            k: v
            for k, v in (
                ("name", buyer_in.name[:120]),
                ("language", buyer_in.language[:10]),
                ("country", buyer_in.country[:2].upper()),
            )
            if v and getattr(buyer, k) != v
        }
        for k, v in changed.items():
            setattr(buyer, k, v)
        if changed:
            buyer.save(update_fields=list(changed))
    product = (
        Product.objects.filter(shop=shop, external_id=product_external_id).first()
        if product_external_id
        else None
    )
    group = group_for_entry_point(entry_point)
    conv = (
        Conversation.objects.select_for_update(of=("self",))
        .filter(shop=shop, buyer=buyer, group=group)
        .exclude(status=ConversationStatus.RESOLVED)
        .select_related("assignee__presence", "product")
        .first()
    )
    reopened = False
    if conv is None:
        conv = (
            Conversation.objects.select_for_update(of=("self",))
            .filter(
                shop=shop,
                buyer=buyer,
                group=group,
                status=ConversationStatus.RESOLVED,
                resolved_at__gte=now - REOPEN_WINDOW,
            )
            .select_related("assignee__presence", "product")
            .order_by("-resolved_at")
            .first()
        )
        if conv is not None:
            reopened = True
            conv.status = ConversationStatus.OPEN
            conv.opened_at = at
            conv.resolved_at = None
    if conv is None:
        conv = Conversation.objects.create(
            shop=shop,
            buyer=buyer,
            channel=channel,
            entry_point=entry_point,
            group=group,
            status=ConversationStatus.OPEN,
            product=product,
            order_external_id=(order_external_id or "")[:80],
            last_message_at=at,
            opened_at=at,
        )
        record_event(conv, "created", entry_point=entry_point, group=group, channel=channel)
    elif reopened:
        record_event(conv, "reopened", reason="buyer_message")
    if product is not None and conv.product_id != product.pk:
        conv.product = product
    if order_external_id:
        conv.order_external_id = order_external_id[:80]
    message = Message.objects.create(
        shop=shop,
        conversation=conv,
        buyer=buyer,
        direction=Direction.BUYER,
        text=text,
        external_id=external_id,
        sent_at=at,
    )
    conv.status = ConversationStatus.OPEN
    conv.unread_count += 1
    if conv.waiting_since is None:
        conv.waiting_since = at
    if at >= conv.last_message_at:
        conv.last_message_at = at
        conv.last_message_preview = _preview(text)
    conv.save()
    if buyer.last_message_at is None or at > buyer.last_message_at:
        Buyer.objects.filter(pk=buyer.pk).update(last_message_at=at)
    if conv.assignee is None or not _is_available(conv.assignee):
        _route(conv, reason_prefix="" if conv.assignee is None else "offline_")
    record_event(conv, "message_received", message=message)
    auto = _run_automation(message)
    return IntakeResult(conv, message, created=True, auto_replies=auto)


def _run_automation(message: Message) -> list[Message]:
    """Automatic replies (welcome, out-of-hours, keyword) decided in the intake transaction."""
    from kefu.core.modules import optional_module

    automation = optional_module("kefu.automation.services")
    hook = getattr(automation, "on_buyer_message", None) if automation else None
    if hook is None:
        return []
    try:
        replies: list[Message] = hook(message=message)
    except Exception:
        # The buyer's message matters more than an automatic reply: a failing automation
        # rolls back its own savepoint and intake goes on, instead of answering 500 to every
        # retry of that message.
        log.exception(
            "automation_failed shop=%s conversation=%s message=%s",
            message.shop_id,
            message.conversation_id,
            message.pk,
        )
        return []
    for reply in replies:
        _queue_delivery(reply)
        record_event(
            message.conversation,
            "auto_message",
            message=reply,
            automation=reply.payload.get("automation", ""),
        )
    return replies


def _is_available(user: User) -> bool:
    # Intake selects the assignee's presence with the conversation; other callers query it.
    try:
        presence: AgentPresence | None = user.presence
    except AgentPresence.DoesNotExist:
        presence = None
    return bool(
        user.is_active
        and presence is not None
        and presence.is_online
        and presence.status == "available"
    )


def _route(
    conv: Conversation, *, reason_prefix: str = "", exclude_user_id: int | None = None
) -> None:
    agent, reason = choose_agent(
        shop=conv.shop, group=conv.group, product=conv.product, exclude_user_id=exclude_user_id
    )
    previous = conv.assignee
    if agent is None:
        if previous is not None:
            conv.assignee = None
            conv.save(update_fields=["assignee"])
            record_event(
                conv,
                "unassigned",
                reason=reason_prefix + reason,
                from_agent=previous.username,
                from_user_id=previous.pk,
            )
        return
    _assign(conv, agent, reason=reason_prefix + reason, previous=previous)


def _assign(
    conv: Conversation,
    agent: User,
    *,
    reason: str,
    previous: User | None,
    actor: User | None = None,
) -> None:
    conv.assignee = agent
    conv.save(update_fields=["assignee"])
    AgentPresence.objects.filter(user=agent).update(last_assigned_at=timezone.now())
    data: dict[str, Any] = {"agent": agent.username, "reason": reason}
    if previous is not None:
        data |= {"from_agent": previous.username, "from_user_id": previous.pk}
    record_event(conv, "reassigned" if previous else "assigned", actor=actor, **data)


# --- replies and outbound ------------------------------------------------------------------


def _signed(conv: Conversation, actor: User, text: str, kind: str) -> str:
    """R-04: the agent's first reply in a conversation (since it was opened) carries a signature."""
    shop = conv.shop
    # A channel that renders a product card shows the product, not the text: a signature there
    # would be lost, so cards are not signed and the agent's next text reply introduces them.
    if not shop.sign_replies or kind == MessageKind.PRODUCT_CARD:
        return text
    already = (
        Message.objects.filter(
            conversation=conv, author=actor, direction=Direction.AGENT, sent_at__gte=conv.opened_at
        )
        .exclude(kind=MessageKind.PRODUCT_CARD)
        .exists()
    )
    if already:
        return text
    signature = shop.signature_template.replace("{agent_name}", actor.name_for_buyers).replace(
        "{shop_name}", shop.name
    )
    return f"{text}\n{signature}"


def _queue_delivery(message: Message) -> Outbox:
    outbox = Outbox.objects.create(
        shop_id=message.shop_id,
        message=message,
        channel=message.conversation.channel,
        next_attempt_at=timezone.now(),
    )
    transaction.on_commit(lambda: _enqueue_delivery(outbox.pk))
    return outbox


def _enqueue_delivery(outbox_id: int) -> None:
    from kefu.integrations.tasks import deliver_outbox

    try:
        deliver_outbox.delay(outbox_id)
    except Exception:  # the broker is down: the row stays pending and the sweeper sends it
        log.exception("outbox_enqueue_failed id=%s", outbox_id)


def _recipient_is_payer(conv: Conversation) -> bool | None:
    """Whether the buyer of this conversation paid the order it is about (R-24)."""
    from kefu.conversations.selectors import order_of

    order = order_of(conv)
    return None if order is None else bool(order.buyer_id == conv.buyer_id)


def _guard(*, actor: User, conv: Conversation, text: str, confirmed: bool) -> None:
    """Check the reply against the shop's platform rules before anything is stored (R-22..29)."""
    from kefu.compliance import services as guard

    refund_marks = conv.marks.filter(cleared_at__isnull=True, color__in=["green", "purple"])
    context = guard.context_for_shop(
        conv.shop,
        recipient_is_paying_buyer=_recipient_is_payer(conv),
        product=conv.product,
        refund_talk=refund_marks.exists(),
        language=conv.buyer.language or None,
    )
    verdict = guard.check_outgoing(
        shop=conv.shop,
        actor=actor,
        text=text,
        context=context,
        source="reply",
        conversation_id=conv.pk,
    )
    if verdict.blocked:
        raise RuleStop(verdict, needs_confirmation=False)
    if verdict.verdict == "warn":
        if not confirmed:
            raise RuleStop(verdict, needs_confirmation=True)
        guard.record_override(
            shop=conv.shop,
            actor=actor,
            verdict=verdict,
            text=text,
            source="reply",
            conversation_id=conv.pk,
        )


def send_reply(
    *,
    actor: User,
    conversation: Conversation,
    text: str,
    kind: str = MessageKind.TEXT,
    payload: dict[str, Any] | None = None,
    confirm_warnings: bool = False,
    script_variant_id: int | None = None,
    suggested: bool = False,
) -> Message:
    """An agent's reply: stored with its outbox row in one transaction, delivered after commit.

    The rule guard runs first: a blocking finding or an unconfirmed warning raises
    ``RuleStop`` and nothing is stored or sent. The caller has resolved ``conversation``
    through ``access_conversation`` for ``actor``.
    """
    if conversation.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's conversation")
    text = _clean_text(text)
    if kind not in MessageKind.values:
        raise ValidationError(f"unknown message kind {kind!r}", code="kind")
    from kefu.conversations.reply_tools import unfilled_gaps

    gaps = unfilled_gaps(text)
    if gaps:
        raise ValidationError(
            "fill the gaps before sending: " + ", ".join(dict.fromkeys(gaps)), code="gaps"
        )
    _guard(actor=actor, conv=conversation, text=text, confirmed=confirm_warnings)
    now = timezone.now()
    with transaction.atomic():
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
        _queue_delivery(message)
        if conv.status == ConversationStatus.RESOLVED:
            conv.opened_at = now
            conv.resolved_at = None
            record_event(conv, "reopened", actor=actor, reason="agent_reply")
        conv.status = ConversationStatus.PENDING
        conv.waiting_since = None
        conv.unread_count = 0
        conv.last_message_at = now
        conv.last_message_preview = _preview(message.text)
        conv.save()
        if conv.assignee_id is None:
            _assign(conv, actor, reason="replied", previous=None, actor=actor)
        record_event(conv, "reply_sent", actor=actor, message=message)
        if script_variant_id is not None:
            _record_script_use(actor, conv, message, script_variant_id, suggested)
    conversation.refresh_from_db()
    return message


def _record_script_use(
    actor: User, conv: Conversation, message: Message, variant_id: int, suggested: bool
) -> None:
    """R-14: which script a reply came from, so its outcome can be measured."""
    from kefu.automation import selectors as automation
    from kefu.automation import services as automation_services

    variant = automation.access_variant(actor, variant_id)
    automation_services.record_script_use(
        agent=actor,
        conversation=conv,
        script=variant.script,
        language=variant.language,
        message=message,
        suggested=suggested,
    )


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
    clock and the status stay as they are.
    """
    text = _clean_text(text)
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
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
            _queue_delivery(message)
            Conversation.objects.filter(pk=conversation.pk).update(
                last_message_at=now, last_message_preview=_preview(text)
            )
            record_event(conversation, "auto_message", message=message, automation=automation)
    except IntegrityError:
        return None
    return message


def conversation_for_outreach(*, shop: Shop, buyer: Buyer, group: str) -> Conversation:
    """The buyer's live conversation of ``group``, or a new one waiting on the buyer."""
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
                channel=last.channel if last else Channel.MARKETPLACE,
                entry_point=EntryPoint.ORDER_LIST
                if group == "after_sale"
                else EntryPoint.SHOP_PAGE,
                group=group,
                status=ConversationStatus.PENDING,
                last_message_at=now,
                opened_at=now,
            )
            record_event(
                conv,
                "created",
                entry_point=conv.entry_point,
                group=group,
                channel=conv.channel,
                reason="outreach",
            )
    except IntegrityError:
        conv = (
            Conversation.objects.filter(shop=shop, buyer=buyer, group=group)
            .exclude(status=ConversationStatus.RESOLVED)
            .get()
        )
    return conv


def add_internal_note(
    *,
    conversation: Conversation,
    text: str,
    data: dict[str, Any] | None = None,
    actor: User | None = None,
) -> None:
    """A note on the timeline for agents only; never sent to the buyer."""
    record_event(conversation, "note", actor=actor, text=_clean_text(text), **(data or {}))


# --- conversation state --------------------------------------------------------------------


def mark_read(*, actor: User, conversation: Conversation) -> None:
    """Opening a conversation clears its unread count for the agent who holds it."""
    if conversation.unread_count and (
        conversation.assignee_id == actor.pk
        or (conversation.assignee_id is None and actor.is_owner)
    ):
        Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
        conversation.unread_count = 0


def resolution_blockers(conversation: Conversation) -> list[str]:
    """Duties that must be done before resolving (e.g. a yellow mark's new tracking number)."""
    from kefu.conversations.marks import resolution_blockers as mark_blockers

    return mark_blockers(conversation)


def set_conversation_order(
    *, actor: User, conversation: Conversation, order_external_id: str
) -> bool:
    """Name the order the conversation is about; the sidebar highlight, script placeholders
    and mark duties follow it. The orders domain checks the order is the buyer's first.
    Returns False when it already was the conversation's order."""
    if conversation.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's conversation")
    order_external_id = order_external_id.strip()[:80]
    if not order_external_id:
        raise ValidationError("choose an order", code="order")
    with transaction.atomic():
        conv = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        previous = conv.order_external_id
        if previous == order_external_id:
            return False
        conv.order_external_id = order_external_id
        conv.save(update_fields=["order_external_id"])
        record_event(conv, "order_chosen", actor=actor, order=order_external_id, previous=previous)
    conversation.order_external_id = order_external_id
    return True


def resolve_conversation(*, actor: User, conversation: Conversation) -> Conversation:
    if conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    blockers = resolution_blockers(conversation)
    if blockers:
        raise ValidationError("cannot resolve yet: " + "; ".join(blockers), code="blocked")
    with transaction.atomic():
        conv = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        if conv.status == ConversationStatus.RESOLVED:
            return conv
        conv.status = ConversationStatus.RESOLVED
        conv.resolved_at = timezone.now()
        conv.waiting_since = None
        conv.unread_count = 0
        conv.save()
        record_event(conv, "resolved", actor=actor)
    return conv


def reopen_conversation(*, actor: User, conversation: Conversation) -> Conversation:
    if conversation.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    with transaction.atomic():
        conv = Conversation.objects.select_for_update(of=("self",)).get(pk=conversation.pk)
        if conv.status != ConversationStatus.RESOLVED:
            return conv
        if (
            Conversation.objects.filter(
                shop_id=conv.shop_id, buyer_id=conv.buyer_id, group=conv.group
            )
            .exclude(status=ConversationStatus.RESOLVED)
            .exists()
        ):
            raise ValidationError(
                "the buyer already has a live conversation in this group", code="duplicate"
            )
        now = timezone.now()
        conv.status = ConversationStatus.OPEN
        conv.opened_at = now
        conv.resolved_at = None
        conv.save()
        record_event(conv, "reopened", actor=actor, reason="agent")
    return conv


def assign_conversation(*, actor: User, conversation: Conversation, agent: User) -> Conversation:
    """The owner assigns to anyone of the shop; an agent may only take it for itself."""
    if conversation.shop_id != actor.shop_id or agent.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop")
    if not actor.is_owner and agent.pk != actor.pk:
        raise PermissionDenied("only the main account assigns to others")
    if not agent.is_active:
        raise ValidationError("this account is disabled", code="inactive")
    if not agent.in_group(conversation.group):
        raise ValidationError(
            f"{agent.username} is not in the {conversation.group} group", code="group"
        )
    with transaction.atomic():
        conv = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("assignee")
            .get(pk=conversation.pk)
        )
        if conv.assignee_id == agent.pk:
            return conv
        _assign(conv, agent, reason="manual", previous=conv.assignee, actor=actor)
    return conv


# --- presence (R-03, R-19) -----------------------------------------------------------------


def _presence(user: User) -> AgentPresence:
    presence, _ = AgentPresence.objects.get_or_create(user=user, defaults={"shop_id": user.shop_id})
    return presence


def agent_seen(*, user: User) -> None:
    """A login, socket or heartbeat: the agent is online; waiting conversations may flow to it."""
    if user.shop_id is None or not user.is_active:
        return
    presence = _presence(user)
    came_online = not presence.is_online
    AgentPresence.objects.filter(pk=presence.pk).update(is_online=True, last_seen_at=timezone.now())
    if came_online:
        assign_waiting_conversations(shop=user.shop)


def agent_socket_opened(*, user: User) -> None:
    from django.db.models import F

    if user.shop_id is None:
        return
    _presence(user)
    AgentPresence.objects.filter(user=user).update(socket_count=F("socket_count") + 1)
    agent_seen(user=user)


def agent_socket_closed(*, user: User) -> None:
    """A closed socket is not yet offline: a network drop gets the grace period to come back."""
    from django.db.models import F

    AgentPresence.objects.filter(user=user, socket_count__gt=0).update(
        socket_count=F("socket_count") - 1, last_seen_at=timezone.now()
    )


def set_availability(*, user: User, status: str) -> None:
    if status not in ("available", "away"):
        raise ValidationError("status is available or away", code="status")
    presence = _presence(user)
    AgentPresence.objects.filter(pk=presence.pk).update(status=status)
    if status == "away":
        agent_went_offline(agent=user, reason="away", keep_online=True)
    else:
        agent_seen(user=user)
        assign_waiting_conversations(shop=user.shop)


def agent_went_offline(*, agent: User, reason: str, keep_online: bool = False) -> int:
    """Move the agent's live conversations to colleagues who are online (R-19)."""
    moved = 0
    with transaction.atomic():
        if not keep_online:
            AgentPresence.objects.filter(user=agent).update(is_online=False, socket_count=0)
        convs = list(
            Conversation.objects.select_for_update(of=("self",))
            .filter(shop=agent.shop, assignee=agent, status__in=ACTIVE)
            .select_related("shop", "product", "assignee")
        )
        for conv in convs:
            _route(conv, reason_prefix=f"{reason}_", exclude_user_id=agent.pk)
            moved += 1
    if moved:
        log.info("agent_offline_reassigned agent=%s reason=%s moved=%d", agent.pk, reason, moved)
    return moved


def reassign_offline_agents(*, now: datetime | None = None) -> int:
    """Agents silent past the grace period are offline; their conversations move on."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.KEFU_PRESENCE_GRACE_SECONDS)
    stale = list(
        AgentPresence.objects.filter(is_online=True, last_seen_at__lt=cutoff).select_related("user")
    )
    total = 0
    for presence in stale:
        total += agent_went_offline(agent=presence.user, reason="offline")
    return total


def assign_waiting_conversations(*, shop: Shop | None = None) -> int:
    """Give unassigned live conversations to agents who are online now."""
    qs = Conversation.objects.filter(assignee__isnull=True, status=ConversationStatus.OPEN)
    if shop is not None:
        qs = qs.filter(shop=shop)
    assigned = 0
    for conv_id in list(qs.order_by("last_message_at").values_list("pk", flat=True)[:500]):
        with transaction.atomic():
            conv = (
                Conversation.objects.select_for_update(of=("self",))
                .select_related("shop", "product")
                .filter(pk=conv_id, assignee__isnull=True)
                .first()
            )
            if conv is None:
                continue
            agent, reason = choose_agent(shop=conv.shop, group=conv.group, product=conv.product)
            if agent is None:
                continue
            _assign(conv, agent, reason="waiting_" + reason, previous=None)
            assigned += 1
    return assigned
