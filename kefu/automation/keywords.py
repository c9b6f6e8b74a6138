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


class _FoldTable(dict[int, str]):
    """Code point -> folded character, filled on first sight. `normalize` folds each
    character on its own, so translating character by character gives the same result;
    `str.translate` then runs in C for every character already seen."""

    def __missing__(self, code: int) -> str:
        folded = normalize(chr(code))
        self[code] = folded
        return folded


_fold_table = _FoldTable()


def fold(text: str) -> str:
    """Exactly `kefu.core.textnorm.normalize`, faster: ASCII text only needs `str.lower`,
    other text goes through a per-process table of already folded characters."""
    if text.isascii():
        return text.lower()
    return text.translate(_fold_table)


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
