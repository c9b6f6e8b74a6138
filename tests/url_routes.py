"""Every URL route of the project, for the permission matrices' coverage checks."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def all_routes() -> list[str]:
    """Route patterns as Django lists them ("inbox/<int:conversation_id>/", "api/v1/shop")."""

    def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, prefix + str(p.pattern))
            else:
                yield prefix + str(p.pattern)

    return sorted(set(walk(get_resolver().url_patterns)))
