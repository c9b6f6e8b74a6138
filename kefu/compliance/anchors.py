"""Literal prefixes that every match of a pattern must start with.

The scanner feeds these to its Aho-Corasick automaton: one pass over the message finds every
place a pattern could start, and the pattern is then tried only there (an anchored match)
instead of being searched across the whole message. A pattern whose start is not a literal
(a character range, an optional group) returns None and is searched the ordinary way.

Prefixes are as long as the pattern allows (literals, small classes and groups whose branches
are literals are followed, up to a bounded number of spellings): a one-character start such as
"开" occurs in most compliant replies, "开不了" only where the pattern may match, so longer
keys mean fewer anchored attempts that fail.
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
# Beyond this many spellings a prefix set stops growing (the automaton stays small).
_MAX_PREFIXES = 48
_MAX_LENGTH = 12
_ZERO_WIDTH = {C.AT, C.ASSERT, C.ASSERT_NOT}


def _item(op: Any, arg: Any, through: bool = False) -> tuple[set[str], bool] | None:
    """(spellings of the item's start, whether each spelling is the whole item) or None.
    `through`: see _seq."""
    if op is C.LITERAL:
        return {chr(arg)}, True
    if op is C.SUBPATTERN:
        return _seq(list(arg[-1]), through)
    if op is C.BRANCH:
        found: set[str] = set()
        complete = True
        for branch in arg[1]:
            sub = _seq(list(branch), through)
            if sub is None:
                return None
            found |= sub[0]
            complete = complete and sub[1]
        return found, complete
    if op is C.IN:
        chars = {chr(a) for o, a in arg if o is C.LITERAL}
        if len(chars) == len(arg) and len(chars) <= _MAX_CLASS:
            return chars, True
        return None
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] >= 1:
        sub = _seq(list(arg[2]), through)
        if sub is None:
            return None
        # Exactly once is the item itself; more repeats only extend what follows.
        return sub[0], sub[1] and arg[0] == arg[1] == 1
    return None


def _seq(items: list[tuple[Any, Any]], through: bool = False) -> tuple[set[str], bool] | None:
    """Literal starts of a sequence: leading zero-width items are skipped (the anchored match
    still checks them), then items are concatenated while each is fully literal.

    `through`: zero-width items after the start are skipped too, so "e(?<!\\we)xtra\\b" (a
    word start written as a lookbehind) gives "extra": an assertion consumes nothing, so the
    text a match consumes is still the literals on either side of it. Only the required-literal
    sets use it; the scan's prefixes (its automaton's keys) stay as they were."""
    idx = 0
    while idx < len(items) and items[idx][0] in _ZERO_WIDTH:
        idx += 1
    if idx == len(items):
        return None
    first = _item(*items[idx], through)
    if first is None:
        return None
    found, complete = first
    idx += 1
    while complete and idx < len(items):
        if through and items[idx][0] in _ZERO_WIDTH:
            idx += 1
            continue
        nxt = _item(*items[idx], through)
        if nxt is None:
            return found, False
        grown = {a + b for a in found for b in nxt[0]}
        if len(grown) > _MAX_PREFIXES or max(map(len, grown)) > _MAX_LENGTH:
            return found, False
        found, complete = grown, nxt[1]
        idx += 1
    return found, complete and idx == len(items)


def literal_prefixes(pattern: str) -> frozenset[str] | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = sre_parse.parse(pattern)
    found = _seq(list(parsed.data))
    if not found or any(not prefix for prefix in found[0]):
        return None
    return frozenset(found[0])


def _spellings(op: Any, arg: Any, through: bool = False) -> set[str] | None:
    """Literal starts of one item that must occur (a repeat of at least one), else None."""
    if op in (C.MAX_REPEAT, C.MIN_REPEAT) and arg[0] == 0:
        return None
    found = _item(op, arg, through)
    if found is None or any(not s for s in found[0]):
        return None
    return found[0]


def _top_level_items(pattern: str) -> list[tuple[Any, Any]]:
    """The pattern's top-level items, looking inside one group that wraps it all."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = sre_parse.parse(pattern)
    items: list[tuple[Any, Any]] = list(parsed.data)
    if len(items) == 1 and items[0][0] is C.SUBPATTERN:
        items = list(items[0][1][-1])
    return items


def required_literals(pattern: str) -> frozenset[str] | None:
    """One set of literals of which every match contains at least one, chosen among the
    pattern's top-level items after its start: the scanner tries a pattern only when one of
    them occurs somewhere in the message (e.g. "…取消订单" in a refusal)."""
    items = _top_level_items(pattern)
    best: set[str] | None = None
    for op, arg in items[1:]:
        found = _spellings(op, arg)
        if found is None:
            continue
        if best is None or min(map(len, found)) > min(map(len, best)):
            best = found
    return frozenset(best) if best else None


def required_literal_sets(pattern: str) -> list[frozenset[str]]:
    """Every set of literals of which every match contains one, one per top-level item after
    the pattern's start (leading zero-width items and the first item that consumes text are the
    start, which the scan's place already holds): a match must contain a literal of *each*
    set, so the scanner skips a pattern at a place where one set has none after it. "invoice is
    not available" needs "is"/"are" and "not"/"unavailable" after "invoice": `required_literals`
    picks one set, this gives both (decisions §87)."""
    items = _top_level_items(pattern)
    idx = 0
    while idx < len(items) and items[idx][0] in _ZERO_WIDTH:
        idx += 1
    out: list[frozenset[str]] = []
    for op, arg in items[idx + 1 :]:
        # Through assertions (see _seq): an English word start written as a lookbehind
        # otherwise cuts every spelling to its first letter, too common to skip anything.
        found = _spellings(op, arg, through=True)
        if found:
            out.append(shortest_literals(frozenset(found)))
    return out


def shortest_literals(literals: frozenset[str]) -> frozenset[str]:
    """The same requirement in fewer finds: a text holding "additional" holds "add", so where
    "add" is one of the spellings, "additional" need not be looked for."""
    return frozenset(lit for lit in literals if not any(o != lit and o in lit for o in literals))


def max_width(pattern: str, flags: int = 0) -> int:
    """The most characters one match of `pattern` can span (an unbounded repeat gives a number
    past any text's length). Lookarounds count for nothing: they consume no text, and no
    literal above is ever taken from inside one, so every required literal of a match lies
    within this many characters of the match's start."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = sre_parse.parse(pattern, flags)
    return int(parsed.getwidth()[1])
