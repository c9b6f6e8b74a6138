"""The signing shops, kept per process for the signed webhooks (decisions §60).

A webhook needs the shop's secret, limits and intake mode before anything else; reading the
shop row on every request cost a query and the ORM's compilation of it. A process keeps the
few fields it needs per slug, with the shops stamp (``kefu.core.stamps``) current when they
were read. The stamp moves whenever a shop is saved or deleted (``kefu.accounts.apps``), and the
webhook's rate-limit call checks it in the same round trip (``ratelimit.hit_all``): a copy
under an old stamp is read again before the request counts or is accepted. A copy is also
dropped after ``KEFU_SHOP_CACHE_SECONDS`` whatever the stamp says. Each request gets its own
``Shop`` instance built from the copy, so nothing a request caches on it reaches another.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from kefu.accounts.apps import SHOPS_STAMP
from kefu.accounts.models import Shop
from kefu.core import stamps

# Every concrete field: a request's shop is a whole instance, as a query would give it.
_FIELDS = [f.attname for f in Shop._meta.concrete_fields]


@dataclass(frozen=True)
class Copy:
    values: tuple[Any, ...]
    stamp: str
    read_at: float

    def shop(self) -> Shop:
        return Shop.from_db("default", _FIELDS, self.values)

    @property
    def secret(self) -> str:
        return str(self.values[_FIELDS.index("webhook_secret")])


_lock = threading.Lock()
_copies: dict[str, Copy] = {}


def cached(slug: str) -> Copy | None:
    """The copy kept for `slug`, if any and not too old."""
    copy = _copies.get(slug)
    if copy is None or time.monotonic() - copy.read_at > settings.KEFU_SHOP_CACHE_SECONDS:
        return None
    return copy


def read(slug: str, *, stamp: str | None = None) -> Copy | None:
    """Read the shop now and keep it; None (and nothing kept) for an unknown slug. The stamp
    is read first (or given, read just before): a change after it moves the stamp again."""
    stamp = stamps.current(SHOPS_STAMP) if stamp is None else stamp
    values = Shop.objects.filter(slug=slug).values_list(*_FIELDS).first()
    with _lock:
        if values is None:
            _copies.pop(slug, None)
            return None
        copy = Copy(tuple(values), stamp, time.monotonic())
        _copies[slug] = copy
        if len(_copies) > settings.KEFU_SHOP_CACHE_SIZE:
            # Far more shops than a process serves at once: start again rather than grow.
            _copies.clear()
            _copies[slug] = copy
    return copy
