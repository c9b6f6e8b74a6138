"""Order upserts: the one write path of imports, the order webhook and the demo shop.

Idempotent on (shop, platform order id): the same inputs applied twice leave the second run
"unchanged". A chunk of inputs costs a fixed number of statements whatever its size — one
lookup each for its orders, buyers, products, items and parcels, then one INSERT or UPDATE
per table — and no model instances: orders are held as `_OrderRow`s and written through
`kefu.core.db.bulk.Table` (decisions §17: building Django's bulk SQL cost more than the
database work).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from kefu.accounts.models import Shop
from kefu.automation.outcomes import note_orders_placed
from kefu.conversations.buyers import BuyerIn, upsert_buyers
from kefu.core.db.bulk import LoadedRow, Table, model_defaults
from kefu.core.textnorm import normalize
from kefu.orders import events
from kefu.orders.config import order_settings
from kefu.orders.events import EventBatch
from kefu.orders.inputs import (
    InputGroup,
    ItemInput,
    OrderInput,
    ParcelInput,
    UpsertOutcome,
    group_inputs,
)
from kefu.orders.models import (
    STATUS_RANK,
    Order,
    OrderFlag,
    OrderItem,
    OrderSettings,
    OrderSource,
    OrderStatus,
    Parcel,
    StockStatus,
)
from kefu.orders.product_links import ProductIndex
from kefu.orders.rules import ADDRESS_CHANGE_PHRASES, ship_by_for
from kefu.orders.statuses import order_status

_TEXT_FIELDS = (
    "buyer_message",
    "seller_note",
    "receiver_name",
    "phone",
    "address",
    "country",
    "region",
    "shipping_method",
    "invoice_title",
    "close_reason",
)
MAX_AMOUNT = Decimal("1e12")  # amounts are DecimalField(max_digits=14, decimal_places=2)
_MONEY_FIELDS = ("goods_amount", "shipping_fee", "total_amount", "paid_amount")
_TIME_FIELDS = ("placed_at", "paid_at", "shipped_at", "delivered_at", "closed_at", "ship_by")
_TEXT_LIMITS = {f.name: f.max_length for f in Order._meta.concrete_fields if f.max_length}

_ORDERS = Table(Order)
_ITEMS = Table(OrderItem)
_PARCELS = Table(Parcel)
_PAID_STATUSES = frozenset({OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED})


_ADDRESS_CHANGE_PHRASES = tuple(normalize(p) for p in ADDRESS_CHANGE_PHRASES)


def _address_change(text: str) -> bool:
    folded = normalize(text)
    return any(p in folded for p in _ADDRESS_CHANGE_PHRASES)


# The order columns an upsert reads or writes, in the order they are loaded.
_ORDER_COLUMNS = (
    "id",
    "external_id",
    "buyer_id",
    "status",
    "platform_status",
    "currency",
    "goods_amount",
    "shipping_fee",
    "total_amount",
    "paid_amount",
    "refunded_amount",
    "placed_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "closed_at",
    "ship_by",
    "stock_status",
    "flags",
    "source_updated_at",
    *_TEXT_FIELDS,
)


class _OrderRow(LoadedRow):
    """The columns of an order that an upsert reads or writes, without a model instance."""

    __slots__ = _ORDER_COLUMNS
    COLUMNS = _ORDER_COLUMNS
    DEFAULTS = model_defaults(Order, _ORDER_COLUMNS, exclude=("flags",))

    id: int | None
    external_id: str
    buyer_id: int
    status: str
    platform_status: str
    currency: str
    goods_amount: Decimal
    shipping_fee: Decimal
    total_amount: Decimal
    paid_amount: Decimal
    refunded_amount: Decimal
    placed_at: dt.datetime
    paid_at: dt.datetime | None
    shipped_at: dt.datetime | None
    delivered_at: dt.datetime | None
    closed_at: dt.datetime | None
    ship_by: dt.datetime | None
    stock_status: str
    flags: list[str]
    source_updated_at: dt.datetime | None
    buyer_message: str
    seller_note: str
    receiver_name: str
    phone: str
    address: str
    country: str
    region: str
    shipping_method: str
    invoice_title: str
    close_reason: str

    @classmethod
    def new(
        cls, *, external_id: str, buyer_id: int, currency: str, placed_at: dt.datetime
    ) -> _OrderRow:
        """A new order with the model's defaults; its first input decides the status."""
        row = cls.blank(external_id=external_id, buyer_id=buyer_id, currency=currency)
        row.placed_at = placed_at
        row.status = ""
        row.flags = []  # a new list per row (DEFAULTS leaves flags out)
        return row


