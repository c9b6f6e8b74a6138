"""Literal prefixes that every match of a pattern must start with.

The scanner feeds these to its Aho-Corasick automaton: one pass over the message finds every
place a pattern could start, and the pattern is then tried only there (an anchored match)
instead of being searched across the whole message. A pattern whose start is not a literal
(a character range, an optional group) returns None and is searched the ordinary way.
"""

from __future__ import annotations

import warnings
from typing import Any

with warnings.catch_warnings():
    # The parser moved to re._parser in 3.11; typeshed still describes it as sre_parse.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as C
    import sre_parse

_MAX_CLASS = 12
_ZERO_WIDTH = {C.AT, C.ASSERT, C.ASSERT_NOT}


def _first(items: list[tuple[Any, Any]]) -> set[str] | None:
    idx = 0
    while idx < len(items) and items[idx][0] in _ZERO_WIDTH:
        idx += 1
    if idx == len(items):
        return None
    op, arg = items[idx]
    if op is C.LITERAL:
        text = chr(arg)
        for next_op, next_arg in items[idx + 1 :]:
            if next_op is not C.LITERAL:
                break
            text += chr(next_arg)
        return {text}
    if op is C.SUBPATTERN:
        return _first(list(arg[-1]))
    if op is C.BRANCH:
        found: set[str] = set()
        for branch in arg[1]:
            sub = _first(list(branch))
            if sub is None:
                return None
            found |= sub
        return found
    if op is C.IN:
        chars = {chr(a) for o, a in arg if o is C.LITERAL}
        if len(chars) == len(arg) and len(chars) <= _MAX_CLASS:
            return chars
        return None
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] >= 1:
        return _first(list(arg[2]))
    return None


def literal_prefixes(pattern: str) -> frozenset[str] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = sre_parse.parse(pattern)
    found = _first(list(parsed.data))
    if not found or any(not prefix for prefix in found):
        return None
    return frozenset(found)
