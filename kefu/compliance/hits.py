"""The targeted checks behind the one pass: patterns and concepts only where the pass saw
their literal starts, links, addresses and phone numbers; hits before scope and context filters.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator
from typing import Final

import phonenumbers

from kefu.compliance import concepts as cc
from kefu.compliance import patterns as pt
from kefu.compliance.anchors import (
    literal_prefixes,
    max_width,
    required_literal_sets,
    required_literals,
    shortest_literals,
)
from kefu.compliance.prescan import (
    ADDRESS_ZH_FLAG,
    ALTERNATIVE_MASK,
    ALTERNATIVE_SHIFT,
    GROUPS,
    OFFSET_MASK,
    PATTERN_SHIFT,
    REFUND_FLAG,
    URL_FLAG,
    Scan,
    need_of,
)
from kefu.compliance.rules import RulePack
from kefu.compliance.sentences import (
    NO_DIGIT,
    PHONE_LIKE_DIGITS,
    STREET_WORDS,
    clause_start,
    sentence_bounds,
    sentence_of,
)
from kefu.compliance.textview import TextView
from kefu.compliance.verdict import CheckContext

# Final module globals: mypyc keeps them in C statics instead of looking them up by name in the
# module's dict on every use (decisions: "The rule guard's hot path is compiled with mypyc").
_PHONE_LIKE: Final = re.compile(r"\d(?:[\s\-.()]*\d){6,}")
_CONDITIONAL: Final = pt.CONDITIONAL
_RULE_GROUPS: Final = ("invoice", "card_fee", "free_shipping", "off_platform", "blame_courier")


# A regex's required literals are checked before it runs only when there are few of them: each
# is one str.find over the place's range, and a failed regex call costs about as much as ten.
_MAX_REQUIRED: Final = 8
# At most this many literals over all of a regex's sets (decisions §87).
_MAX_REQUIRED_TOTAL: Final = 12

# A regex's widest match as the hot loops use it: an unbounded repeat's width (2**64 from
# sre_parse) is a boxed int to mypyc, so every `at + width` and comparison with it took the
# slow path; capped here it stays a tagged one. `min(end, at + width)` is the same for any text
# shorter than 2**60 characters (decisions §115).
_UNBOUNDED: Final = 1 << 60


def _width(regex: re.Pattern[str]) -> int:
    return min(max_width(regex.pattern, regex.flags), _UNBOUNDED)


_Required = tuple[tuple[str, ...], ...]


def _required(regex: re.Pattern[str], shortest: int = 2) -> _Required | None:
    """Sets of literals of which every match of `regex` contains one literal of each
    (anchors.required_literals, and anchors.required_literal_sets for the items after the
    start), the rarest first; or None when there is no such short list. A regex that folds case
    matches other spellings than its literals, so it gets none.

    Several sets and not one: an English pattern usually starts with its topic word, which the
    place already holds, and fails on a later word ("invoice is" + "not"/"unavailable"); one set
    chosen by length was often the start itself, so the regex ran (~8,000 instructions a failed
    try) where a later set would have skipped it for a few str.find calls.

    `shortest`: the shortest literal a set may hold. One-character sets are mostly the start's
    own later characters (always there after a place) or common letters: a find each for almost
    no skips; a Chinese character is no common letter ("点" in "加…个点"), so it counts. A
    pattern with no literal start (searched over the whole text) has no place, and there a rare
    character such as "%" is worth a find."""
    if regex.flags & re.IGNORECASE or "(?" in regex.pattern.replace("(?:", "").replace(
        "(?=", ""
    ).replace("(?!", "").replace("(?<", ""):
        return None
    sets: list[frozenset[str]] = []
    found = required_literals(regex.pattern)
    if found is not None:
        found = shortest_literals(found)
        if len(found) <= _MAX_REQUIRED and _long_enough(found, shortest):
            sets.append(found)
    for extra in required_literal_sets(regex.pattern):
        if len(extra) <= _MAX_REQUIRED and _long_enough(extra, shortest) and extra not in sets:
            sets.append(extra)
    # The literal start itself lies at every place the scan files: a find that always succeeds.
    start = literal_prefixes(regex.pattern)
    if start is not None:
        start = shortest_literals(start)
    sets = [literals for literals in sets if literals != start]
    chosen: list[tuple[str, ...]] = []
    total = 0
    # Rarest first (the longest shortest literal): the first set with none after the place
    # ends the check.
    for literals in sorted(sets, key=lambda lits: (-min(map(len, lits)), sorted(lits))):
        if total + len(literals) > _MAX_REQUIRED_TOTAL:
            continue
        chosen.append(tuple(sorted(literals)))
        total += len(literals)
    return tuple(chosen) if chosen else None


def _long_enough(literals: frozenset[str], shortest: int) -> bool:
    return all(len(lit) >= shortest or "\u3400" <= lit <= "\u9fff" for lit in literals)


# Scan.script's values: 1 when the text holds a CJK character (U+3400..U+9FFF), 2 when it holds
# two a-z in a row (sentences.scripts_and_digit).
_SCRIPT_VALUES: Final = range(4)
_CJK_CHAR: Final = re.compile(r"[\u3400-\u9fff]")
_LATIN_PAIR: Final = re.compile(r"[a-z]{2}")


def _possible(literal: str, script: int) -> bool:
    """Whether `literal` can occur in a text of that Scan.script: one holding a CJK character
    cannot occur where there is none, nor one holding two a-z in a row where there are none."""
    if not script & 1 and _CJK_CHAR.search(literal):
        return False
    return bool(script & 2 or not _LATIN_PAIR.search(literal))


def _for_script(required: _Required | None, script: int) -> _Required | None:
    """`required` without the literals that cannot occur in a text of that script. A set left
    empty is kept (first): `_has_any` over it is False, as every find of its literals would
    have been. Per script, so an English reply makes no finds for Chinese literals (§121)."""
    if required is None:
        return None
    sets = [tuple(lit for lit in literals if _possible(lit, script)) for literals in required]
    return tuple(sorted(sets, key=lambda lits: len(lits) != 0))


def _by_script(required: _Required | None) -> list[_Required | None]:
    return [_for_script(required, script) for script in _SCRIPT_VALUES]


def _top_branches(pattern: str) -> list[str]:
    """The pattern's top-level alternatives, split at each `|` outside groups, classes and
    escapes: the alternation the regex grammar itself defines."""
    out: list[str] = []
    depth = 0
    in_class = False
    start = 0
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            if ch == "]":
                in_class = False
        elif ch == "[":
            in_class = True
            # A "]" right after "[" or "[^" is a literal of the class.
            if pattern[i + 1 : i + 2] == "]":
                i += 1
            elif pattern[i + 1 : i + 3] == "^]":
                i += 2
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
        i += 1
    out.append(pattern[start:])
    return out


def _negation_by_script(negation: re.Pattern[str] | None) -> list[re.Pattern[str] | None]:
    """Per Scan.script, the negation without the top-level alternatives that cannot match in
    such a text (every spelling of their literal start holds a character it lacks), or None
    when none is left. Used only for whether it finds anything in a window: a search finds
    something iff one of its alternatives matches somewhere, so dropping alternatives that
    cannot match keeps every answer. The card-fee negation's Chinese alternatives cost most of
    an English reply's search (§121)."""
    if negation is None:
        return [None] * len(_SCRIPT_VALUES)
    branches = _top_branches(negation.pattern)
    if negation.flags & (re.IGNORECASE | re.VERBOSE) or "|".join(branches) != negation.pattern:
        return [negation] * len(_SCRIPT_VALUES)
    starts = [literal_prefixes(branch) for branch in branches]
    out: list[re.Pattern[str] | None] = []
    for script in _SCRIPT_VALUES:
        kept = [
            branch
            for branch, start in zip(branches, starts, strict=True)
            if start is None or any(_possible(lit, script) for lit in start)
        ]
        if not kept:
            out.append(None)
        elif len(kept) == len(branches):
            out.append(negation)
        else:
            out.append(re.compile("|".join(kept), negation.flags))
    return out


