"""Text normalisation shared by keyword matching and the rule guard.

Buyers and agents write simplified and traditional Chinese, full-width and half-width
characters, and mixed case; matching must not depend on any of that.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

import opencc

_t2s = opencc.OpenCC("t2s")


@lru_cache(maxsize=4096)
def _t2s_char(ch: str) -> str:
    converted: str = _t2s.convert(ch)
    # Keep offsets stable: a conversion that changes length falls back to the original.
    return converted if len(converted) == 1 else ch


def normalize(text: str) -> str:
    """Fold width, case and Chinese script; the result has the same length as ``text``.

    Same length matters: callers map match offsets back onto the original text.
    """
    out = []
    for ch in text:
        folded = unicodedata.normalize("NFKC", ch)
        if len(folded) != 1:
            folded = ch
        folded = folded.casefold()
        if len(folded) != 1:
            folded = ch.lower() if len(ch.lower()) == 1 else ch
        out.append(_t2s_char(folded) if ord(folded) > 0x2E80 else folded)
    return "".join(out)
