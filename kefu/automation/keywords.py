"""Keyword matching (R-08): every keyword of a set in one pass over the folded message.

The message and keywords are folded the same way (case, full/half width, traditional to
simplified Chinese) and scanned with one Aho-Corasick automaton, so the cost is linear in
the message length whatever the number of keywords. The longest matching keyword wins; on a
tie the one that starts first, then the rule listed first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

from kefu.core.textnorm import normalize


def fold(text: str) -> str:
    """`normalize`, with a shortcut for ASCII text (where it is exactly `str.lower`)."""
    if text.isascii():
        return text.lower()
    return normalize(text)


def fold_keyword(keyword: str) -> str:
    return fold(keyword.strip())


@dataclass(frozen=True)
class KeywordMatch:
    rule_id: int
    keyword: str
    start: int  # offsets into the original message (folding keeps the length)
    end: int


class KeywordMatcher:
    def __init__(self, rules: Iterable[tuple[int, str]]) -> None:
        """`rules` are (rule id, keyword) in the set's order."""
        self._automaton = ahocorasick.Automaton()
        by_key: dict[str, list[tuple[int, int, str]]] = {}
        for order, (rule_id, keyword) in enumerate(rules):
            key = fold_keyword(keyword)
            if key:
                by_key.setdefault(key, []).append((order, rule_id, keyword))
        for key, entries in by_key.items():
            # Two rules with the same folded keyword: the first listed answers.
            order, rule_id, keyword = min(entries)
            self._automaton.add_word(key, (len(key), order, rule_id, keyword))
        self.size = len(by_key)
        if self.size:
            self._automaton.make_automaton()

    def match(self, text: str) -> KeywordMatch | None:
        if not self.size or not text:
            return None
        best: tuple[int, int, int, int, str] | None = None  # (-len, start, order, id, keyword)
        for end, (length, order, rule_id, keyword) in self._automaton.iter(fold(text)):
            candidate = (-length, end - length + 1, order, rule_id, keyword)
            if best is None or candidate < best:
                best = candidate
        if best is None:
            return None
        neg_len, start, _order, rule_id, keyword = best
        return KeywordMatch(rule_id=rule_id, keyword=keyword, start=start, end=start - neg_len)