def _has_any(text: str, literals: tuple[str, ...], start: int, end: int) -> bool:
    """Whether one of `literals` lies wholly inside text[start:end]."""
    # A loop, not any() over a generator: compiled, the loop makes no generator object per call.
    for literal in literals:  # noqa: SIM110
        if text.find(literal, start, end) != -1:
            return True
    return False


def _has_all(text: str, required: _Required, start: int, end: int) -> bool:
    """Whether each set of `required` has a literal wholly inside text[start:end]."""
    for literals in required:  # noqa: SIM110
        if not _has_any(text, literals, start, end):
            return False
    return True


class _Part:
    """One concept part (act, topic or cancel) as the scan files it: read in the hot loop, so a
    compiled class with typed fields instead of the data module's dataclass."""

    def __init__(self, key: str, lex: cc.Lexicon | None) -> None:
        self.key = key
        self.present = lex is not None
        self.alternatives: list[re.Pattern[str]] = (
            [regex for regex, _prefixes in lex.alternatives] if lex is not None else []
        )
        # Per alternative, what its match must contain besides its literal start (the place
        # the scan found): where none of it lies between the place and the sentence's end, the
        # alternative cannot match there and its regex is not run.
        self.required: list[_Required | None] = [_required(regex) for regex in self.alternatives]
        # The same per Scan.script, without literals that cannot occur in such a text (§121).
        self.required_by: list[list[_Required | None]] = [
            [_for_script(need, script) for need in self.required] for script in _SCRIPT_VALUES
        ]
        # Per alternative, the most characters a match spans: its required literals lie within
        # that many characters of the place, not anywhere up to the sentence's end.
        self.width: list[int] = [_width(regex) for regex in self.alternatives]
        # Per alternative, the same regex without the contrast look-ahead of
        # `concepts.until_contrast`, run where no contrast word lies between the place and the
        # sentence's end: there the look-ahead cannot refuse a match, and its scan of the rest
        # of the sentence was most of a card cancel's cost (decisions §94).
        self.plain: list[re.Pattern[str] | None] = [
            _without_contrast(regex) for regex in self.alternatives
        ]
        self.rest: re.Pattern[str] | None = lex.rest if lex is not None else None


