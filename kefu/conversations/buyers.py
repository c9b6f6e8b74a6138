"""The one writer of buyer rows: chats, order imports and the message-history import.

A buyer is known by the marketplace's id, unique per shop. What a source says of the buyer is
trusted by how current it is: a chat arriving now is ``live`` and its name, language and
country replace older ones; an import may be months old, so it only fills what the shop did
not know yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from kefu.accounts.models import Shop
from kefu.conversations.models import Buyer
from kefu.core.db.bulk import Table
from kefu.core.db.probe import rows_by_key

_BUYERS = Table(Buyer)
_FACTS = (("name", 120), ("language", 10), ("country", 2))


@dataclass(frozen=True)
class BuyerIn:
    external_id: str
    name: str = ""
    language: str = ""
    country: str = ""


def checked_buyer(buyer: BuyerIn) -> BuyerIn:
    """The buyer with its facts cut to their columns, or ``ValidationError`` for a bad id.

    The id is the caller's key into ``upsert_buyers``' result: checked, never rewritten.
    """
    if not buyer.external_id.strip() or len(buyer.external_id) > 120:
        raise ValidationError(_("buyer.external_id must be 1-120 characters"), code="buyer_id")
    return BuyerIn(
        external_id=buyer.external_id,
        name=buyer.name[:120],
        language=buyer.language[:10],
        country=buyer.country[:2].upper(),
    )


def upsert_buyers(
    *,
    shop: Shop,
    seen: Iterable[tuple[BuyerIn, dt.datetime]],
    live: bool = False,
    created: set[int] | None = None,
) -> dict[str, int]:
    """Create the buyers the shop does not know and refresh the others; ids by external id.

    ``seen`` pairs each buyer with when it was seen (a new row's ``first_seen_at``; the
    earliest wins when one buyer comes several times). Safe against a concurrent writer of
    the same buyer: the row that got in first is kept and then refreshed. ``created``, when
    given, gets the ids of the rows this call inserted (not those a concurrent writer did):
    no other transaction can know them before the caller's commits.
    """
    wanted: dict[str, tuple[BuyerIn, dt.datetime]] = {}
    for raw, at in seen:
        buyer = checked_buyer(raw)
        prev = wanted.get(buyer.external_id)
        if prev is None:
            wanted[buyer.external_id] = (buyer, at)
            continue
        # Several mentions of one buyer: keep the earliest sighting and every known fact.
        merged = BuyerIn(
            external_id=buyer.external_id,
            **{
                name: (getattr(buyer, name) if live else getattr(prev[0], name))
                or getattr(prev[0], name)
                or getattr(buyer, name)
                for name, _ in _FACTS
            },
        )
        wanted[buyer.external_id] = (merged, min(prev[1], at))
    if not wanted:
        return {}
    columns = ("external_id", "id", "name", "language", "country")
    found = {
        row[0]: list(row)
        # One probe of the (shop, external_id) index per buyer (decisions §73).
        for row in rows_by_key(
            Buyer, shop_id=shop.pk, key="external_id", values=wanted, columns=columns
        )
    }
    missing = [
        (shop.pk, ext, b.name, b.language, b.country, at)
        for ext, (b, at) in wanted.items()
        if ext not in found
    ]
    if missing:
        # The rows inserted come back from the INSERT; only those a concurrent writer got in
        # first are read (decisions §96: one statement fewer per batch of new buyers).
        inserted = {
            row[0]: list(row)
            for row in _BUYERS.insert_new(
                ("shop_id", "external_id", "name", "language", "country", "first_seen_at"),
                missing,
                now=timezone.now(),
                returning=columns,
            )
        }
        found.update(inserted)
        if created is not None:
            created.update(row[1] for row in inserted.values())
        raced = [m[1] for m in missing if m[1] not in inserted]
        if raced:
            found.update(
                (row[0], list(row))
                for row in rows_by_key(
                    Buyer, shop_id=shop.pk, key="external_id", values=raced, columns=columns
                )
            )
    changes = []
    for ext, (buyer, _at) in wanted.items():
        row = found[ext]
        dirty = False
        for index, (name, _size) in enumerate(_FACTS, start=2):
            value = getattr(buyer, name)
            if value and row[index] != value and (live or not row[index]):
                row[index] = value
                dirty = True
        if dirty:
            changes.append((row[2], row[3], row[4], row[1]))
    # One statement on PostgreSQL, not one UPDATE per changed buyer.
    _BUYERS.update_joined(("name", "language", "country"), changes)
    return {ext: row[1] for ext, row in found.items()}
