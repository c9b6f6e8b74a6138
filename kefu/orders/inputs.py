"""What a source (an export row, the order webhook, the demo) says about an order: the typed
input of `kefu.orders.upserts.upsert_orders`, and what it answers per order."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ItemInput:
    title: str
    quantity: int = 1
    unit_price: Decimal | None = None
    product_external_id: str = ""
    # The seller's code (商家编码): links the item when there is no product id. Not part of
    # the key, so a re-import of an export that gained the column updates its items.
    sku: str = ""

    @property
    def key(self) -> str:
        if self.product_external_id:
            return f"p:{self.product_external_id}"[:300]
        return f"t:{self.title or self.sku}"[:300]


@dataclass(frozen=True)
class ParcelInput:
    tracking_number: str
    carrier: str = ""


@dataclass(frozen=True)
class OrderInput:
    """One order as a source describes it. None means "the source does not say": kept as is."""

    external_id: str
    buyer_external_id: str
    row: int | None = None
    buyer_name: str = ""
    buyer_language: str = ""
    buyer_country: str = ""
    status: str = ""
    currency: str | None = None
    goods_amount: Decimal | None = None
    shipping_fee: Decimal | None = None
    total_amount: Decimal | None = None
    paid_amount: Decimal | None = None
    refund_amount: Decimal | None = None
    placed_at: dt.datetime | None = None
    paid_at: dt.datetime | None = None
    shipped_at: dt.datetime | None = None
    delivered_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    ship_by: dt.datetime | None = None
    buyer_message: str | None = None
    seller_note: str | None = None
    receiver_name: str | None = None
    phone: str | None = None
    address: str | None = None
    country: str | None = None
    region: str | None = None
    shipping_method: str | None = None
    invoice_title: str | None = None
    close_reason: str | None = None
    items: tuple[ItemInput, ...] = ()
    parcels: tuple[ParcelInput, ...] = ()
    flags: tuple[str, ...] = ()
    # When the source says the order was in this state; None for files, which carry no time.
    as_of: dt.datetime | None = None


@dataclass(frozen=True)
class UpsertOutcome:
    external_id: str
    order_id: int
    # "created" | "updated" | "unchanged" | "stale" (older than what is stored: not applied)
    outcome: str
    rows: tuple[int, ...] = ()


# An order's last input and all of its inputs, in the order they came.
InputGroup = tuple[OrderInput, list[OrderInput]]


def group_inputs(inputs: Sequence[OrderInput]) -> list[InputGroup]:
    """Group inputs by order id, keeping first-seen order (rows of one order's items merge)."""
    groups: dict[str, list[OrderInput]] = {}
    for inp in inputs:
        groups.setdefault(inp.external_id, []).append(inp)
    return [(group[-1], group) for group in groups.values()]