def _without_contrast(regex: re.Pattern[str]) -> re.Pattern[str] | None:
    """`regex` without its trailing contrast look-ahead, or None when it has none."""
    if not regex.pattern.endswith(cc.CONTRAST_AFTER):
        return None
    return re.compile(regex.pattern[: -len(cc.CONTRAST_AFTER)], regex.flags)


class _ConceptPlan:
    def __init__(self, concept: cc.Concept) -> None:
        self.reports = concept.reports
        self.whole = concept.whole_reply
        self.act = _Part(concept.code + ":act", concept.act)
        self.topic = _Part(concept.code + ":topic", concept.topic)
        self.cancel = _Part(concept.code + ":cancel", concept.cancel)


_CONCEPT_PLANS: Final = [_ConceptPlan(concept) for concept in cc.CONCEPTS]
# The contrast words per Scan.script: in an English reply the Chinese ones cannot occur (§121).
_CONTRAST_BY_SCRIPT: Final = [
    tuple(lit for lit in cc.CONTRAST_LITERALS if _possible(lit, script))
    for script in _SCRIPT_VALUES
]


# A concept part's places in one reply are a few: walking them costs less than a call of the
# bisect module (~450 instructions from compiled code, 17 calls a check; decisions §106).
_LINEAR_PLACES: Final = 16


def _first_from(places: list[int], key: int) -> int:
    """bisect_left(places, key) over the sorted places: the first index whose place is not
    below `key`."""
    n = len(places)
    if n > _LINEAR_PLACES:
        return bisect_left(places, key)
    i = 0
    while i < n and places[i] < key:
        i += 1
    return i


def _lexical_match(scan: Scan, part: _Part, start: int, end: int) -> re.Match[str] | None:
    """The first match of the part's lexicon starting in [start, end) and ending by `end`."""
    text = scan.text
    places = scan.lexical.get(part.key)
    if places is not None:
        alternatives = part.alternatives
        plain = part.plain
        required = part.required_by[scan.script]
        contrast = _CONTRAST_BY_SCRIPT[scan.script]
        width = part.width
        i = _first_from(places, start << ALTERNATIVE_SHIFT)
        n = len(places)
        while i < n:
            place = places[i]
            at = place >> ALTERNATIVE_SHIFT
            if at >= end:
                break
            index = place & ALTERNATIVE_MASK
            need = required[index]
            if need is None or _has_all(text, need, at, min(end, at + width[index])):
                regex = alternatives[index]
                without = plain[index]
                if without is not None and not _has_any(text, contrast, at, end):
                    regex = without
                m = regex.match(text, at, end)
                if m is not None and m.end() > m.start():
                    return m
            i += 1
    rest = part.rest
    if rest is not None:
        return rest.search(text, start, end)
    return None


