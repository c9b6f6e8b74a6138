"""Hand-built histories: buyers, conversations, messages and orders as plain rows.

No routing, automation or deliveries run: the rows are exactly what the test says.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal
from itertools import count

from kefu.accounts.models import Shop, User
from kefu.conversations.models import Buyer, Conversation, ConversationEvent, Message
from kefu.orders.models import Order

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
_ids = count(1)


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    """A moment in Shanghai time (UTC+8), March 2026 unless told."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=SH)


# The two days of the `history` fixture (tests/metrics/conftest.py) as query parameters.
RANGE = "from=2026-03-02&to=2026-03-03"


class History:
    def __init__(self, shop: Shop) -> None:
        self.shop = shop
        self.buyers: dict[str, Buyer] = {}
        self.convs: dict[tuple[str, str], Conversation] = {}

    def buyer(self, ext: str) -> Buyer:
        if ext not in self.buyers:
            self.buyers[ext] = Buyer.objects.create(
                shop=self.shop, external_id=ext, first_seen_at=at(1)
            )
        return self.buyers[ext]

    def conv(self, ext: str, group: str = "pre_sale", key: str = "") -> Conversation:
        k = (ext, group + key)
        if k not in self.convs:
            self.convs[k] = Conversation.objects.create(
                shop=self.shop,
                buyer=self.buyer(ext),
                channel="marketplace",
                entry_point="product_page" if group == "pre_sale" else "order_detail",
                group=group,
                status="resolved",
                last_message_at=at(1),
                opened_at=at(1),
            )
        return self.convs[k]

    def msg(
        self,
        ext: str,
        direction: str,
        when: dt.datetime,
        *,
        agent: User | None = None,
        group: str = "pre_sale",
        key: str = "",
    ) -> Message:
        conv = self.conv(ext, group, key)
        return Message.objects.create(
            shop=self.shop,
            conversation=conv,
            buyer=conv.buyer,
            direction=direction,
            text=f"{direction} text",
            author=agent,
            external_id=f"m-{next(_ids)}",
            sent_at=when,
            payload={"automation": "welcome"} if direction == "auto" else {},
        )

    def buyer_says(self, ext: str, when: dt.datetime, **kw) -> Message:
        return self.msg(ext, "buyer", when, **kw)

    def reply(self, ext: str, when: dt.datetime, agent: User, **kw) -> Message:
        return self.msg(ext, "agent", when, agent=agent, **kw)

    def auto(self, ext: str, when: dt.datetime, **kw) -> Message:
        return self.msg(ext, "auto", when, **kw)

    def event(
        self, ext: str, kind: str, when: dt.datetime, actor: User | None = None, group="pre_sale"
    ) -> ConversationEvent:
        ev = ConversationEvent.objects.create(
            shop=self.shop, conversation=self.conv(ext, group), kind=kind, actor=actor
        )
        ConversationEvent.objects.filter(pk=ev.pk).update(created_at=when)
        ev.created_at = when
        return ev

    def order(
        self,
        ext: str,
        paid_at: dt.datetime | None,
        amount: str = "10.00",
        currency: str = "USD",
        flags: list[str] | None = None,
    ) -> Order:
        return Order.objects.create(
            shop=self.shop,
            external_id=f"o-{next(_ids)}",
            buyer=self.buyer(ext),
            status="paid" if paid_at else "placed",
            currency=currency,
            total_amount=Decimal(amount),
            paid_amount=Decimal(amount) if paid_at else Decimal("0"),
            placed_at=paid_at or at(1),
            paid_at=paid_at,
            source="manual",
            flags=flags or [],
        )
