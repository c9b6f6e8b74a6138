"""A folded, de-spaced view of a message that remembers where each character came from.

`kefu.core.textnorm.normalize` folds width, case and traditional characters without changing
length. On top of that this view drops the separators agents use to slip past keyword lists
("手 续 费", "w.e.c.h.a.t", "V-X") and zero-width characters, keeping an offset map so every
match maps back onto the text the agent typed.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from kefu.core.textnorm import normalize

_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff\u00ad")


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def _is_separator(ch: str) -> bool:
    if ch.isspace():
        return True
    # Punctuation and symbols, except those that carry meaning in amounts, phones and handles.
    return unicodedata.category(ch)[0] in "PS" and ch not in "%#@+$¥"


@dataclass(frozen=True, slots=True)
class TextView:
    original: str
    folded: str  # same length as original
    compact: str  # folded minus glue separators
    origin: tuple[int, ...]  # compact index -> original index

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open compact span onto the original text."""
        return self.origin[start], self.origin[end - 1] + 1


def _segments(folded: str) -> list[tuple[int, int, bool]]:
    """Runs of (start, end, is_separator) over the folded text."""
    runs: list[tuple[int, int, bool]] = []
    start = 0
    for i in range(1, len(folded) + 1):
        if i == len(folded) or _is_separator(folded[i]) != _is_separator(folded[start]):
            runs.append((start, i, _is_separator(folded[start])))
            start = i
    return runs


def build_view(text: str) -> TextView:
    folded = normalize(text)
    drop = [ch in _ZERO_WIDTH for ch in folded]
    runs = _segments(folded) if folded else []
    for idx, (start, end, is_sep) in enumerate(runs):
        if not is_sep or idx == 0 or idx == len(runs) - 1:
            continue
        p_start, p_end, _ = runs[idx - 1]
        n_start, n_end, _ = runs[idx + 1]
        prev_ch, next_ch = folded[p_end - 1], folded[n_start]
        gap = folded[start:end]
        if _is_cjk(prev_ch) and _is_cjk(next_ch):
            # Chinese does not put spaces between words; punctuation between single characters
            # ("手，续，费") is a trick, between longer runs it ends a clause.
            only_space = gap.isspace()
            single = (p_end - p_start == 1) or (n_end - n_start == 1)
            glue = only_space or single
        else:
            # Spelled-out Latin letters: "w e c h a t", "V.X".
            glue = (
                p_end - p_start == 1
                and n_end - n_start == 1
                and prev_ch.isalpha()
                and next_ch.isalpha()
                and prev_ch.isascii()
                and next_ch.isascii()
            )
        if glue:
            for i in range(start, end):
                drop[i] = True
    origin = tuple(i for i in range(len(folded)) if not drop[i])
    compact = "".join(folded[i] for i in origin)
    return TextView(original=text, folded=folded, compact=compact, origin=origin)
