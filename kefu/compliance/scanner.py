"""The rule guard's scanner: one message in, a verdict out. Pure: no database, no I/O.

One Aho-Corasick pass over the folded view finds which rule codes have a cue in the message;
only those codes run their targeted patterns. Context decides the rest: free-shipping rules
need a free-shipping listing, privacy needs a recipient who did not pay, and stock decides
whether "cannot ship" is a refusal or an out-of-stock cost.
"""

from __future__ import annotations

import re
import sys
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import ahocorasick_rs
import phonenumbers

from kefu.compliance import concepts as cc
from kefu.compliance import patterns as pt
from kefu.compliance.anchors import literal_prefixes
from kefu.compliance.packs import pack_for
from kefu.compliance.rules import (
    DEFAULT_REFUND_DAYS,
    DEFAULT_SHIP_BY_HOURS,
    Bilingual,
    Rule,
    RulePack,
    Severity,
)
from kefu.compliance.textview import TextView, build_view

VerdictName = Literal["ok", "warn", "block"]

_SENTENCE_END = "。!?;\n"
_CLAUSE_END = _SENTENCE_END + ","
# Seven or more digits in one run, spaces, dots and dashes allowed: worth asking phonenumbers.
_PHONE_LIKE = re.compile(r"\d(?:[\s\-.()]*\d){6,}")