def _add_flag(order: _OrderRow, flag: str, changed: set[str], batch: EventBatch) -> None:
    if flag not in order.flags:
        order.flags = [*order.flags, flag]
        changed.add("flags")
        events.flag_added(order, flag=flag, batch=batch)


def _target_status(
    current: str | None, raw: str, refund: Decimal | None, paid: Decimal
) -> tuple[str | None, tuple[str, ...]]:
    mapped = order_status(raw) if raw else None
    flags = mapped.flags if mapped else ()
    if mapped is None:
        candidate = current or OrderStatus.PLACED
    else:
        candidate = mapped.status or current or mapped.default_for_new
    if refund is not None and refund > 0:
        refund_status = (
            OrderStatus.REFUNDED if paid > 0 and refund >= paid else OrderStatus.PARTIALLY_REFUNDED
        )
        if STATUS_RANK[refund_status] >= STATUS_RANK[candidate]:
            candidate = refund_status
    if current is None or STATUS_RANK[candidate] > STATUS_RANK[current]:
        return candidate, flags
    return None, flags


def _apply(
    order: _OrderRow,
    group: list[OrderInput],
    *,
    settings_: OrderSettings,
    products: ProductIndex,
    batch: EventBatch,
) -> set[str]:
    """Apply a group of inputs to an order in memory; return the changed field names."""
    changed: set[str] = set()

    def put(name: str, value: object) -> None:
        if getattr(order, name) != value:
            setattr(order, name, value)
            changed.add(name)

    for inp in group:
        if inp.currency:
            put("currency", inp.currency.upper()[:3])
        for name in _MONEY_FIELDS:
            value = getattr(inp, name)
            if value is not None:
                put(name, value)
        for name in _TIME_FIELDS:
            value = getattr(inp, name)
            if value is not None:
                put(name, value)
        for name in _TEXT_FIELDS:
            value = getattr(inp, name)
            if value is not None:
                put(name, value[: _TEXT_LIMITS.get(name) or len(value)])
        if inp.status:
            put("platform_status", inp.status[:60])
        if inp.refund_amount is not None and inp.refund_amount > 0:
            put("refunded_amount", inp.refund_amount)
        if order.paid_amount == 0 and order.total_amount > 0 and order.paid_at is not None:
            put("paid_amount", order.total_amount)
        derived = order.goods_amount + order.shipping_fee
        # A sum past the column's 14 digits would be stored by SQLite and then unreadable.
        if order.total_amount == 0 and derived and derived < MAX_AMOUNT:
            put("total_amount", derived)

        # A new order starts with no status: its first input decides it.
        target, mapped_flags = _target_status(
            order.status or None, inp.status, inp.refund_amount, order.paid_amount
        )
        if target is not None and target != order.status:
            if order.status:
                events.status_changed(
                    order,
                    before=order.status,
                    after=target,
                    platform_status=inp.status,
                    batch=batch,
                )
            order.status = target
            changed.add("status")
        for flag in (*mapped_flags, *inp.flags):
            _add_flag(order, flag, changed, batch)
        if inp.invoice_title:
            _add_flag(order, OrderFlag.INVOICE_REQUESTED, changed, batch)
        if inp.buyer_message and _address_change(inp.buyer_message):
            _add_flag(order, OrderFlag.ADDRESS_CHANGE, changed, batch)
        if len({p.tracking_number for p in inp.parcels}) > 1:
            _add_flag(order, OrderFlag.SPLIT, changed, batch)

    if order.paid_at is not None and order.ship_by is None:
        put("ship_by", ship_by_for(paid_at=order.paid_at, hours=settings_.ship_by_hours))
    # Only a report that changed something moves the order's time, so an unchanged repeat
    # stays "unchanged".
    newest = max((i.as_of for i in group if i.as_of is not None), default=None)
    later = newest is not None and (
        order.source_updated_at is None or newest > order.source_updated_at
    )
    if later and (changed or order.id is None):
        order.source_updated_at = newest
        changed.add("source_updated_at")
    # Stock: only worth knowing while the order still has to ship.
    if order.status in (OrderStatus.PLACED, OrderStatus.PAID):
        found = [(products.find(i), i.quantity) for inp in group for i in inp.items]
        linked = [(p, qty) for p, qty in found if p is not None]
        if linked:
            short = any(p.stock < qty for p, qty in linked)
            put("stock_status", StockStatus.SHORT if short else StockStatus.ENOUGH)
            if short:
                _add_flag(order, OrderFlag.OVERSOLD, changed, batch)
    return changed


def _is_paid(order: _OrderRow) -> bool:
    return order.paid_at is not None or order.status in _PAID_STATUSES


