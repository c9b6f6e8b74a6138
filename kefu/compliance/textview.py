"""A folded, de-spaced view of a message that remembers where each character came from.

`kefu.core.textnorm.normalize` folds width, case and traditional characters without changing
length. On top of that this view drops the separators agents use to slip past keyword lists
("手 续 费", "w.e.c.h.a.t", "V-X") and zero-width characters, keeping an offset map so every
match maps back onto the text the agent typed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Final, cast

from kefu.compliance import native
from kefu.core.textnorm import normalize

_ZERO_WIDTH_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ZERO_WIDTH = re.compile("[" + _ZERO_WIDTH_CHARS + "]")
# Whitespace, ASCII punctuation and symbols (after NFKC full-width punctuation is ASCII), CJK
# and general punctuation; minus the marks that carry meaning in amounts, phones and handles.
_SEPARATORS = re.compile(
    r"[\s!\"&'()*,\-./:;<=>?\[\\\]^_`{|}~\u00a1-\u00a4\u00a6-\u00bf\u2010-\u2027\u2030-\u205e"
    r"\u3000-\u303f\u30fb\uff5e]+"
)


class _FoldTable(dict[int, str]):
    """``str.translate`` table built lazily: each character is folded once per process.

    Folding per call in Python cost most of a check; ``translate`` walks the text in C and only
    calls back for a character it has not seen before.
    """

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        folded = normalize(ch)
        if "a" <= folded <= "\u024f" or folded in "ёй":
            # Spanish, Portuguese, French accents and Russian ё: patterns are written without
            # them, agents type them or not. One character in, one character out.
            bare = "".join(
                c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c)
            )
            if folded == "й":
                bare = "й"
            if len(bare) == 1:
                folded = bare
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """`normalize` plus accent stripping, same length as ``text``."""
    return text.translate(_FOLD)


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


class TextView:
    """A plain class with its own compiled `__init__`, not a frozen dataclass: compiled, a
    dataclass keeps the interpreted `__init__` the dataclasses module writes (~5,600
    instructions a check, decisions §98). Read-only by its `Final` fields."""

    __slots__ = ("compact", "folded", "mapped", "original")

    def __init__(
        self, original: str, folded: str, compact: str, mapped: tuple[int, ...] | None
    ) -> None:
        self.original: Final = original
        self.folded: Final = folded  # same length as original
        self.compact: Final = compact  # folded minus glue separators
        # compact index -> original index; None when nothing was dropped (the identity): most
        # replies, and the map is read only for a finding's span.
        self.mapped: Final = mapped

    @property
    def origin(self) -> tuple[int, ...]:
        """compact index -> original index, for every index."""
        mapped = self.mapped
        return tuple(range(len(self.compact))) if mapped is None else mapped

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open compact span onto the original text."""
        mapped = self.mapped
        if mapped is None:
            return start, end
        return mapped[start], mapped[end - 1] + 1


def _glued(folded: str, runs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The separator runs that join two halves of one disguised word."""
    glued = []
    for idx, (start, end) in enumerate(runs):
        if start == 0 or end == len(folded):
            continue
        prev_len = start - (runs[idx - 1][1] if idx else 0)
        next_len = (runs[idx + 1][0] if idx + 1 < len(runs) else len(folded)) - end
        prev_ch, next_ch = folded[start - 1], folded[end]
        if prev_len > 1 and next_len > 1:
            # The common case, ordinary punctuation and spaces between words: only spaces
            # between Chinese characters are glue (the rules below, decided cheaply).
            if folded[start:end].isspace() and _is_cjk(prev_ch) and _is_cjk(next_ch):
                glued.append((start, end))
            continue
        if _is_cjk(prev_ch) and _is_cjk(next_ch):
            # Chinese puts no spaces between words; punctuation between single characters
            # ("手，续，费") is a trick, between longer runs it ends a clause.
            glue = folded[start:end].isspace() or prev_len == 1 or next_len == 1
        else:
            # Spelled-out Latin letters: "w e c h a t", "V.X".
            glue = (
                prev_len == 1
                and next_len == 1
                and prev_ch.isascii()
                and prev_ch.isalpha()
                and next_ch.isascii()
                and next_ch.isalpha()
            )
        if glue:
            glued.append((start, end))
    return glued


_Parts = tuple[str, str, tuple[int, ...] | None]


def _native() -> Callable[[str, dict[int, str]], _Parts] | None:
    """The C twin of `_parts` (_fastview.c), in a compiled build only: the sources run the
    Python below, so a build and its sources can be compared (tests/compliance)."""
    fast = native.fast_module()
    return None if fast is None else cast(Callable[[str, dict[int, str]], _Parts], fast.build)


_NATIVE: Final = _native()


def build_view(text: str) -> TextView:
    built = _NATIVE
    if built is not None:
        # One C pass; per character it reads the same fold table.
        folded, compact, mapped = built(text, _FOLD)
        return TextView(text, folded, compact, mapped)
    folded, compact, mapped = _parts(text)
    return TextView(text, folded, compact, mapped)


def _parts(text: str) -> _Parts:
    folded = fold(text)
    runs = [m.span() for m in _SEPARATORS.finditer(folded)]
    drops = _glued(folded, runs)
    # A regex scan for characters that are almost never there costs as much as the folding;
    # `in` per character is a C loop each.
    if any(ch in folded for ch in _ZERO_WIDTH_CHARS):
        drops = sorted(drops + [m.span() for m in _ZERO_WIDTH.finditer(folded)])
    if not drops:
        return folded, folded, None
    pieces: list[str] = []
    origin: list[int] = []
    cursor = 0
    for start, end in drops:
        if start > cursor:
            pieces.append(folded[cursor:start])
            origin.extend(range(cursor, start))
        cursor = max(cursor, end)
    pieces.append(folded[cursor:])
    origin.extend(range(cursor, len(folded)))
    return folded, "".join(pieces), tuple(origin)
