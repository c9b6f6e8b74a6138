"""Every URL route of the project, for the permission matrices' coverage checks and the check
that every page goes through `shop_view`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver


def route_views() -> list[tuple[str, Callable[..., Any]]]:
    """(route pattern, view callable) for every route, in the order Django tries them."""

    def walk(
        patterns: list[URLPattern | URLResolver], prefix: str = ""
    ) -> Iterator[tuple[str, Callable[..., Any]]]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern), p.callback

    return list(walk(get_resolver().url_patterns))


def all_routes() -> list[str]:
    """Route patterns as Django lists them ("inbox/<int:conversation_id>/", "api/v1/shop")."""
    return sorted({route for route, _view in route_views()})
