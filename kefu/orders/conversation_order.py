"""An agent names which of the buyer's orders a conversation is about (issue 3, R-15).

The conversation keeps the order's platform id; this module checks the order is one the
agent may see and that it belongs to the conversation's buyer, so a placeholder can never
be filled from another buyer's order.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from kefu.accounts.models import User
from kefu.conversations.models import Conversation
from kefu.conversations.state import set_conversation_order
from kefu.orders.models import Order
from kefu.orders.selectors import access_order


def choose_conversation_order(*, actor: User, conversation: Conversation, order_id: int) -> Order:
    """The caller resolved `conversation` through `access_conversation` for `actor`."""
    order = access_order(actor, order_id)
    if order.buyer_id != conversation.buyer_id:
        raise ValidationError(gettext("This order belongs to another buyer."), code="buyer")
    set_conversation_order(
        actor=actor, conversation=conversation, order_external_id=order.external_id
    )
    return order
