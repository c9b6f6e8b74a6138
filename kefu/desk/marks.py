"""Marks whose effects reach past the conversation (R-06, R-14): the yellow duty records a
reshipment on the order, a red mark counts as the buyer's complaint."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction

from kefu.accounts.models import User
from kefu.automation.outcomes import note_complaint
from kefu.conversations import marks
from kefu.conversations.models import Conversation, ConversationMark, MarkColor
from kefu.desk.replies import send_reply
from kefu.orders import actions as orders
from kefu.orders.selectors import order_of


def add_mark(
    *,
    actor: User,
    conversation: Conversation,
    color: str,
    note: str = "",
    label: str = "",
    product_id: int | None = None,
    defect: str = "",
    amount: Any = None,
    currency: str = "",
    channel: str = "",
) -> ConversationMark:
    """Put a mark on a conversation. A red mark is the buyer complaining about a product's
    quality: scripts and automatic replies just before it count as followed by a complaint."""
    with transaction.atomic():
        mark = marks.add_mark(
            actor=actor,
            conversation=conversation,
            color=color,
            note=note,
            label=label,
            product_id=product_id,
            defect=defect,
            amount=amount,
            currency=currency,
            channel=channel,
        )
        if mark.color == MarkColor.RED:
            note_complaint(shop=conversation.shop, conversation=conversation, at=mark.created_at)
    return mark


def send_new_tracking(
    *, actor: User, mark: ConversationMark, tracking_number: str, carrier: str, text: str
) -> ConversationMark:
    """Yellow duty (R-06): record the reshipment's tracking number and send it to the buyer.

    The parcel, the order's flag, the message and the mark change together or not at all.
    """
    if mark.shop_id != actor.shop_id:
        raise PermissionDenied("not your shop's conversation")
    number = marks.checked_new_tracking(mark=mark, tracking_number=tracking_number, text=text)
    conversation = mark.conversation
    with transaction.atomic():
        order = order_of(conversation)
        if order is not None:
            orders.add_parcel(
                actor=actor, order=order, tracking_number=number, carrier=carrier, reshipment=True
            )
            orders.clear_flag(actor=actor, order=order, flag="send_new_tracking")
        message = send_reply(actor=actor, conversation=conversation, text=text)
        return marks.complete_new_tracking(
            actor=actor, mark=mark, tracking_number=number, carrier=carrier, message_id=message.pk
        )