def _placed(places: list[int] | None, start: int, end: int) -> bool:
    """Whether a concept part has a literal start in [start, end) (places as in Scan.lexical)."""
    if places is None:
        return False
    i = _first_from(places, start << ALTERNATIVE_SHIFT)
    return i < len(places) and places[i] >> ALTERNATIVE_SHIFT < end


def _concept_hits(scan: Scan, wanted: set[str]) -> Iterator[tuple[str, int, int]]:
    """(concept code, start, end) of each sentence (or whole reply, for a concept judged over it)
    where topic and act meet and nothing cancels."""
    sentences = scan.sentences
    lexical = scan.lexical
    for plan in _CONCEPT_PLANS:
        if plan.reports not in wanted:
            continue
        acts = lexical.get(plan.act.key)
        if acts is None:
            continue
        topic = plan.topic
        if topic.present and topic.rest is None and topic.key not in lexical:
            continue
        topic_places = lexical.get(topic.key)
        cancel = plan.cancel
        # End of the last sentence tried: the places are sorted and sentences do not overlap,
        # so a place before it lies in that sentence, tried already (no lookup needed).
        tried_to = -1
        # Acts are tried only where the automaton saw one of their literal starts; topic and
        # cancel are then looked for only in the sentence an act was found in.
        for place in acts:
            at = place >> ALTERNATIVE_SHIFT
            if at < tried_to:
                continue
            if plan.whole:
                # Judged over the reply: its act spans sentences (a card price, then another).
                s_start, s_end = 0, len(scan.text)
            else:
                s_start, s_end = sentence_of(sentences, at)
            if s_start == s_end:
                continue
            tried_to = s_end
            if topic.present and topic.rest is None and not _placed(topic_places, s_start, s_end):
                # No literal start of the topic in this sentence: its lookup would find nothing,
                # so the act's regexes need not be tried here either.
                continue
            act = _lexical_match(scan, plan.act, s_start, s_end)
            if act is None:
                continue
            if topic.present and _lexical_match(scan, topic, s_start, s_end) is None:
                continue
            if cancel.present and _lexical_match(scan, cancel, s_start, s_end) is not None:
                continue
            yield plan.reports, act.start(), act.end()


class _PatternPlan:
    """One targeted pattern with what `_hits` reads of it, as a compiled class (see _Part)."""

    def __init__(self, group: str, index: int, pattern: pt.Pattern, negation_id: int) -> None:
        self.key = (group, index)
        # What stands for this pattern in Scan.present when its required literal occurs.
        self.need = need_of(group, index)
        # Patterns of a group share negation regexes: one id per distinct regex, so a window's
        # answer is reused by every pattern asking the same regex about the same window.
        self.negation_id = negation_id
        self.regex = pattern.regex
        self.negation = pattern.negation
        # Per Scan.script, the negation without alternatives that cannot match there (§121).
        self.negation_by = _negation_by_script(pattern.negation)
        self.conditional_ok = pattern.conditional_ok
        self.exempt = pattern.exempt
        self.requires = pattern.requires
        self.window = pattern.window
        self.script = pattern.script
        self.gated = pattern.required is not None
        self.anchored = pattern.prefixes is not None
        # What a match starting at a place must contain after it (see _Part.required).
        self.after = _required(pattern.regex)
        self.after_by = _by_script(self.after)
        # A pattern with no literal start: what any match must contain, so a text without it
        # is not searched at all.
        self.anywhere = None if self.anchored else _required(pattern.regex, shortest=1)
        self.anywhere_by = _by_script(self.anywhere)
        # The most characters a match spans (see _Part.width).
        self.width = _width(pattern.regex)


def _applies(
    pattern: _PatternPlan, text: str, start: int, end: int, negated: dict[int, bool], script: int
) -> bool:
    """`negated`: the group's negation searches so far in this text, by regex and window (a
    pattern whose literal start occurs several times in one clause asks about the same window,
    and patterns of a group share their negation regexes)."""
    requires = pattern.requires
    if requires is not None and requires.search(text) is None:
        return False
    if pattern.negation is not None:
        negation = pattern.negation_by[script]
        w_start = max(clause_start(text, start), start - pattern.window)
        # One int per (regex, window): offsets are below len(text) + 1.
        size = len(text) + 1
        window = (pattern.negation_id * size + w_start) * size + end
        found = negated.get(window)
        if found is None:
            found = negation is not None and negation.search(text, w_start, end) is not None
            negated[window] = found
        if found:
            return False
    exempt = pattern.exempt
    if pattern.conditional_ok or exempt is not None:
        s_start, s_end = sentence_bounds(text, start, end)
        if pattern.conditional_ok and _CONDITIONAL.search(text, s_start, start) is not None:
            return False
        if exempt is not None and exempt.search(text, s_start, s_end) is not None:
            return False
    return True


