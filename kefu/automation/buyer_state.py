"""The per-buyer automation row (last welcome, out-of-hours day, language), locked per message."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from kefu.accounts.models import Shop
from kefu.automation.models import BuyerAutomationState
from kefu.conversations.models import Buyer


def locked_buyer_state(*, shop: Shop, buyer: Buyer) -> BuyerAutomationState:
    """The buyer's row, created on first use and locked until the caller's transaction ends,
    so concurrent messages of one buyer are decided one after the other."""
    # Every buyer message passes here: the usual case (the row exists) is one locking read.
    state = BuyerAutomationState.objects.select_for_update().filter(buyer=buyer).first()
    if state is not None:
        return state
    try:
        with transaction.atomic():
            BuyerAutomationState.objects.create(buyer=buyer, shop=shop)
    except IntegrityError:
        pass  # another message of this buyer created it first; lock theirs
    return BuyerAutomationState.objects.select_for_update().get(buyer=buyer)
