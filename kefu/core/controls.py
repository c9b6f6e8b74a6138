"""One rule for control characters in text that comes in (issue 10): they are removed.

A NUL byte is refused by PostgreSQL (a 500, and a marketplace retrying a poison message for
ever) while SQLite stores it; other C0 controls are invisible noise in a chat. Tab, line feed
and carriage return are text and stay. Applied where text enters: JSON bodies of the API
(`CleanParser`), signed webhooks (`loads_clean`), query strings and form
posts of every request (`ControlCharacterMiddleware`), and imported files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from ninja.parser import Parser

_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_controls(text: str) -> str:
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


def clean_data(value: Any) -> Any:
    """``value`` (parsed JSON) with control characters removed from every string in it."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {strip_controls(k): clean_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_data(v) for v in value]
    return value


# How a control character can be written inside a JSON string: `json.loads` refuses the raw
# C0 characters there, so only an escape (`\u00XX`, `\b`, `\f`) or a raw DEL brings one in.
_MAY_HOLD_CONTROLS = re.compile(rb"\\u00|\\b|\\f|\x7f")


def loads_clean(raw: bytes | str) -> Any:
    """``json.loads``, then the rule; for bodies whose signature is checked on the raw bytes.

    A body with none of the ways to write a control character in JSON is not walked again
    (most webhooks: the walk was about half the parse's cost); any other body is."""
    data = json.loads(raw)
    encoded = raw.encode() if isinstance(raw, str) else raw
    return clean_data(data) if _MAY_HOLD_CONTROLS.search(encoded) else data


def _clean_querydict(data: QueryDict) -> QueryDict:
    if not any(
        _CONTROLS.search(key) or any(_CONTROLS.search(str(v)) for v in values)
        for key, values in data.lists()
    ):
        return data
    cleaned = QueryDict(mutable=True)
    for key, values in data.lists():
        cleaned.setlist(strip_controls(key), [strip_controls(v) for v in values])
    cleaned._mutable = False
    return cleaned


class CleanParser(Parser):
    """django-ninja's parser with the rule applied to JSON bodies (query strings and form
    fields of every request, the API's included, are cleaned by the middleware)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = loads_clean(request.body)
        if not isinstance(data, dict):
            # Every body the API takes is an object. Ninja's schemas read any other value by
            # its attributes, so `"ru"` would pass as an object of defaults and change data.
            # Raising here is ninja's 400 "Cannot parse request body".
            raise TypeError("the body must be a JSON object")
        return data


_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


class ControlCharacterMiddleware:
    """The rule for pages: query strings and form posts. No view sets its own upload
    handlers, so parsing a multipart post here changes nothing for uploads."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Replaced, not edited: Django hands views immutable QueryDicts.
        request.GET = _clean_querydict(request.GET)  # type: ignore[assignment]
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            # Text fields only: uploaded files are read by the importers, line by line.
            request.POST = _clean_querydict(request.POST)  # type: ignore[assignment]
        return self.get_response(request)