@dataclass(frozen=True, slots=True)
class CheckContext:
    platform: str = "taobao"
    # The listing under discussion promises free shipping (包邮).
    free_shipping: bool = False
    # The listing itself sets postage for some regions (e.g. Xinjiang, Tibet): asking the buyer to
    # pay "the postage shown on the page" is then allowed even though the rest ships free.
    regional_postage: bool = False
    # None: not known (no order in the conversation); privacy then stays silent.
    recipient_is_paying_buyer: bool | None = None
    # None: not known; "sold out" claims are then not judged.
    stock_available: bool | None = None
    # The conversation is about a refund or return, whatever this message says.
    refund_talk: bool = False
    # "zh" or "en": which language a report shows first. Matching always covers both.
    language: str | None = None
    # The shop's own promises, written into the suggested wording instead of fixed numbers.
    ship_by_hours: int = DEFAULT_SHIP_BY_HOURS
    refund_days: str = DEFAULT_REFUND_DAYS


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    start: int
    end: int
    match: str
    rule: Rule
    # The rule's suggested wording with the shop's promises filled in.
    alternative: Bilingual

    def as_dict(self) -> dict[str, object]:
        return {
            "code": self.code,
            "severity": self.severity.value,
            "requirement": self.rule.requirement,
            "span": [self.start, self.end],
            "match": self.match,
            "title": self.rule.title.as_dict(),
            "explanation": self.rule.explanation.as_dict(),
            "alternative": self.alternative.as_dict(),
            "penalty": self.rule.penalty.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictName
    findings: tuple[Finding, ...]
    platform: str
    pack_version: str
    context: CheckContext = field(default_factory=CheckContext)

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(f.code for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        return {
            "verdict": self.verdict,
            "platform": self.platform,
            "pack_version": self.pack_version,
            "findings": [f.as_dict() for f in self.findings],
        }


_GROUPS: dict[str, tuple[pt.Pattern, ...]] = {
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

_RULE_GROUPS = ("invoice", "card_fee", "free_shipping", "off_platform", "blame_courier")

# Automaton values, one per key, sorted by what the scan does with them:
# (cue codes, patterns starting with the key (group, index), concept alternatives starting with
#  it ("code:part", index), patterns whose required literal this key is (group, index)).
_Value = tuple[
    frozenset[str],
    tuple[tuple[str, int], ...],
    tuple[tuple[str, int], ...],
    tuple[tuple[str, int], ...],
]


def _needed(regex: re.Pattern[str]) -> frozenset[str]:
    prefixes = literal_prefixes(regex.pattern)
    if prefixes is None:
        raise ValueError(f"{regex.pattern[:40]}: no literal start to gate it on")
    return prefixes


_REFUND_FLAG = "~refund_talk"
_URL_FLAG = "~url"
_ADDRESS_ZH_FLAG = "~address_zh"
_FLAGS: dict[str, frozenset[str]] = {
    _REFUND_FLAG: _needed(pt.REFUND_TALK),
    # A link has a dot right before its top-level domain.
    _URL_FLAG: frozenset("." + tld for tld in pt.URL_TLDS),
    # A Chinese street address ends in a number and 号/栋/室...
    _ADDRESS_ZH_FLAG: frozenset(
        digit + unit for digit in "0123456789" for unit in ("号", "栋", "幢", "室", "单元", "弄")
    ),
}


@dataclass(frozen=True, slots=True)
class _Automaton:
    """Every literal the scan looks for, in one Aho-Corasick automaton, and per literal (by
    its index in the automaton) what an occurrence means."""

    matcher: ahocorasick_rs.AhoCorasick
    values: tuple[_Value, ...]


@lru_cache(maxsize=1)
def _automaton() -> _Automaton:
    cues: dict[str, set[str]] = {}
    ats: dict[str, list[tuple[str, int]]] = {}
    concept_at: dict[str, list[tuple[str, int]]] = {}
    needs: dict[str, set[tuple[str, int]]] = {}
    for code, code_cues in pt.CUES.items():
        for cue in code_cues:
            cues.setdefault(cue, set()).add(code)
    # Whole-message searches run only when the automaton saw a literal they need.
    for flag, literals in _FLAGS.items():
        for literal in literals:
            cues.setdefault(literal, set()).add(flag)
    for group, group_patterns in _GROUPS.items():
        for index, pattern in enumerate(group_patterns):
            for prefix in pattern.prefixes or ():
                ats.setdefault(prefix, []).append((group, index))
            for literal in pattern.required or ():
                needs.setdefault(literal, set()).add((group, index))
    for concept in cc.CONCEPTS:
        for part, lex in (
            ("act", concept.act),
            ("topic", concept.topic),
            ("cancel", concept.cancel),
        ):
            if lex is None:
                continue
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
    return _Automaton(ahocorasick_rs.AhoCorasick(keys), values)


@dataclass(slots=True)
class _Scan:
    """What one Aho-Corasick pass found: cued codes and candidate starts per pattern."""

    text: str
    cued: set[str]
    # group -> (pattern index, place) for each place a pattern's literal start occurs.
    by_group: dict[str, list[tuple[int, int]]]
    # (group, pattern index) of the patterns whose required literal occurs.
    present: set[tuple[str, int]]
    scripts: frozenset[str]
    sentences: list[tuple[int, int]]
    # "code:act" / "code:topic" / "code:cancel" -> (start, alternative index) of each place
    # an alternative of that concept part could start.
    lexical: dict[str, list[tuple[int, int]]]


def warm_up() -> None:
    _automaton()


def _scan(text: str) -> _Scan:
    cued: set[str] = set()
    lexical: dict[str, list[tuple[int, int]]] = {}
    by_group: dict[str, list[tuple[int, int]]] = {}
    present: set[tuple[str, int]] = set()
    automaton = _automaton()
    values = automaton.values
    for key, start, _end in automaton.matcher.find_matches_as_indexes(text, overlapping=True):
        cues, ats, concept_at, needs = values[key]
        if cues:
            cued |= cues
        for group, index in ats:
            by_group.setdefault(group, []).append((index, start))
        for name, index in concept_at:
            # Where a concept's act, topic or cancel could start.
            lexical.setdefault(name, []).append((start, index))
        if needs:
            present.update(needs)
    for places in lexical.values():
        places.sort()
    return _Scan(
        text=text,
        cued=cued,
        by_group=by_group,
        present=present,
        scripts=_scripts(text),
        sentences=_sentences(text),
        lexical=lexical,
    )


def _bounds(text: str, start: int, end: int, stops: str) -> tuple[int, int]:
    left = max((text.rfind(ch, 0, start) for ch in stops), default=-1) + 1
    rights = [i for i in (text.find(ch, end) for ch in stops) if i != -1]
    return left, min(rights, default=len(text))


_CLAUSE_STOP = re.compile("[" + re.escape(_CLAUSE_END) + "]")


@lru_cache(maxsize=16)
def _clause_stops(text: str) -> list[int]:
    return [m.start() for m in _CLAUSE_STOP.finditer(text)]


def _clause_start(text: str, start: int) -> int:
    """Where the clause holding offset `start` begins (just after the last stop before it)."""
    stops = _clause_stops(text)
    index = bisect_left(stops, start)
    return stops[index - 1] + 1 if index else 0


def _sentence_bounds(text: str, start: int, end: int) -> tuple[int, int]:
    """Sentence around a span; an English full stop counts, a decimal point does not."""
    sentences = _cached_sentences(text)
    left, first_end = _sentence_of(sentences, start)
    last_start, right = _sentence_of(sentences, max(start, end - 1))
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


def _sentences(text: str) -> list[tuple[int, int]]:
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
def _cached_sentences(text: str) -> list[tuple[int, int]]:
    # One check asks for the sentence around many hits in the same text (str caches its hash).
    return _sentences(text)


def _sentence_of(sentences: list[tuple[int, int]], start: int) -> tuple[int, int]:
    """The sentence holding offset `start` (binary search: long texts have many sentences)."""
    index = bisect_right(sentences, (start, _LEN_MAX)) - 1
    if index >= 0:
        s_start, s_end = sentences[index]
        if s_start <= start < s_end:
            return s_start, s_end
    return start, start


_LEN_MAX = sys.maxsize


def _lexical_match(
    scan: _Scan, key: str, lex: cc.Lexicon, start: int, end: int
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


def _concept_hits(scan: _Scan, wanted: set[str]) -> Iterator[tuple[str, int, int]]:
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
            s_start, s_end = _sentence_of(sentences, at)
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
        clause_start = _clause_start(text, start)
        window_start = max(clause_start, start - pattern.window)
        if pattern.negation.search(text, window_start, end):
            return False
    if pattern.conditional_ok or pattern.exempt is not None:
        s_start, s_end = _sentence_bounds(text, start, end)
        if pattern.conditional_ok and pt.CONDITIONAL.search(text, s_start, start):
            return False
        if pattern.exempt is not None and pattern.exempt.search(text, s_start, s_end):
            return False
    return True


_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN = re.compile(r"[a-z]{2}")


def _scripts(text: str) -> frozenset[str]:
    found = {"any"}
    if _CJK.search(text):
        found.add("zh")
    if _LATIN.search(text):
        found.add("en")
    return frozenset(found)


# Per group, the patterns with no literal start: searched whatever the automaton found.
_UNANCHORED: dict[str, tuple[int, ...]] = {
    group: tuple(i for i, p in enumerate(patterns) if p.prefixes is None)
    for group, patterns in _GROUPS.items()
}


def _hits(scan: _Scan, group: str) -> Iterator[tuple[int, int]]:
    text = scan.text
    patterns = _GROUPS[group]
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


def _privacy_hits(view: TextView, scan: _Scan) -> Iterator[tuple[int, int, bool]]:
    """(start, end, in_original_coordinates): phone matches index the original text."""
    text = view.compact
    for span in _hits(scan, "privacy"):
        yield (*span, False)
    for regex in (pt.ADDRESS_ZH, pt.ADDRESS_EN):
        if regex is pt.ADDRESS_ZH and _ADDRESS_ZH_FLAG not in scan.cued:
            continue
        for m in regex.finditer(text):
            s_start, s_end = _sentence_bounds(text, m.start(), m.end())
            if not pt.PRIVACY_EXEMPT.search(text, s_start, s_end):
                yield m.start(), m.end(), False
    for start, end in _phone_spans(view):
        s_start, s_end = _sentence_bounds(view.folded, start, end)
        if not (
            pt.PRIVACY_EXEMPT.search(view.folded, s_start, s_end)
            or cc.SCOPE_CANCEL["privacy"].search(view.folded, s_start, s_end)
        ):
            yield start, end, True


def _raw_hits(
    view: TextView, scan: _Scan, context: CheckContext, pack: RulePack
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
    if "off_platform" in cued and _URL_FLAG in cued and pack.rule("off_platform") is not None:
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
        _REFUND_FLAG in cued and pt.REFUND_TALK.search(view.compact) is not None
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


def _in_scope(
    code: str,
    text: str,
    span: tuple[int, int],
    sentences: list[tuple[int, int]],
    context: CheckContext,
) -> bool:
    """False when the sentence holding a hit says the compliant thing instead (see concepts)."""
    s_start, s_end = _sentence_of(sentences, span[0])
    if (
        text[s_end : s_end + 1] == "?"
        and text.find("?", s_start, s_end) == -1
        and cc.ECHO_QUESTION.search(text, s_start, min(s_end, s_start + cc.ECHO_FRAME_WITHIN))
        and not cc.ECHO_AGREED.match(text, s_end + 1)
    ):
        # The agent restates the buyer's question; the answer is the next sentence's. Only a
        # question of its own: "您是想问这个吗？" joined to the answer after it (a short question
        # joins its answer) is not a restatement of that answer; and "可以的" right after it
        # grants what was restated.
        return False
    scope = cc.SCOPE_CANCEL.get(code)
    if scope is not None and scope.search(text, s_start, s_end):
        return False
    if code == "refuse_to_ship" and cc.BUYER_CHOICE.search(text, s_start, s_end):
        return False
    if code == "out_of_stock" and cc.ALTERNATIVE_OFFERED.search(text):
        return False
    # Where the listing itself sets regional postage, pointing at the page is allowed.
    return not (
        code == "free_shipping"
        and context.regional_postage
        and cc.LISTING_POSTAGE.search(text, s_start, s_end)
    )


def check_text(text: str, *, context: CheckContext) -> Verdict:
    """Judge one outgoing message. Spans in the verdict index ``text`` itself.

    The same text with the same context gets the same (immutable) verdict: the reply box
    checks again when the agent pauses, and a campaign sends one text to many buyers, so
    recent verdicts are kept (`judge` is the uncached check)."""
    return _cached_check(text, context)


@lru_cache(maxsize=2048)
def _cached_check(text: str, context: CheckContext) -> Verdict:
    return judge(text, context=context)


def judge(text: str, *, context: CheckContext) -> Verdict:
    """Judge one outgoing message without the cache of `check_text`."""
    pack = pack_for(context.platform)
    view = build_view(text)
    scan = _scan(view.compact)
    spans: dict[str, list[tuple[int, int]]] = {}
    compact = view.compact
    flagged: set[tuple[str, tuple[int, int]]] = set()
    for code, start, end in _raw_hits(view, scan, context, pack):
        backup = code.startswith("concept:")
        code = code.removeprefix("concept:")
        sentence = _sentence_of(scan.sentences, start)
        if backup and (code, sentence) in flagged:
            continue
        if _in_scope(code, compact, (start, end), scan.sentences, context):
            flagged.add((code, sentence))
            spans.setdefault(code, []).append(view.span(start, end))
    if context.recipient_is_paying_buyer is False:
        for start, end, original in _privacy_hits(view, scan):
            if original:
                spans.setdefault("privacy", []).append((start, end))
            elif _in_scope("privacy", compact, (start, end), scan.sentences, context):
                spans.setdefault("privacy", []).append(view.span(start, end))
    findings: list[Finding] = []
    for code, found in spans.items():
        rule = pack.rule(code)
        if rule is None:
            continue
        for start, end in _merge(found):
            findings.append(
                Finding(
                    code=code,
                    severity=rule.severity,
                    start=start,
                    end=end,
                    match=text[start:end],
                    rule=rule,
                    alternative=rule.alternative_for(
                        ship_by_hours=context.ship_by_hours, refund_days=context.refund_days
                    ),
                )
            )
    findings.sort(key=lambda f: (f.start, f.code))
    if any(f.severity is Severity.BLOCK for f in findings):
        verdict: VerdictName = "block"
    elif findings:
        verdict = "warn"
    else:
        verdict = "ok"
    return Verdict(
        verdict=verdict,
        findings=tuple(findings),
        platform=pack.platform,
        pack_version=pack.version,
        context=context,
    )


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # Touching or one space apart: one phrase found by two patterns.
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
