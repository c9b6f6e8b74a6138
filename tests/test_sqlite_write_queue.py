"""Embedded mode: this process's write transactions queue fairly for SQLite's one writer."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from kefu.accounts.models import Shop
from kefu.core.db.sqlite.base import _lock_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded SQLite backend only"),
]


def write_lock() -> threading.Lock:
    return _lock_for(str(connection.settings_dict["NAME"]))


def test_the_lock_is_held_for_the_transaction_and_freed_after_commit_or_error(shop):
    with transaction.atomic():
        Shop.objects.filter(pk=shop.pk).update(name="During")
        assert write_lock().locked()
    assert not write_lock().locked()

    def failing_service() -> None:
        with transaction.atomic():
            Shop.objects.filter(pk=shop.pk).update(name="Rolled back")
            raise RuntimeError("a failing service")

    with pytest.raises(RuntimeError):
        failing_service()
    assert not write_lock().locked()
    assert Shop.objects.get(pk=shop.pk).name == "During"


def test_a_second_writer_waits_for_the_first_then_both_writes_stand(shop):
    order: list[str] = []
    first_in = threading.Event()
    release_first = threading.Event()

    def first() -> None:
        with transaction.atomic():
            Shop.objects.filter(pk=shop.pk).update(currency="EUR")
            order.append("first began")
            first_in.set()
            release_first.wait(5)
            order.append("first commits")
        connection.close()

    def second() -> None:
        first_in.wait(5)
        with transaction.atomic():
            order.append("second began")
            Shop.objects.filter(pk=shop.pk).update(name="Second")
        connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    first_in.wait(5)
    release_first.set()
    for t in threads:
        t.join(10)

    assert order == ["first began", "first commits", "second began"]
    stored = Shop.objects.get(pk=shop.pk)
    assert (stored.currency, stored.name) == ("EUR", "Second")


def test_waiting_longer_than_the_timeout_is_the_usual_locked_error(shop, monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)
    lock = write_lock()
    lock.acquire()

    def write() -> None:
        with transaction.atomic():
            Shop.objects.filter(pk=shop.pk).update(name="Never")

    try:
        with pytest.raises(OperationalError, match="database is locked"):
            write()
    finally:
        lock.release()
    assert Shop.objects.get(pk=shop.pk).name == "Aurora Lights"
    assert not lock.locked()
