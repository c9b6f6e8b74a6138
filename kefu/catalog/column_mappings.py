"""Column mappings a shop remembers per import kind (orders, products): set from the upload
page's mapping form, applied to every later upload of that kind, shown and cleared there.

A remembered entry names a header; a file without that header is not affected by it, so one
shop can upload files of several layouts. A mapping given for one upload wins over the
remembered one for the headers it names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext

from kefu.accounts.models import Shop, User
from kefu.accounts.permissions import Capability, require
from kefu.accounts.scoping import shop_of
from kefu.catalog.models import ColumnMapping, ImportKind
from kefu.core.tabular import IGNORE

# A header is at most what a spreadsheet cell holds on a page; a mapping of a shop at most
# this many headers (a file has tens of columns; layouts add up slowly).
MAX_HEADER = 200
MAX_ENTRIES = 300


class MappingRefused(ValueError):
    """The submitted mapping cannot be used (a field Kefu does not have)."""


def remembered_mapping(shop: Shop, kind: str) -> dict[str, str]:
    """The shop's remembered mapping for `kind` ({} when none)."""
    row = ColumnMapping.objects.filter(shop=shop, kind=kind).first()
    return dict(row.mapping) if row is not None else {}


# header -> the field Kefu reads it as by itself, "-" for a column it knows and does not keep,
# None for a header it does not recognise (each importer's `auto_field`).
AutoField = Callable[[str], str | None]


@dataclass(frozen=True)
class ColumnRow:
    """One header of the file on the page's mapping form."""

    header: str
    selected: str  # the field it is read as, or "-" (not read)
    recognised: bool  # Kefu reads it by itself, or the shop mapped it


def column_rows(
    headers: Sequence[str], mapping: Mapping[str, str], auto: AutoField
) -> list[ColumnRow]:
    rows = []
    for header in headers:
        if header in mapping:
            rows.append(ColumnRow(header, mapping[header], True))
            continue
        found = auto(header)
        rows.append(ColumnRow(header, found or IGNORE, found is not None))
    return rows


def mapping_from_form(
    headers: Sequence[str],
    targets: Sequence[str],
    fields: Iterable[str],
    auto: AutoField,
    remembered: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The page's mapping form as {header: field}: one select per header of the file, a
    field or "-" (not read). Only the choices that differ from what Kefu reads by itself, or
    from the shop's `remembered` mapping, are kept, so the remembered mapping holds the
    seller's decisions and nothing else."""
    remembered = remembered or {}
    allowed = set(fields)
    mapping: dict[str, str] = {}
    for header, target in zip(headers, targets, strict=False):
        header, target = header.strip()[:MAX_HEADER], target.strip()
        if not header or not target:
            continue
        if target != IGNORE and target not in allowed:
            raise MappingRefused(
                gettext("%(field)s is not a field Kefu imports") % {"field": target[:40]}
            )
        # What Kefu reads by itself is left out; "-" for a column it did not recognise is
        # kept, so the form does not ask about that column again. Going back to what Kefu
        # reads by itself from a remembered choice is kept too: left out, the remembered
        # choice would still win and the seller could not undo it on the form.
        if target == auto(header) and remembered.get(header, target) == target:
            continue
        mapping[header] = target
    return mapping


def remember_mapping(*, actor: User, kind: str, mapping: Mapping[str, str]) -> dict[str, str]:
    """Add `mapping` to the shop's remembered one for `kind` (its headers win); returns the
    whole remembered mapping."""
    require(actor, Capability.MANAGE_SETTINGS)
    if kind not in ImportKind.values:
        raise MappingRefused(gettext("unknown import kind"))
    shop = shop_of(actor)
    with transaction.atomic():
        row, _ = ColumnMapping.objects.select_for_update().get_or_create(shop=shop, kind=kind)
        merged = {**row.mapping, **mapping}
        if len(merged) > MAX_ENTRIES:
            # The oldest entries go first: dicts keep insertion order.
            merged = dict(list(merged.items())[-MAX_ENTRIES:])
        row.mapping = merged
        row.updated_by = actor
        row.save(update_fields=["mapping", "updated_by", "updated_at"])
    return merged


def mapping_page_context(
    *,
    shop: Shop,
    kind: str,
    headers: Sequence[str],
    chosen: Mapping[str, str],
    refused: bool,
    auto: AutoField,
    labels: Mapping[str, object],
    action: str,
) -> dict[str, object]:
    """What an upload page's mapping form and remembered-mapping card show
    (catalog/_column_mapping.html, catalog/_remembered_mapping.html): the file's columns when
    it was `refused` or one of its headers is not recognised, and the shop's remembered mapping
    for `kind`. `labels` are the importer's fields as the form names them."""
    remembered = remembered_mapping(shop, kind)
    rows = column_rows(headers, {**remembered, **chosen}, auto)
    if not refused and all(r.recognised for r in rows):
        rows = []
    return {
        "column_rows": rows,
        "field_options": [(f, f"{label} ({f})") for f, label in labels.items()],
        "remembered": remembered_labels(remembered, labels),
        "mapping_action": action,
    }


def remembered_labels(
    remembered: Mapping[str, str], labels: Mapping[str, object]
) -> list[tuple[str, str]]:
    """The remembered mapping as (header, field label) lines for the page."""
    return [
        (header, str(labels[target]) if target in labels else gettext("ignored"))
        for header, target in remembered.items()
    ]


def forget_mapping(*, actor: User, kind: str) -> bool:
    """Clear the shop's remembered mapping for `kind`; False when there was none."""
    require(actor, Capability.MANAGE_SETTINGS)
    deleted, _ = ColumnMapping.objects.filter(shop=shop_of(actor), kind=kind).delete()
    return bool(deleted)
