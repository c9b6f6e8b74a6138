"""`kefu.core.db.bulk.Table` writes what the ORM would write, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, connection, transaction

from kefu.conversations.models import Buyer
from kefu.core.db.bulk import Table, insert_instances, update_instances
from kefu.orders.models import Order, OrderEvent, OrderStatus

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2024, 11, 11, 8, 30, 15, 123456, tzinfo=dt.UTC)


@pytest.fixture
def buyer(shop) -> Buyer:
    return Buyer.objects.create(shop=shop, external_id="ann", first_seen_at=NOW)


def insert_order(shop, buyer, external_id: str = "X-1", **values) -> Order:
    columns = ("shop_id", "external_id", "buyer_id", "currency", "placed_at", "source", *values)
    row = (shop.pk, external_id, buyer.pk, "CNY", NOW, "import", *values.values())
    Table(Order).insert(columns, [row], now=NOW)
    return Order.objects.get(shop=shop, external_id=external_id)


def test_left_out_columns_take_the_model_defaults_and_now(shop, buyer):
    order = insert_order(shop, buyer)

    assert order.status == OrderStatus.PLACED
    assert order.flags == []
    assert order.goods_amount == Decimal("0.00")
    assert order.buyer_message == ""
    assert order.paid_at is None
    assert order.created_at == order.updated_at == NOW


def test_values_read_back_as_the_orm_stores_them(shop, buyer):
    paid = dt.datetime(2024, 11, 11, 10, 0, 59, tzinfo=SHANGHAI)
    order = insert_order(
        shop,
        buyer,
        paid_at=paid,
        total_amount=Decimal("1299.50"),
        flags=["split", "address_change"],
        buyer_message="请帮我改地址",
    )
    by_orm = Order.objects.create(
        shop=shop,
        external_id="X-2",
        buyer=buyer,
        currency="CNY",
        placed_at=NOW,
        source="import",
        paid_at=paid,
        total_amount=Decimal("1299.50"),
        flags=["split", "address_change"],
        buyer_message="请帮我改地址",
    )

    assert order.paid_at == paid
    assert order.total_amount == Decimal("1299.50")
    assert order.flags == ["split", "address_change"]
    assert order.buyer_message == "请帮我改地址"
    # Lookups and ordering compare stored values: both rows must be stored alike.
    assert Order.objects.filter(paid_at=paid, total_amount=Decimal("1299.5")).count() == 2
    assert Order.objects.filter(flags=["split", "address_change"]).count() == 2
    assert order.placed_at == by_orm.placed_at


def test_update_sets_the_columns_of_each_row(shop, buyer):
    first = insert_order(shop, buyer, "U-1")
    second = insert_order(shop, buyer, "U-2")
    later = NOW + dt.timedelta(hours=1)

    Table(Order).update(
        ("status", "flags", "updated_at"),
        [("paid", ["oversold"], later, first.pk), ("shipped", [], later, second.pk)],
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.flags, first.updated_at) == ("paid", ["oversold"], later)
    assert (second.status, second.flags) == ("shipped", [])


def test_joined_update_sets_nulls_json_and_times_of_each_row(shop, buyer):
    first = insert_order(shop, buyer, "J-1", paid_at=NOW)
    second = insert_order(shop, buyer, "J-2")
    later = NOW + dt.timedelta(hours=1)

    # A NULL in the first row, JSON and a time: one UPDATE … FROM (VALUES …) on PostgreSQL.
    Table(Order).update_joined(
        ("status", "paid_at", "flags", "updated_at"),
        [("paid", None, ["oversold"], later, first.pk), ("shipped", later, [], later, second.pk)],
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.paid_at, first.flags, first.updated_at) == (
        "paid",
        None,
        ["oversold"],
        later,
    )
    assert (second.status, second.paid_at, second.flags) == ("shipped", later, [])


def test_joined_update_refuses_a_text_longer_than_its_column_as_the_orm_does(shop, buyer):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite stores a text of any length")
    first = insert_order(shop, buyer, "L-1")
    second = insert_order(shop, buyer, "L-2")

    # The arrays are text: a cast to varchar(60) would cut the value, the assignment refuses.
    with pytest.raises(DataError), transaction.atomic():
        Table(Order).update_joined(
            ("platform_status",), [("x" * 61, first.pk), ("shipped", second.pk)]
        )

    first.refresh_from_db()
    assert first.platform_status == ""


def test_inserted_instances_get_their_ids_in_order_and_read_back_as_saved(shop):
    buyers = [Buyer(shop=shop, external_id=f"bulk-{n}", first_seen_at=NOW) for n in range(3)]

    insert_instances(buyers, now=NOW)

    stored = list(Buyer.objects.filter(external_id__startswith="bulk-").order_by("pk"))
    assert [b.pk for b in buyers] == [b.pk for b in stored]
    assert [b.external_id for b in stored] == ["bulk-0", "bulk-1", "bulk-2"]
    assert all(b.shop_id == shop.pk and b.first_seen_at == NOW for b in stored)

    buyers[0].language, buyers[2].language = "en", "zh-hans"
    update_instances([buyers[0], buyers[2]], ["language"])
    assert list(
        Buyer.objects.filter(pk__in=[b.pk for b in buyers])
        .order_by("pk")
        .values_list("language", flat=True)
    ) == ["en", buyers[1].language, "zh-hans"]


def test_a_duplicate_raises_djangos_integrity_error(shop, buyer):
    insert_order(shop, buyer, "D-1")

    # COPY on PostgreSQL bypasses Django's cursor: the upsert's retry needs Django's error.
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_order(shop, buyer, "D-1")


def test_ignore_conflicts_keeps_the_existing_row(shop, buyer):
    Table(Buyer).insert(
        ("shop_id", "external_id", "name", "first_seen_at"),
        [(shop.pk, "ann", "Someone else", NOW), (shop.pk, "bob", "Bob", NOW)],
        now=NOW,
        ignore_conflicts=True,
    )

    assert dict(Buyer.objects.filter(shop=shop).values_list("external_id", "name")) == {
        "ann": "",
        "bob": "Bob",
    }


def test_a_required_column_left_out_or_an_unknown_one_is_a_mistake(shop, buyer):
    with pytest.raises(ValueError, match=r"OrderEvent.order_id needs a value"):
        Table(OrderEvent).insert(("shop_id", "kind", "created_at"), [(shop.pk, "x", NOW)], now=NOW)
    with pytest.raises(ValueError, match="Order has no column buyer"):
        Table(Order).insert(("buyer",), [(buyer,)], now=NOW)


def test_insert_new_returns_only_the_rows_it_inserted(shop, buyer):
    rows = Table(Buyer).insert_new(
        ("shop_id", "external_id", "name", "first_seen_at"),
        [(shop.pk, "ann", "Someone else", NOW), (shop.pk, "bob", "Bob", NOW)],
        now=NOW,
        returning=("external_id", "id", "name"),
    )

    bob = Buyer.objects.get(shop=shop, external_id="bob")
    assert rows == [("bob", bob.pk, "Bob")]
    assert Buyer.objects.get(pk=buyer.pk).name == ""  # the existing row is kept


def test_upsert_buyers_names_the_rows_it_created(shop, buyer):
    from kefu.conversations.buyers import BuyerIn, upsert_buyers

    created: set[int] = set()
    ids = upsert_buyers(
        shop=shop,
        seen=[(BuyerIn(external_id="ann"), NOW), (BuyerIn(external_id="cid"), NOW)],
        created=created,
    )

    assert ids == {"ann": buyer.pk, "cid": Buyer.objects.get(shop=shop, external_id="cid").pk}
    assert created == {ids["cid"]}


@pytest.mark.django_db(transaction=True)
def test_an_id_pool_with_units_draws_every_known_table_in_one_statement(shop):
    from django.test.utils import CaptureQueriesContext

    from kefu.core.db import bulk

    if connection.vendor != "postgresql":
        pytest.skip("ids are drawn ahead from PostgreSQL sequences only")

    def batch(tag: str, n: int) -> list[Buyer]:
        buyers = [Buyer(shop=shop, external_id=f"{tag}-{i}", first_seen_at=NOW) for i in range(n)]
        with transaction.atomic(), bulk.id_pool(units=n):
            for one in buyers:  # one insert per row: a draw each, were it not for the pool
                insert_instances([one], now=NOW)
        return buyers

    batch("learn", 4)  # learns how many Buyer ids a unit takes
    with CaptureQueriesContext(connection) as queries:
        second = batch("ahead", 10)
    draws = [q["sql"] for q in queries.captured_queries if "nextval" in q["sql"]]
    assert len(draws) == 1
    assert [b.pk for b in second] == sorted(b.pk for b in second)
    stored = Buyer.objects.filter(external_id__startswith="ahead-").order_by("pk")
    assert [b.external_id for b in stored] == [f"ahead-{i}" for i in range(10)]


def _new_conversation(shop, buyer):
    """An unsaved pre-sale conversation of ``buyer``, as the intake batch builds one."""
    from kefu.conversations.models import Conversation

    return Conversation(
        shop=shop,
        buyer=buyer,
        channel="marketplace",
        entry_point="product_page",
        group="pre_sale",
        last_message_at=NOW,
        opened_at=NOW,
    )


@pytest.mark.django_db(transaction=True)
def test_reserved_ids_let_rows_name_an_instance_inserted_later_with_its_final_values(shop, buyer):
    from kefu.conversations.models import Conversation, Direction, Message
    from kefu.core.db import bulk

    outside = _new_conversation(shop, buyer)
    assert not bulk.reserve_ids([outside], now=NOW)  # no pool: the caller inserts now
    assert outside.pk is None
    later = NOW + dt.timedelta(minutes=5)
    with transaction.atomic(), bulk.id_pool():
        conv = _new_conversation(shop, buyer)
        if connection.vendor != "postgresql":
            assert not bulk.reserve_ids([conv], now=NOW)  # no sequences to draw ahead from
            assert conv.pk is None
            return
        assert bulk.reserve_ids([conv], now=NOW)
        assert conv.pk is not None and conv.created_at == NOW
        message = Message(
            shop=shop, conversation=conv, buyer=buyer, direction=Direction.BUYER, text="hi"
        )
        message.sent_at = NOW
        insert_instances([message], now=NOW)  # names a conversation not stored yet
        assert not Conversation.objects.filter(pk=conv.pk).exists()
        conv.unread_count, conv.last_message_preview = 1, "hi"
        insert_instances([conv], now=later, reserved=True)
    stored = Conversation.objects.get(pk=conv.pk)
    assert (stored.unread_count, stored.last_message_preview) == (1, "hi")
    assert stored.created_at == NOW  # stamped when its id was given, as an insert then would
    assert Message.objects.get(pk=message.pk).conversation_id == conv.pk


@pytest.mark.django_db(transaction=True)
def test_a_reserved_row_never_inserted_fails_the_commit_of_rows_naming_it(shop, buyer):
    from kefu.conversations.models import Direction, Message
    from kefu.core.db import bulk

    if connection.vendor != "postgresql":
        pytest.skip("ids are reserved from PostgreSQL sequences only")
    conv = _new_conversation(shop, buyer)
    message = Message(shop=shop, buyer=buyer, direction=Direction.BUYER, text="hi", sent_at=NOW)

    def name_it_and_commit() -> None:
        with transaction.atomic(), bulk.id_pool():
            assert bulk.reserve_ids([conv], now=NOW)
            message.conversation = conv
            insert_instances([message], now=NOW)

    with pytest.raises(IntegrityError):  # the deferred foreign key, checked at the commit
        name_it_and_commit()
    assert not Message.objects.filter(text="hi", buyer=buyer).exists()