def _plans(group: str, patterns: tuple[pt.Pattern, ...]) -> list[_PatternPlan]:
    ids: dict[int, int] = {}
    return [
        _PatternPlan(
            group,
            index,
            pattern,
            ids.setdefault(id(pattern.negation), len(ids)) if pattern.negation is not None else 0,
        )
        for index, pattern in enumerate(patterns)
    ]


_PLANS: Final[dict[str, list[_PatternPlan]]] = {
    group: _plans(group, patterns) for group, patterns in GROUPS.items()
}
# Per group, the patterns with no literal start: searched whatever the automaton found.
_UNANCHORED: Final[dict[str, list[_PatternPlan]]] = {
    group: [plan for plan in plans if not plan.anchored] for group, plans in _PLANS.items()
}


def _hits(scan: Scan, group: str) -> Iterator[tuple[int, int]]:
    text = scan.text
    present = scan.present
    scripts = scan.scripts
    script = scan.script
    # Made at the first match: most groups' places match nothing in a reply.
    negated: dict[int, bool] | None = None
    for plan in _UNANCHORED[group]:
        if plan.gated and plan.need not in present:
            continue
        anywhere = plan.anywhere_by[script]
        if anywhere is not None and not _has_all(text, anywhere, 0, len(text)):
            continue
        if plan.script in scripts:
            for found in plan.regex.finditer(text):
                start, end = found.span()
                if end > start:
                    if negated is None:
                        negated = {}
                    if _applies(plan, text, start, end, negated, script):
                        yield start, end
    # Only the patterns whose literal start the automaton saw, only at those places.
    places = scan.by_group.get(group)
    if places is None:
        return
    plans = _PLANS[group]
    last = -1
    live = False
    plan = plans[0]
    # Sorted by the scan: by pattern, then offset.
    for place in places:
        index = place >> PATTERN_SHIFT
        at = place & OFFSET_MASK
        if index != last:
            last = index
            plan = plans[index]
            live = plan.script in scripts and (not plan.gated or plan.need in present)
        if live:
            after = plan.after_by[script]
            if after is not None and not _has_all(text, after, at, min(len(text), at + plan.width)):
                continue
            m = plan.regex.match(text, at)
            if m is not None and m.end() > at:
                if negated is None:
                    negated = {}
                if _applies(plan, text, at, m.end(), negated, script):
                    yield at, m.end()


def _phone_spans(view: TextView) -> Iterator[tuple[int, int]]:
    if not _PHONE_LIKE.search(view.folded):
        return
    for match in phonenumbers.PhoneNumberMatcher(view.folded, "CN"):
        # 400/800 numbers are companies' service lines, never a private buyer's phone.
        if re.sub(r"\D", "", match.raw_string)[:3] in ("400", "800"):
            continue
        yield match.start, match.end


def _offsite_link_hits(view: TextView, pack: RulePack) -> Iterator[tuple[int, int]]:
    for m in pt.URL.finditer(view.compact):
        host = re.sub(r"^https?://", "", m.group(0)).split("/", 1)[0]
        if not any(host == own or host.endswith("." + own) for own in pack.own_hosts):
            yield m.start(), m.end()