def _buyers_for(shop: Shop, groups: list[InputGroup], now: dt.datetime) -> dict[str, int]:
    """The buyer id of every buyer in `groups`, through the one writer of buyers: a new buyer
    is created, a name, language or country the shop did not know yet is filled in."""
    seen = [
        (
            BuyerIn(
                external_id=inp.buyer_external_id[:120],
                name=inp.buyer_name,
                language=inp.buyer_language,
                country=inp.buyer_country,
            ),
            inp.placed_at or now,
        )
        for last, group in groups
        for inp in (*group, last)
    ]
    ids = upsert_buyers(shop=shop, seen=seen)
    return {inp.buyer_external_id: ids[inp.buyer_external_id[:120]] for _, g in groups for inp in g}


def _upsert_chunk(
    *, shop: Shop, inputs: Sequence[OrderInput], source: str, settings_: OrderSettings
) -> list[UpsertOutcome]:
    now = timezone.now()
    groups = group_inputs(inputs)
    ids = [last.external_id for last, _ in groups]
    existing = {
        row.external_id: row
        for row in map(
            _OrderRow.from_values,
            Order.objects.select_for_update()
            .filter(shop=shop, external_id__in=ids)
            .values_list(*_ORDER_COLUMNS),
        )
    }
    buyers = _buyers_for(shop, groups, now)
    products = ProductIndex(shop, (i for inp in inputs for i in inp.items))

    batch = EventBatch(shop_id=shop.pk, now=now)
    new_orders: list[_OrderRow] = []
    changed_orders: list[tuple[_OrderRow, set[str]]] = []
    plan: list[tuple[_OrderRow, str, list[OrderInput]]] = []
    newly_paid: list[tuple[int, dt.datetime]] = []
    stale: list[UpsertOutcome] = []
    for last, reported in groups:
        order = existing.get(last.external_id)
        group = _newer_than_stored(order, reported)
        if not group and order is not None and order.id is not None:
            stale.append(UpsertOutcome(order.external_id, order.id, "stale", _rows(reported)))
            continue
        is_new = order is None
        was_paid = order is not None and _is_paid(order)
        if order is None:
            order = _OrderRow.new(
                external_id=last.external_id[:80],
                buyer_id=buyers[last.buyer_external_id],
                currency=shop.currency,
                placed_at=last.placed_at or now,
            )
        changed = _apply(order, group, settings_=settings_, products=products, batch=batch)
        if not was_paid and _is_paid(order):
            newly_paid.append((order.buyer_id, order.placed_at))
        if is_new:
            new_orders.append(order)
            plan.append((order, "created", group))
        else:
            plan.append((order, "updated" if changed else "unchanged", group))
            if changed:
                changed_orders.append((order, changed))

    if new_orders:
        _insert_orders(shop=shop, orders=new_orders, source=source, now=now)
        for order in new_orders:
            events.created(order, status=order.status, source=source, batch=batch)
    if changed_orders:
        fields = sorted(set().union(*(c for _, c in changed_orders)))
        _ORDERS.update(
            [*fields, "updated_at"], [[*o.values(fields), now, o.id] for o, _ in changed_orders]
        )

    item_changes = _upsert_items(shop=shop, plan=plan, products=products, now=now)
    parcel_changes = _upsert_parcels(shop=shop, plan=plan, now=now, batch=batch)
    batch.write()
    # the scripts and automatic replies these buyers got just before count as
    # followed by an order.
    note_orders_placed(shop=shop, placed=newly_paid)

    outcomes = stale
    for order, outcome, group in plan:
        assert order.id is not None  # noqa: S101 - every order is stored by now
        if outcome == "unchanged" and (order.id in item_changes or order.id in parcel_changes):
            outcome = "updated"
        outcomes.append(UpsertOutcome(order.external_id, order.id, outcome, _rows(group)))
    return outcomes


def _rows(group: list[OrderInput]) -> tuple[int, ...]:
    return tuple(i.row for i in group if i.row is not None)


def _newer_than_stored(order: _OrderRow | None, group: list[OrderInput]) -> list[OrderInput]:
    """The inputs of `group` not older than the state already stored: a replayed or late
    report must not restore old amounts or statuses."""
    stored = order.source_updated_at if order is not None else None
    if stored is None:
        return group
    return [inp for inp in group if inp.as_of is None or inp.as_of >= stored]


# Every order column an upsert sets; the others (payment_reminded_at, ...) take defaults.
_INSERT_FIELDS = tuple(n for n in _ORDER_COLUMNS if n != "id")


def _insert_orders(*, shop: Shop, orders: list[_OrderRow], source: str, now: dt.datetime) -> None:
    _ORDERS.insert(
        ("shop_id", "source", *_INSERT_FIELDS),
        [(shop.pk, source, *o.values(_INSERT_FIELDS)) for o in orders],
        now=now,
    )
    stored = Order.objects.filter(shop=shop, external_id__in=[o.external_id for o in orders])
    ids = dict(stored.values_list("external_id", "id"))
    for order in orders:
        order.id = ids[order.external_id]


