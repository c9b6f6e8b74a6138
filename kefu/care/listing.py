"""The care lists' filters, read once for every page and API list: a query parameter is kept
only when it is one of the allowed values (else the default), and "all" means no filter. The
pages and the API then pass `query` to the list's selector (`visible_complaints`,
`visible_returns`, …) and cut the rows with `listed`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import QuerySet

from kefu.accounts.models import User

T = TypeVar("T")


@dataclass(frozen=True)
class Filter:
    name: str
    # The values the selector takes; empty: any text up to `max_chars` (a cause, a search).
    allowed: tuple[str, ...] = ()
    default: str = ""
    # The value that shows every row ("all"): the selector gets "".
    everything: str = ""
    max_chars: int = 40
    # The query parameter, when it is not the selector's name for it ("q" for "query").
    param: str = ""


@dataclass(frozen=True)
class Filters:
    query: dict[str, str]  # what the selector gets
    shown: dict[str, str]  # what the page's filter form shows as chosen


def read_filters(params: Mapping[str, Any], filters: Sequence[Filter]) -> Filters:
    query: dict[str, str] = {}
    shown: dict[str, str] = {}
    for f in filters:
        param = f.param or f.name
        raw = params.get(param, f.default)
        value = str(raw if raw is not None else "").strip()[: f.max_chars]
        if f.everything and value == f.everything:
            shown[param], query[f.name] = value, ""
            continue
        if f.allowed and value not in f.allowed:
            value = f.default
        shown[param] = query[f.name] = value
    return Filters(query=query, shown=shown)


def listed(
    selector: Callable[..., QuerySet[Any]],
    actor: User,
    filters: Mapping[str, str],
    *,
    limit: int,
    out: Callable[[Any], T],
) -> list[T]:
    """The first `limit` rows the selector lets the actor see, through `out`."""
    return [out(row) for row in selector(actor, **filters)[:limit]]