def privacy_hits(view: TextView, scan: Scan) -> Iterator[tuple[int, int, bool]]:
    """(start, end, in_original_coordinates): phone matches index the original text."""
    text = view.compact
    for span in _hits(scan, "privacy"):
        yield (*span, False)
    if scan.digits == NO_DIGIT:
        # No digit (the compact view drops only separators, never a digit; the scan's C pass
        # marks one as sre's \d would): no address number, no phone.
        return
    for regex in (pt.ADDRESS_ZH, pt.ADDRESS_EN):
        if regex is pt.ADDRESS_ZH and ADDRESS_ZH_FLAG not in scan.cued:
            continue
        if regex is pt.ADDRESS_EN and not scan.street:
            # Its match ends with whitespace and a street word (_ADDRESS_EN_TAIL: the repeated
            # group before the street word ends with \s+ and repeats at least once): with none in
            # the text the search, ~11,000 instructions as sre tries its \d at every
            # position, cannot match (decisions §121).
            continue
        for m in regex.finditer(text):
            s_start, s_end = sentence_bounds(text, m.start(), m.end())
            if not pt.PRIVACY_EXEMPT.search(text, s_start, s_end):
                yield m.start(), m.end(), False
    if scan.digits != PHONE_LIKE_DIGITS:
        # _PHONE_LIKE matches seven decimal digits, and the folded view holds the compact one's
        # digits and no other (it drops only separators): with fewer the search, ~11,000
        # instructions as sre tries its \d at every position, cannot match (decisions §116).
        return
    for start, end in _phone_spans(view):
        s_start, s_end = sentence_bounds(view.folded, start, end)
        if not (
            pt.PRIVACY_EXEMPT.search(view.folded, s_start, s_end)
            or cc.SCOPE_CANCEL["privacy"].search(view.folded, s_start, s_end)
        ):
            yield start, end, True


# What Scan.street looks for is what ADDRESS_EN ends with: checked here, so a street word added
# to the pattern and not to sentences.STREET_WORDS (and _fastview.c's) fails at import instead
# of silently missing addresses.
_ADDRESS_EN_TAIL: Final = r"\s+){1,4}(?:" + "|".join(STREET_WORDS) + r")\b"
if not pt.ADDRESS_EN.pattern.endswith(_ADDRESS_EN_TAIL) or pt.ADDRESS_EN.flags & re.IGNORECASE:
    raise ImportError("hits: patterns.ADDRESS_EN no longer ends with sentences.STREET_WORDS")


def raw_hits(
    view: TextView, scan: Scan, context: CheckContext, pack: RulePack
) -> Iterator[tuple[str, int, int]]:
    """(code, start, end) in compact coordinates, before scope and context filters."""
    cued = scan.cued
    # The pack's rules by code: a dict lookup instead of an interpreted method call per code.
    rules = pack.by_code
    for code in _RULE_GROUPS:
        if code not in cued or code not in rules:
            continue
        if code == "free_shipping" and not context.free_shipping:
            continue
        for start, end in _hits(scan, code):
            yield code, start, end
    if "off_platform" in cued and URL_FLAG in cued and "off_platform" in rules:
        for start, end in _offsite_link_hits(view, pack):
            yield "off_platform", start, end
    ship_code = "out_of_stock" if context.stock_available is False else "refuse_to_ship"
    if "refuse_to_ship" in cued:
        for start, end in _hits(scan, "refuse_to_ship"):
            yield ship_code, start, end
        if context.stock_available is not None:
            for start, end in _hits(scan, "stock_excuse"):
                yield ship_code, start, end
    refund_talk = context.refund_talk or (
        REFUND_FLAG in cued and pt.REFUND_TALK.search(view.compact) is not None
    )
    if "wait_patiently" in cued and refund_talk:
        for start, end in _hits(scan, "wait_patiently"):
            yield "wait_patiently", start, end
    wanted = set(_concept_codes_of(pack))
    if not context.free_shipping:
        wanted.discard("free_shipping")
    if not refund_talk:
        wanted.discard("wait_patiently")
    if context.recipient_is_paying_buyer is not False:
        wanted.discard("privacy")
    if ship_code in rules:
        wanted.add("refuse_to_ship")
        if context.stock_available is not None:
            wanted.add("stock_excuse")
    # Concepts back the patterns up: a sentence a pattern already flagged for the same code
    # keeps the pattern's (tighter) span instead of gaining a second finding.
    for code, start, end in _concept_hits(scan, wanted):
        if code in ("refuse_to_ship", "stock_excuse"):
            code = ship_code
        yield "concept:" + code, start, end


_PACK_CONCEPTS: dict[str, frozenset[str]] = {}


def _concept_codes_of(pack: RulePack) -> frozenset[str]:
    """The concept codes a pack has rules for (a pack version never changes its rules)."""
    codes = _PACK_CONCEPTS.get(pack.version)
    if codes is None:
        codes = frozenset(c for c in _CONCEPT_CODES if pack.rule(c) is not None)
        _PACK_CONCEPTS[pack.version] = codes
    return codes


_CONCEPT_CODES = frozenset(
    {
        "invoice",
        "card_fee",
        "free_shipping",
        "off_platform",
        "blame_courier",
        "wait_patiently",
        "privacy",
    }
)
