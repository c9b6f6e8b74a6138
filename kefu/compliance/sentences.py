"""Where sentences and clauses begin and end, and which scripts a text is written in."""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from functools import lru_cache
from typing import Final, cast

from kefu.compliance import native

_SENTENCE_END = "。!?;\n"
_CLAUSE_END = _SENTENCE_END + ","


def _bounds(text: str, start: int, end: int, stops: str) -> tuple[int, int]:
    left = max((text.rfind(ch, 0, start) for ch in stops), default=-1) + 1
    rights = [i for i in (text.find(ch, end) for ch in stops) if i != -1]
    return left, min(rights, default=len(text))


_CLAUSE_STOP = re.compile("[" + re.escape(_CLAUSE_END) + "]")


@lru_cache(maxsize=16)
def _clause_stops(text: str) -> list[int]:
    return [m.start() for m in _CLAUSE_STOP.finditer(text)]


def clause_start(text: str, start: int) -> int:
    """Where the clause holding offset `start` begins (just after the last stop before it)."""
    native = _NATIVE_CLAUSE_START
    if native is not None:
        # One walk back over the clause in C: the cached stops cost a call of the cache, its
        # key's hash and a bisection on each of a check's few calls (decisions §106).
        return native(text, start)
    return _clause_start(text, start)


def _clause_start(text: str, start: int) -> int:
    stops = _clause_stops(text)
    index = bisect_left(stops, start)
    return stops[index - 1] + 1 if index else 0


def sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Sentence around a span; an English full stop counts, a decimal point does not."""
    sentences = cached_sentences(text)
    left, first_end = sentence_of(sentences, start)
    last_start, right = sentence_of(sentences, max(start, end - 1))
    if first_end > left and right > last_start:
        return left, right
    # The span starts or ends on a stop itself: look the bounds up the long way.
    left, right = _bounds(text, start, end, _SENTENCE_END)
    for m in re.finditer(r"\.(?!\d)", text):
        if m.start() < start:
            left = max(left, m.end())
        elif m.start() >= end:
            right = min(right, m.start())
            break
    return left, right


_ECHO_LENGTH = 8
# The same for words: "Need an invoice?", "Счёт нужен?", "¿Necesita factura?".
_ECHO_WORDS = 4
_ECHO_WORDS_LENGTH = 24
_SENTENCE_SPLIT = re.compile(r"[。!?;\n]+|\.(?!\d)")


def _short_question(question: str) -> bool:
    if len(question) <= _ECHO_LENGTH:
        return True
    return (
        len(question) <= _ECHO_WORDS_LENGTH
        and len(question.split()) <= _ECHO_WORDS
        and _CJK.search(question) is None
    )


def split_sentences(text: str) -> list[tuple[int, int]]:
    split = _NATIVE_SENTENCES
    if split is not None:
        return split(text)
    return _split_sentences(text)


def _split_sentences(text: str) -> list[tuple[int, int]]:
    spans = []
    start = 0
    for m in _SENTENCE_SPLIT.finditer(text):
        if (
            text[m.start()] == "?"
            and m.end() < len(text)
            and _short_question(text[start : m.start()])
        ):
            # A short question that only names the topic ("发票?", "Invoice?", "Need an
            # invoice?") belongs to the answer that follows: "发票?那得再给50块" and "Need an
            # invoice? That'll be 15 yuan extra." are each one statement about the invoice.
            continue
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


@lru_cache(maxsize=16)
def cached_sentences(text: str) -> list[tuple[int, int]]:
    # One check asks for the sentence around many hits in the same text (str caches its hash).
    return split_sentences(text)


def sentence_of(sentences: list[tuple[int, int]], start: int) -> tuple[int, int]:
    """The sentence holding offset `start` (binary search: long texts have many sentences)."""
    if len(sentences) <= _LINEAR:
        # A reply has a few sentences: walking them costs less than the search's key tuple
        # and tuple comparisons (the same answer: the last sentence starting at or before).
        for s_start, s_end in sentences:
            if s_start > start:
                break
            if start < s_end:
                return s_start, s_end
        return start, start
    index = bisect_right(sentences, (start, _LEN_MAX)) - 1
    if index >= 0:
        s_start, s_end = sentences[index]
        if s_start <= start < s_end:
            return s_start, s_end
    return start, start


_LEN_MAX = sys.maxsize
_LINEAR: Final = 8


_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]{2}")


# The scripts by scripts_and_digit's bits & 3 (1: Chinese, 2: Latin; prescan.Scan.scripts).
SCRIPTS_BY_BITS: Final = (
    frozenset({"any"}),
    frozenset({"any", "zh"}),
    frozenset({"any", "en"}),
    frozenset({"any", "zh", "en"}),
)
# What the address and phone checks need (hits.privacy_hits): sre's \d, a Unicode decimal digit.
_DIGIT = re.compile(r"\d")
# How many of them a phone number needs: hits._PHONE_LIKE matches a digit and six more.
PHONE_DIGITS: Final = 7
# scripts_and_digit's digit answer: none, one to six, at least PHONE_DIGITS (decisions §116).
NO_DIGIT: Final = 0
SOME_DIGITS: Final = 1
PHONE_LIKE_DIGITS: Final = 2


# patterns.ADDRESS_EN's street words (_fastview.c's STREET_WORDS, the same tuple): the address
# regex ends with `\s+(?:street|st|...)\b`, so a text in which no whitespace character is
# followed by one of them holds no English address (decisions §121).
STREET_WORDS: Final = (
    "street",
    "st",
    "road",
    "rd",
    "avenue",
    "ave",
    "lane",
    "ln",
    "drive",
    "dr",
    "boulevard",
    "blvd",
    "way",
    "court",
    "ct",
)
_STREET_AFTER_SPACE = re.compile(r"\s(?:" + "|".join(STREET_WORDS) + ")")


# scripts_and_digit's bits beyond the scripts (1: Chinese, 2: Latin): a decimal digit, at least
# PHONE_DIGITS of them, a street word after a whitespace character (_fastview.scripts' bits).
DIGIT_BIT: Final = 4
PHONE_BIT: Final = 8
STREET_BIT: Final = 16


def scripts_and_digit(text: str) -> int:
    """Bits of what `text` holds: 1 a CJK character, 2 two a-z in a row (the scripts, an index
    of SCRIPTS_BY_BITS), DIGIT_BIT a decimal digit, PHONE_BIT at least PHONE_DIGITS of them,
    STREET_BIT a street word after a whitespace character. One C pass in a compiled build,
    instead of regex searches over the text (decisions §98, §116, §121); one int, so a check
    builds no tuple for it (prescan.Scan reads the bits)."""
    scripts = _NATIVE_SCRIPTS
    if scripts is not None:
        return scripts(text)
    bits = 0
    if _CJK.search(text):
        bits |= 1
    if _LATIN.search(text):
        bits |= 2
    count = len(_DIGIT.findall(text))
    if count:
        bits |= DIGIT_BIT
    if count >= PHONE_DIGITS:
        bits |= PHONE_BIT
    if _STREET_AFTER_SPACE.search(text) is not None:
        bits |= STREET_BIT
    return bits


def digits_of(bits: int) -> int:
    """NO_DIGIT, SOME_DIGITS or PHONE_LIKE_DIGITS from scripts_and_digit's bits."""
    if bits & PHONE_BIT:
        return PHONE_LIKE_DIGITS
    if bits & DIGIT_BIT:
        return SOME_DIGITS
    return NO_DIGIT


# The C twins of split_sentences and scripts_and_digit (_fastview.c), in a compiled build
# only.
_FAST = native.fast_module()
_NATIVE_SENTENCES: Final = (
    None if _FAST is None else cast(Callable[[str], list[tuple[int, int]]], _FAST.sentences)
)
_NATIVE_SCRIPTS: Final = None if _FAST is None else cast(Callable[[str], int], _FAST.scripts)
_NATIVE_CLAUSE_START: Final = (
    None if _FAST is None else cast(Callable[[str, int], int], _FAST.clause_start)
)