def _upsert_items(
    *,
    shop: Shop,
    plan: list[tuple[_OrderRow, str, list[OrderInput]]],
    products: ProductIndex,
    now: dt.datetime,
) -> set[int]:
    wanted: dict[tuple[int, str], ItemInput] = {}
    for order, _, group in plan:
        assert order.id is not None  # noqa: S101 - stored before its items
        for inp in group:
            for item in inp.items:
                wanted[(order.id, item.key)] = item
    if not wanted:
        return set()
    # A new order has no items yet: only orders that existed before the chunk are looked up.
    known = {o.id for o, outcome, _ in plan if outcome != "created"}
    have = {
        (row[1], row[2]): row
        for row in (
            OrderItem.objects.filter(order_id__in=known).values_list(
                "id", "order_id", "key", "product_id", "sku", "title", "quantity", "unit_price"
            )
            if known
            else ()
        )
    }
    create: list[tuple[Any, ...]] = []
    update: list[tuple[Any, ...]] = []
    touched: set[int] = set()
    for (order_id, key), item in wanted.items():
        product = products.find(item)
        price = item.unit_price if item.unit_price is not None else Decimal("0")
        row = have.get((order_id, key))
        if row is None:
            create.append(
                (
                    shop.pk,
                    order_id,
                    key,
                    product.pk if product else None,
                    item.product_external_id[:80],
                    item.sku[:80],
                    item.title[:300] or item.product_external_id or item.sku,
                    item.quantity,
                    price,
                )
            )
            touched.add(order_id)
            continue
        pk, _, _, product_id, sku, title, quantity, unit_price = row
        new = (
            product.pk if product else product_id,
            item.sku[:80] or sku,
            item.title[:300] or title,
            item.quantity,
            price if item.unit_price is not None else unit_price,
        )
        if (product_id, sku, title, quantity, unit_price) != new:
            update.append((*new, pk))
            touched.add(order_id)
    _ITEMS.insert(
        (
            "shop_id",
            "order_id",
            "key",
            "product_id",
            "product_external_id",
            "sku",
            "title",
            "quantity",
            "unit_price",
        ),
        create,
        now=now,
    )
    _ITEMS.update(("product_id", "sku", "title", "quantity", "unit_price"), update)
    return touched


def _upsert_parcels(
    *,
    shop: Shop,
    plan: list[tuple[_OrderRow, str, list[OrderInput]]],
    now: dt.datetime,
    batch: EventBatch,
) -> set[int]:
    wanted: dict[str, tuple[_OrderRow, ParcelInput]] = {}
    for order, _, group in plan:
        for inp in group:
            for parcel in inp.parcels:
                wanted[parcel.tracking_number] = (order, parcel)
    if not wanted:
        return set()
    have = {
        number: (pk, order_id, carrier)
        for number, pk, order_id, carrier in Parcel.objects.filter(
            shop=shop, tracking_number__in=wanted
        ).values_list("tracking_number", "id", "order_id", "carrier")
    }
    create: list[tuple[Any, ...]] = []
    update: list[tuple[str, int]] = []
    touched: set[int] = set()
    for number, (order, parcel) in wanted.items():
        assert order.id is not None  # noqa: S101 - stored before its parcels
        row = have.get(number)
        if row is None:
            create.append(
                (shop.pk, order.id, number[:80], parcel.carrier[:80], order.shipped_at or now)
            )
            events.parcel_added(order, tracking_number=number, carrier=parcel.carrier, batch=batch)
            touched.add(order.id)
        elif row[1] == order.id and parcel.carrier and row[2] != parcel.carrier:
            update.append((parcel.carrier[:80], row[0]))
            touched.add(order.id)
    _PARCELS.insert(
        ("shop_id", "order_id", "tracking_number", "carrier", "shipped_at"), create, now=now
    )
    _PARCELS.update(("carrier",), update)
    return touched


def upsert_orders(
    *, shop: Shop, inputs: Sequence[OrderInput], source: str = OrderSource.IMPORT
) -> list[UpsertOutcome]:
    """Create or update orders by platform order id, in one transaction.

    Idempotent: the same inputs applied twice leave the second run "unchanged". A concurrent
    writer that creates one of the orders first makes the insert fail; the chunk then retries
    once and updates instead.
    """
    if not inputs:
        return []
    settings_ = order_settings(shop=shop)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _upsert_chunk(shop=shop, inputs=inputs, source=source, settings_=settings_)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")  # pragma: no cover
