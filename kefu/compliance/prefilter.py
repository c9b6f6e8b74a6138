"""Which of the guard's regexes can match a message at all, decided in one native pass.

Every pattern and every concept alternative is rewritten into a *broader* RE2 expression —
lookarounds and anchors dropped (an assertion only ever removes matches), Python's Unicode
``\\d``, ``\\w`` and ``\\s`` spelled as Unicode classes at least as wide (RE2's own are ASCII),
negated classes that hold a category widened to any character — and all of them go into one
``re2.Set``. A regex the set does not report cannot match anywhere in the message, so the
scanner does not try it. Anything the rewrite does not understand stays always live, so the
prefilter can only skip work, never a finding.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import re2

with warnings.catch_warnings():
    # The parser moved to re._parser in 3.11; typeshed still describes it as sre_parse.
    warnings.simplefilter("ignore", DeprecationWarning)
    import sre_constants as C
    import sre_parse

_ANY = r"[\x{0}-\x{10ffff}]"
# Python's \w is str.isalnum() or "_": letters and numbers; marks are added to stay wider.
_WORD = r"\p{L}\p{N}\p{M}_"
_DIGIT = r"\p{Nd}"
# Python's \s: ASCII whitespace, the information separators, NEL, NBSP and Unicode separators.
_SPACE = r"\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\p{Z}"
_CATEGORIES = {
    C.CATEGORY_DIGIT: _DIGIT,
    C.CATEGORY_WORD: _WORD,
    C.CATEGORY_SPACE: _SPACE,
}


class Unsupported(ValueError):
    """The rewrite cannot be sure it widens this construct: the regex stays always live."""


def _char(code: int) -> str:
    return f"\\x{{{code:x}}}"


def _class(items: list[tuple[Any, Any]]) -> str:
    negate = False
    parts: list[str] = []
    for op, av in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            parts.append(_char(av))
        elif op is C.RANGE:
            parts.append(_char(av[0]) + "-" + _char(av[1]))
        elif op is C.CATEGORY:
            if av not in _CATEGORIES:
                # \D, \W, \S inside a class: everything is the safe widening.
                return _ANY
            if negate:
                return _ANY
            parts.append(_CATEGORIES[av])
        else:
            raise Unsupported(str(op))
    if negate and any(op is C.CATEGORY for op, _ in items):
        return _ANY
    return "[" + ("^" if negate else "") + "".join(parts) + "]"


def _seq(items: Iterable[tuple[Any, Any]]) -> str:
    return "".join(_item(op, av) for op, av in items)


def _item(op: Any, av: Any) -> str:
    if op is C.LITERAL:
        return _char(av)
    if op is C.NOT_LITERAL:
        return "[^" + _char(av) + "]"
    if op is C.ANY:
        return r"[^\n]"
    if op is C.IN:
        return _class(list(av))
    if op in (C.AT, C.ASSERT, C.ASSERT_NOT):
        return ""
    if op is C.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            raise Unsupported("inline flags")
        return "(?:" + _seq(sub) + ")"
    if op is C.BRANCH:
        return "(?:" + "|".join(_seq(branch) for branch in av[1]) + ")"
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        low, high, sub = av
        body = "(?:" + _seq(sub) + ")"
        if high == C.MAXREPEAT:
            return f"{body}{{{low},}}" if low else body + "*"
        if high > 1000:
            raise Unsupported("repeat count")
        return f"{body}{{{low},{high}}}"
    raise Unsupported(str(op))


def widened(pattern: str) -> str:
    """An RE2 expression matching at least wherever the Python ``pattern`` matches."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        parsed = sre_parse.parse(pattern)
    if parsed.state.flags & ~(C.SRE_FLAG_UNICODE):
        raise Unsupported("flags")
    return _seq(parsed.data)


class Prefilter:
    """One RE2 set over many Python regexes; `live(text)` names the ones that may match."""

    def __init__(self, patterns: list[str]) -> None:
        options = re2.Options()
        # The guard's few hundred expressions need more than the default 8 MB of DFA state.
        options.max_mem = 64 << 20
        options.log_errors = False
        self._set = re2.Set.SearchSet(options)
        self.always: frozenset[int] = frozenset()
        always: set[int] = set()
        self._ids: list[int] = []
        for index, pattern in enumerate(patterns):
            try:
                self._set.Add(widened(pattern))
            except Exception:  # Unsupported, or an expression RE2 refuses: stays live
                always.add(index)
                continue
            self._ids.append(index)
        self._set.Compile()
        self.always = frozenset(always)

    def live(self, text: str) -> set[int]:
        """Indexes (into the list given to the constructor) of the regexes that may match."""
        ids = self._ids
        found = {ids[i] for i in self._set.Match(text) or ()}
        if self.always:
            found |= self.always
        return found
