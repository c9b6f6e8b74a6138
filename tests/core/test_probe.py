"""`kefu.core.db.probe.rows_by_key`: a shop's rows by unique key, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from kefu.conversations.models import Buyer
from kefu.core.db.bulk import insert_instances
from kefu.core.db.probe import rows_by_key

NOW = dt.datetime(2024, 11, 11, 8, 30, tzinfo=dt.UTC)


def test_the_shops_rows_of_the_keys_asked_only(shop, other_shop):
    ann = Buyer.objects.create(shop=shop, external_id="ann", name="Ann", first_seen_at=NOW)
    Buyer.objects.create(shop=shop, external_id="bob", first_seen_at=NOW)
    Buyer.objects.create(shop=other_shop, external_id="cat", first_seen_at=NOW)

    rows = rows_by_key(
        Buyer,
        shop_id=shop.pk,
        key="external_id",
        values=["ann", "ann", "cat", "nobody"],
        columns=("external_id", "pk", "name"),
    )

    assert rows == [("ann", ann.pk, "Ann")]


def test_no_keys_no_query(shop):
    with CaptureQueriesContext(connection) as queries:
        assert (
            rows_by_key(Buyer, shop_id=shop.pk, key="external_id", values=[], columns=("pk",)) == []
        )
    assert len(queries) == 0


def test_the_id_sequence_is_looked_up_once_and_ids_keep_coming(shop):
    # insert_returning keeps the sequence's name per process: later inserts draw fresh ids.
    first = [Buyer(shop=shop, external_id=f"b{i}", first_seen_at=NOW) for i in range(3)]
    insert_instances(first, now=NOW)
    second = [Buyer(shop=shop, external_id=f"c{i}", first_seen_at=NOW) for i in range(2)]
    insert_instances(second, now=NOW)

    ids = [b.pk for b in first + second]
    assert len(set(ids)) == 5
    assert max(b.pk for b in first) < min(b.pk for b in second)
    stored = dict(Buyer.objects.filter(shop=shop).values_list("external_id", "pk"))
    assert stored == {b.external_id: b.pk for b in first + second}


def test_ids_from_the_pool_keep_increasing_across_inserts(shop):
    from kefu.core.db.bulk import id_pool

    with id_pool():
        rounds = [
            [Buyer(shop=shop, external_id=f"r{r}-{i}", first_seen_at=NOW) for i in range(n)]
            for r, n in enumerate((3, 40, 1, 100))
        ]
        for buyers in rounds:
            insert_instances(buyers, now=NOW)
    ids = [b.pk for buyers in rounds for b in buyers]

    assert ids == sorted(ids)
    assert len(set(ids)) == 144
    stored = dict(Buyer.objects.filter(shop=shop).values_list("external_id", "pk"))
    assert stored == {b.external_id: b.pk for buyers in rounds for b in buyers}
