"""Order events: every declared kind has exactly one writer, and only `kefu.orders.events`
creates event rows."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import kefu
from kefu.orders import events
from kefu.orders.models import Order, OrderEvent, OrderEventKind

from .factories import make_order

KEFU = Path(kefu.__file__).parent
EVENTS_MODULE = KEFU / "orders" / "events.py"

# Ways to create a row: the model called, its manager's writes, the bulk `Table`, the old helper.
CREATES_ORDER_EVENTS = re.compile(
    r"(?<!class )\bOrderEvent\s*\("
    r"|OrderEvent\.objects\.(create|bulk_create|get_or_create|update_or_create)"
    r"|Table\(\s*OrderEvent\s*\)|record_order_event|order_event\("
)


def test_every_declared_kind_has_exactly_one_writer():
    assert sorted(events.WRITERS) == sorted(OrderEventKind.values)
    writers = [w.__name__ for w in events.WRITERS.values()]
    assert len(set(writers)) == len(writers)
    for kind, writer in events.WRITERS.items():
        assert writer is getattr(events, writer.__name__), kind
    public = {
        name
        for name, value in vars(events).items()
        if inspect.isfunction(value)
        and value.__module__ == events.__name__
        and not name.startswith("_")
    }
    # Each public function of the module is the writer of one kind: no second way in.
    assert public == set(writers)


def test_each_writer_names_its_kind_and_only_its_kind():
    source = EVENTS_MODULE.read_text()
    for kind, writer in events.WRITERS.items():
        body = inspect.getsource(writer)
        named = set(re.findall(r"OrderEventKind\.([A-Z_]+)", body))
        assert named == {OrderEventKind(kind).name}, (kind, named)
    assert "OrderEvent.objects.create(" in source  # the one single-row write, in `_write`


def test_no_code_outside_events_creates_order_event_rows():
    offenders = [
        f"{path.relative_to(KEFU.parent)}:{number}: {line.strip()}"
        for path in KEFU.rglob("*.py")
        if path != EVENTS_MODULE and "migrations" not in path.parts
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if CREATES_ORDER_EVENTS.search(line)
    ]
    assert offenders == []


def test_a_writer_refuses_an_order_row_without_a_batch():
    class Row:
        id: int | None = None

    with pytest.raises(TypeError):
        events.flag_added(Row(), flag="split")


def test_the_stored_kinds_are_the_declared_ones(shop, owner):
    order = make_order(shop, "EV-1", parcels=[("EV-P1", "Cainiao")])
    events.flag_cleared(order, flag="split", actor=owner)

    kinds = set(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))

    assert kinds == {"created", "parcel_added", "flag_cleared"}
    assert kinds <= set(OrderEventKind.values)
    assert Order.objects.get(pk=order.pk).events.get(kind="flag_cleared").actor == owner
