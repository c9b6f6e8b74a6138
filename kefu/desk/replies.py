"""An agent's reply going out (R-04, R-13, R-14, R-21..R-29).

One path for every reply: no gap left by a script, the rule guard with what the shop knows of
the order, then the message, its outbox row, the conversation's state and its event in one
transaction, then the script's use recorded for its outcome.
"""

from __future__ import annotations

from typing import IO, Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from kefu.accounts.models import User
from kefu.automation import selectors as automation
from kefu.automation.outcomes import record_script_use
from kefu.automation.placeholders import unfilled_gaps
from kefu.catalog.cards import card_payload, card_text
from kefu.catalog.models import Product
from kefu.compliance import services as guard
from kefu.compliance.scanner import CheckContext, Verdict, check_text
from kefu.conversations.media import clean_image, image_payload, store_image
from kefu.conversations.models import Conversation, Direction, Message, MessageKind
from kefu.conversations.outbound import post_agent_message
from kefu.conversations.text import clean_text
from kefu.orders.config import order_settings
from kefu.orders.models import Order
from kefu.orders.selectors import order_of


class RuleStop(ValidationError):
    """The rule guard stopped a reply: a block, or warnings the agent has not confirmed."""

    def __init__(self, verdict: Any, *, needs_confirmation: bool) -> None:
        self.verdict = verdict
        self.needs_confirmation = needs_confirmation
        codes = ", ".join(sorted(verdict.codes))
        what = "needs a second look" if needs_confirmation else "breaks platform rules"
        super().__init__(f"this reply {what}: {codes}", code="rules")


# How many of the buyer's latest messages say whose order the conversation is about.
_RECENT_BUYER_MESSAGES = 10


def _recipient_is_payer(conv: Conversation, order: Order | None) -> bool | None:
    """Whether the buyer of this conversation paid the order it is about (R-24, R-44).

    With no order linked, a buyer who asks for the address, phone or name "of my other
    account" is treated as not the payer: that is the extortion pattern of R-44."""
    if order is not None:
        return bool(order.buyer_id == conv.buyer_id)
    recent = (
        conv.messages.filter(direction=Direction.BUYER)
        .order_by("-sent_at", "-id")
        .values_list("text", flat=True)[:_RECENT_BUYER_MESSAGES]
    )
    return False if guard.buyer_asks_for_another_account(list(recent)) else None


def check_draft(*, actor: User, conversation: Conversation, text: str) -> Verdict | None:
    """The verdict a reply would get if sent now, for the reply box while the agent types.

    Records nothing (a draft is not a send attempt); None for an empty draft. The caller has
    resolved ``conversation`` through ``access_conversation`` for ``actor``."""
    if conversation.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's conversation")
    if not text.strip():
        return None
    return check_text(clean_text(text), context=_context(conversation))


def _context(conv: Conversation) -> CheckContext:
    """What the shop knows of this conversation's order, product and buyer (R-24, R-25)."""
    refund_marks = conv.marks.filter(cleared_at__isnull=True, color__in=["green", "purple"])
    promises = order_settings(shop=conv.shop)
    order = order_of(conv)
    order_products = (
        [item.product for item in order.items.select_related("product") if item.product]
        if order is not None and conv.product is None
        else []
    )
    return guard.context_for_shop(
        conv.shop,
        recipient_is_paying_buyer=_recipient_is_payer(conv, order),
        product=conv.product,
        order_products=order_products,
        refund_talk=refund_marks.exists(),
        language=conv.buyer.language or None,
        ship_by_hours=promises.ship_by_hours,
        refund_days=promises.refund_days,
    )


def _guard(*, actor: User, conv: Conversation, text: str, confirmed: bool) -> None:
    """Check the reply against the shop's platform rules before anything is stored (R-22..29)."""
    context = _context(conv)
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
    text = clean_text(text)
    if kind not in MessageKind.values:
        raise ValidationError(f"unknown message kind {kind!r}", code="kind")
    gaps = unfilled_gaps(text)
    if gaps:
        raise ValidationError(
            _("fill the gaps before sending: %(gaps)s") % {"gaps": ", ".join(dict.fromkeys(gaps))},
            code="gaps",
        )
    _guard(actor=actor, conv=conversation, text=text, confirmed=confirm_warnings)
    with transaction.atomic():
        conv, message = post_agent_message(
            actor=actor, conversation=conversation, text=text, kind=kind, payload=payload
        )
        if script_variant_id is not None:
            variant = automation.access_variant(actor, script_variant_id)
            record_script_use(
                agent=actor,
                conversation=conv,
                script=variant.script,
                language=variant.language,
                message=message,
                suggested=suggested,
            )
    conversation.refresh_from_db()
    return message


def send_image_reply(
    *,
    actor: User,
    conversation: Conversation,
    image: IO[bytes],
    caption: str = "",
    confirm_warnings: bool = False,
) -> Message:
    """An image the agent attached (a shipping-note photo, a product photo), with an optional
    caption, sent like any reply.

    The image is checked and stripped of metadata first (``ImageRefused``: not an image, too
    big, another type); the caption goes through the gaps check and the rule guard. Any refusal
    stores nothing. The caller has resolved ``conversation`` through ``access_conversation``.
    """
    if conversation.shop_id != actor.shop_id or not actor.is_active:
        raise PermissionDenied("not your shop's conversation")
    cleaned = clean_image(image)
    caption = clean_text(caption) if (caption or "").strip() else ""
    if caption:
        gaps = unfilled_gaps(caption)
        if gaps:
            raise ValidationError(
                _("fill the gaps before sending: %(gaps)s")
                % {"gaps": ", ".join(dict.fromkeys(gaps))},
                code="gaps",
            )
        _guard(actor=actor, conv=conversation, text=caption, confirmed=confirm_warnings)
    with transaction.atomic():
        media = store_image(shop=conversation.shop, image=cleaned, uploaded_by=actor)
        _conv, message = post_agent_message(
            actor=actor,
            conversation=conversation,
            text=caption,
            kind=MessageKind.IMAGE,
            payload={"image": image_payload(media)},
        )
    conversation.refresh_from_db()
    return message


def send_product_card(
    *,
    actor: User,
    conversation: Conversation,
    product: Product,
    confirm_warnings: bool = False,
) -> Message:
    """Send ``product`` to the conversation's buyer as a product card (decisions §16).

    The caller has resolved ``conversation`` through ``access_conversation`` and ``product``
    through ``access_product`` for ``actor``; a product of another shop is refused here too,
    and nothing is stored. ``RuleStop`` and ``send_reply``'s refusals pass through.
    """
    if product.shop_id != actor.shop_id or product.shop_id != conversation.shop_id:
        raise PermissionDenied("product of another shop")
    if not product.title.strip():
        raise ValidationError(_("this product has no title to show the buyer"), code="no_title")
    payload = card_payload(product)
    return send_reply(
        actor=actor,
        conversation=conversation,
        text=card_text(payload),
        kind=MessageKind.PRODUCT_CARD,
        payload=payload,
        confirm_warnings=confirm_warnings,
    )
