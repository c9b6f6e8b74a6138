"""The targeted checks behind the one pass: patterns and concepts only where the pass saw
their literal starts, links, addresses and phone numbers; hits before scope and context filters.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterator

import phonenumbers

from kefu.compliance import concepts as cc
from kefu.compliance import patterns as pt
from kefu.compliance.prescan import (
    ADDRESS_ZH_FLAG,
    GROUPS,
    REFUND_FLAG,
    URL_FLAG,
    Scan,
)
from kefu.compliance.rules import RulePack
from kefu.compliance.sentences import clause_start, sentence_bounds, sentence_of
from kefu.compliance.textview import TextView
from kefu.compliance.verdict import CheckContext

_PHONE_LIKE = re.compile(r"\d(?:[\s\-.()]*\d){6,}")
_RULE_GROUPS = ("invoice", "card_fee", "free_shipping", "off_platform", "blame_courier")


def _lexical_match(
    scan: Scan, key: str, lex: cc.Lexicon, start: int, end: int
) -> re.Match[str] | None:
    """The first match of `lex` starting in [start, end) and ending by `end`."""
    text = scan.text
    places = scan.lexical.get(key, [])
    i = bisect_left(places, (start, -1))
    while i < len(places) and places[i][0] < end:
        at, index = places[i]
        m = lex.alternatives[index][0].match(text, at, end)
        if m is not None and m.end() > m.start():
            return m
        i += 1
    if lex.rest is not None:
        return lex.rest.search(text, start, end)
    return None


def _concept_hits(scan: Scan, wanted: set[str]) -> Iterator[tuple[str, int, int]]:
    """(concept code, start, end) of each sentence where topic and act meet and nothing cancels."""
    sentences = scan.sentences
    for concept in cc.CONCEPTS:
        code = concept.code
        if concept.reports not in wanted or code + ":act" not in scan.lexical:
            continue
        topic = concept.topic
        if topic is not None and topic.rest is None and code + ":topic" not in scan.lexical:
            continue
        done: set[tuple[int, int]] = set()
        # Acts are tried only where the automaton saw one of their literal starts; topic and
        # cancel are then looked for only in the sentence an act was found in.
        for at, _index in scan.lexical[code + ":act"]:
            s_start, s_end = sentence_of(sentences, at)
            if (s_start, s_end) in done or s_start == s_end:
                continue
            done.add((s_start, s_end))
            act = _lexical_match(scan, code + ":act", concept.act, s_start, s_end)
            if act is None:
                continue
            if concept.topic is not None and not _lexical_match(
                scan, code + ":topic", concept.topic, s_start, s_end
            ):
                continue
            if concept.cancel is not None and _lexical_match(
                scan, code + ":cancel", concept.cancel, s_start, s_end
            ):
                continue
            yield concept.reports, act.start(), act.end()


def _applies(pattern: pt.Pattern, text: str, start: int, end: int) -> bool:
    if pattern.requires is not None and not pattern.requires.search(text):
        return False
    if pattern.negation is not None:
        window_start = max(clause_start(text, start), start - pattern.window)
        if pattern.negation.search(text, window_start, end):
            return False
    if pattern.conditional_ok or pattern.exempt is not None:
        s_start, s_end = sentence_bounds(text, start, end)
        if pattern.conditional_ok and pt.CONDITIONAL.search(text, s_start, start):
            return False
        if pattern.exempt is not None and pattern.exempt.search(text, s_start, s_end):
            return False
    return True


# Per group, the patterns with no literal start: searched whatever the automaton found.
_UNANCHORED: dict[str, tuple[int, ...]] = {
    group: tuple(i for i, p in enumerate(patterns) if p.prefixes is None)
    for group, patterns in GROUPS.items()
}


def _hits(scan: Scan, group: str) -> Iterator[tuple[int, int]]:
    text = scan.text
    patterns = GROUPS[group]
    present = scan.present
    for index in _UNANCHORED[group]:
        pattern = patterns[index]
        if pattern.required is not None and (group, index) not in present:
            continue
        if pattern.script in scan.scripts:
            for found in pattern.regex.finditer(text):
                if found.end() > found.start() and _applies(pattern, text, *found.span()):
                    yield found.start(), found.end()
    # Only the patterns whose literal start the automaton saw, only at those places.
    scripts = scan.scripts
    last = -1
    live = False
    for index, at in sorted(scan.by_group.get(group, ())):
        if index != last:
            last = index
            pattern = patterns[index]
            live = pattern.script in scripts and (
                pattern.required is None or (group, index) in present
            )
        if live:
            m = pattern.regex.match(text, at)
            if m is not None and m.end() > at and _applies(pattern, text, at, m.end()):
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
    for regex in (pt.ADDRESS_ZH, pt.ADDRESS_EN):
        if regex is pt.ADDRESS_ZH and ADDRESS_ZH_FLAG not in scan.cued:
            continue
        for m in regex.finditer(text):
            s_start, s_end = sentence_bounds(text, m.start(), m.end())
            if not pt.PRIVACY_EXEMPT.search(text, s_start, s_end):
                yield m.start(), m.end(), False
    for start, end in _phone_spans(view):
        s_start, s_end = sentence_bounds(view.folded, start, end)
        if not (
            pt.PRIVACY_EXEMPT.search(view.folded, s_start, s_end)
            or cc.SCOPE_CANCEL["privacy"].search(view.folded, s_start, s_end)
        ):
            yield start, end, True


def raw_hits(
    view: TextView, scan: Scan, context: CheckContext, pack: RulePack
) -> Iterator[tuple[str, int, int]]:
    """(code, start, end) in compact coordinates, before scope and context filters."""
    cued = scan.cued
    for code in _RULE_GROUPS:
        if code not in cued or pack.rule(code) is None:
            continue
        if code == "free_shipping" and not context.free_shipping:
            continue
        for start, end in _hits(scan, code):
            yield code, start, end
    if "off_platform" in cued and URL_FLAG in cued and pack.rule("off_platform") is not None:
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
    if pack.rule(ship_code) is not None:
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
