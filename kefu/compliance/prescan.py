"""The scan's one pass: every literal the guard looks for, in one Aho-Corasick automaton.

The pass finds which rule codes have a cue in the message, where each targeted pattern and each
concept alternative could start, and which whole-message searches are worth running at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, cast

import ahocorasick_rs

from kefu.compliance import concepts as cc
from kefu.compliance import native
from kefu.compliance import patterns as pt
from kefu.compliance.anchors import literal_prefixes
from kefu.compliance.sentences import (
    SCRIPTS_BY_BITS,
    STREET_BIT,
    digits_of,
    scripts_and_digit,
    split_sentences,
)

GROUPS: dict[str, tuple[pt.Pattern, ...]] = {
    "invoice": pt.INVOICE,
    "card_fee": pt.CARD_FEE,
    "free_shipping": pt.FREE_SHIPPING,
    "off_platform": pt.OFF_PLATFORM,
    "blame_courier": pt.BLAME_COURIER,
    "refuse_to_ship": pt.REFUSE_TO_SHIP,
    "stock_excuse": pt.STOCK_EXCUSE,
    "privacy": pt.PRIVACY,
    "wait_patiently": pt.WAIT_PATIENTLY,
}

# A place is one int, not a tuple: a check records dozens of them (decisions: "The rule guard's
# hot path is compiled with mypyc"). A pattern start is index << PATTERN_SHIFT | offset, so
# sorting the ints sorts by (pattern index, offset); a concept alternative start is
# offset << ALTERNATIVE_SHIFT | alternative index, sorting by (offset, alternative index).
# Final literals: mypyc inlines them where they are used instead of reading a module global
# (a dict lookup and an unboxing) on every shift and mask in the hot loops.
PATTERN_SHIFT: Final = 32
OFFSET_MASK: Final = 0xFFFFFFFF  # (1 << PATTERN_SHIFT) - 1
ALTERNATIVE_SHIFT: Final = 16
ALTERNATIVE_MASK: Final = 0xFFFF  # (1 << ALTERNATIVE_SHIFT) - 1

# Automaton values, one per key, sorted by what the scan does with them:
# (cue codes, patterns starting with the key (group, index << PATTERN_SHIFT, need_of(group,
#  index) for a pattern gated on a required literal, else -1), concept alternatives starting
#  with it ("code:part", index), patterns whose required literal this key is (need_of(group,
#  index))).
_Value = tuple[
    frozenset[str],
    tuple[tuple[str, int, int], ...],
    tuple[tuple[str, int], ...],
    tuple[int, ...],
]

# A pattern whose required literal occurred is one small int in Scan.present, not a (group,
# index) tuple: a check adds a dozen and asks about each gated pattern, and an int hashes as
# itself where a tuple's hash is computed again on every add and lookup (decisions §106).
_GROUP_NUMBER: Final = {group: number for number, group in enumerate(GROUPS)}
NEED_SHIFT: Final = 16


def need_of(group: str, index: int) -> int:
    """The int standing for pattern `index` of `group` in Scan.present."""
    if index >> NEED_SHIFT:
        raise ValueError(f"{group}: too many patterns to encode")
    return _GROUP_NUMBER[group] << NEED_SHIFT | index


def _needed(regex: re.Pattern[str]) -> frozenset[str]:
    prefixes = literal_prefixes(regex.pattern)
    if prefixes is None:
        raise ValueError(f"{regex.pattern[:40]}: no literal start to gate it on")
    return prefixes


REFUND_FLAG: Final = "~refund_talk"
URL_FLAG: Final = "~url"
ADDRESS_ZH_FLAG: Final = "~address_zh"
_FLAGS: dict[str, frozenset[str]] = {
    REFUND_FLAG: _needed(pt.REFUND_TALK),
    # A link has a dot right before its top-level domain.
    URL_FLAG: frozenset("." + tld for tld in pt.URL_TLDS),
    # A Chinese street address ends in a number and 号/栋/室...
    ADDRESS_ZH_FLAG: frozenset(
        digit + unit for digit in "0123456789" for unit in ("号", "栋", "幢", "室", "单元", "弄")
    ),
}


@dataclass(frozen=True, slots=True)
class Automaton:
    """Every literal the scan looks for, in one Aho-Corasick automaton, and per literal (by
    its index in the automaton) what an occurrence means."""

    matcher: ahocorasick_rs.AhoCorasick
    values: tuple[_Value, ...]
    # The same keys in _fastview's automaton (a capsule), in a compiled build only: it runs on
    # the compact view's own characters and files the places in C (no UTF-8 copy of the text,
    # no match tuples); the ahocorasick-rs matcher stays the reference the sources run.
    native: object | None


# The C extension (_fastview.c), in a compiled build only (see native.py).
_FAST = native.fast_module()


@lru_cache(maxsize=1)
def automaton() -> Automaton:
    cues: dict[str, set[str]] = {}
    ats: dict[str, list[tuple[str, int, int]]] = {}
    concept_at: dict[str, list[tuple[str, int]]] = {}
    needs: dict[str, set[int]] = {}
    for code, code_cues in pt.CUES.items():
        for cue in code_cues:
            cues.setdefault(cue, set()).add(code)
    # Whole-message searches run only when the automaton saw a literal they need.
    for flag, literals in _FLAGS.items():
        for literal in literals:
            cues.setdefault(literal, set()).add(flag)
    for group, group_patterns in GROUPS.items():
        for index, pattern in enumerate(group_patterns):
            # A gated pattern's starts are filed only when its required literal occurs too
            # (hits._hits would skip them): the scan makes no int for a place never tried.
            gate = -1 if pattern.required is None else need_of(group, index)
            for prefix in pattern.prefixes or ():
                ats.setdefault(prefix, []).append((group, index << PATTERN_SHIFT, gate))
            for literal in pattern.required or ():
                needs.setdefault(literal, set()).add(need_of(group, index))
    for concept in cc.CONCEPTS:
        for part, lex in (
            ("act", concept.act),
            ("topic", concept.topic),
            ("cancel", concept.cancel),
        ):
            if lex is None:
                continue
            if len(lex.alternatives) > ALTERNATIVE_MASK:
                raise ValueError(f"{concept.code}:{part}: too many alternatives to encode")
            for index, (_regex, prefixes) in enumerate(lex.alternatives):
                for prefix in prefixes:
                    concept_at.setdefault(prefix, []).append((concept.code + ":" + part, index))
    keys = sorted(set(cues) | set(ats) | set(concept_at) | set(needs))
    values = tuple(
        (
            frozenset(cues.get(key, ())),
            tuple(ats.get(key, ())),
            tuple(concept_at.get(key, ())),
            tuple(sorted(needs.get(key, ()))),
        )
        for key in keys
    )
    # Every occurrence, overlapping ones included: "给您发" and "您" both count.
    native = None if _FAST is None else _FAST.automaton(tuple(keys))
    return Automaton(ahocorasick_rs.AhoCorasick(keys), values, native)


class Scan:
    """What one Aho-Corasick pass found: cued codes and candidate starts per pattern.

    A plain class with its own `__init__`, not a dataclass: compiled, a dataclass keeps the
    `__init__` the dataclasses module writes, which runs interpreted on every check (~3,700
    instructions); this one is compiled (decisions §98). Nothing compares or prints scans."""

    __slots__ = (
        "by_group",
        "cued",
        "digits",
        "lexical",
        "present",
        "script",
        "scripts",
        "sentences",
        "street",
        "text",
    )

    def __init__(
        self,
        text: str,
        cued: set[str],
        by_group: dict[str, list[int]],
        present: set[int],
        marks: int,
        sentences: list[tuple[int, int]],
        lexical: dict[str, list[int]],
    ) -> None:
        self.text = text
        self.cued = cued
        # group -> index << PATTERN_SHIFT | place, for each place a pattern's literal start
        # occurs, sorted.
        self.by_group = by_group
        # need_of(group, pattern index) of the patterns whose required literal occurs.
        self.present = present
        # sentences.scripts_and_digit's bits, read once here.
        self.scripts = SCRIPTS_BY_BITS[marks & 3]
        # The same as an int: 1 when the text holds a CJK character, 2 when two a-z in a row.
        self.script = marks & 3
        # Whether the text holds a decimal digit (sre's \d), as sentences.NO_DIGIT,
        # SOME_DIGITS or PHONE_LIKE_DIGITS: the address check needs one, the phone check seven.
        self.digits = digits_of(marks)
        # Whether a street word follows a whitespace character: the English address needs one.
        self.street = bool(marks & STREET_BIT)
        self.sentences = sentences
        # "code:act" / "code:topic" / "code:cancel" -> start << ALTERNATIVE_SHIFT | alternative
        # index, sorted, for each place an alternative of that concept part could start.
        self.lexical = lexical


_Collected = tuple[set[str], dict[str, list[int]], dict[str, list[int]], set[int]]
# The C twin of the matcher and `_collect` together (_fastview.c), in a compiled build only
# (see native.py).
_NATIVE_SCAN_COLLECT: Final = (
    None
    if _FAST is None
    else cast(Callable[[str, object, tuple[_Value, ...]], _Collected], _FAST.scan_collect)
)


def scan(text: str) -> Scan:
    built = automaton()
    scan_collect = _NATIVE_SCAN_COLLECT
    if scan_collect is not None and built.native is not None:
        cued, by_group, lexical, present = scan_collect(text, built.native, built.values)
    else:
        matches = built.matcher.find_matches_as_indexes(text, overlapping=True)
        cued, by_group, lexical, present = _collect(matches, built.values)
    marks = scripts_and_digit(text)
    return Scan(text, cued, by_group, present, marks, split_sentences(text), lexical)


def _collect(matches: list[tuple[int, int, int]], values: tuple[_Value, ...]) -> _Collected:
    """What the automaton's matches mean: cued codes, pattern and concept starts, required
    literals present. A gated pattern's starts count only when its required literal is
    present somewhere in the text (decisions §115)."""
    cued: set[str] = set()
    lexical: dict[str, list[int]] = {}
    by_group: dict[str, list[int]] = {}
    present: set[int] = set()
    gated: list[tuple[str, int, int]] = []
    for key, start, _end in matches:
        cues, ats, concept_at, needs = values[key]
        if cues:
            cued |= cues
        for group, base, gate in ats:
            if gate >= 0:
                # Filed once every required literal is known, after the loop.
                gated.append((group, base | start, gate))
            else:
                _file(by_group, group, base | start)
        for name, index in concept_at:
            # Where a concept's act, topic or cancel could start.
            spots = lexical.get(name)
            if spots is None:
                lexical[name] = [start << ALTERNATIVE_SHIFT | index]
            else:
                spots.append(start << ALTERNATIVE_SHIFT | index)
        if needs:
            present.update(needs)
    for group, place, gate in gated:
        if gate in present:
            _file(by_group, group, place)
    # Sorted: concept starts by (offset, alternative), pattern starts by (pattern, offset), the
    # order the targeted checks walk them in.
    for places in lexical.values():
        places.sort()
    for places in by_group.values():
        places.sort()
    return cued, by_group, lexical, present


def _file(by_group: dict[str, list[int]], group: str, place: int) -> None:
    # get-then-append: setdefault would build an empty list for every place.
    places = by_group.get(group)
    if places is None:
        by_group[group] = [place]
    else:
        places.append(place)
