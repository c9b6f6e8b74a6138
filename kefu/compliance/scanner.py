"""The rule guard's scanner: one message in, a verdict out. Pure: no database, no I/O.

One Aho-Corasick pass over the folded view finds which rule codes have a cue in the message;
only those codes run their targeted patterns. Context decides the rest: free-shipping rules
need a free-shipping listing, privacy needs a recipient who did not pay, and stock decides
whether "cannot ship" is a refusal or an out-of-stock cost.

The parts: prescan (the one pass), hits (the targeted checks behind it), sentences (sentence
and clause bounds), verdict (what a check takes and gives). This module keeps scope and the
verdict itself, and is where callers import from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from functools import lru_cache
from typing import Final, cast

from kefu.compliance import concepts as cc
from kefu.compliance import native, prescan
from kefu.compliance.hits import privacy_hits, raw_hits
from kefu.compliance.model import findings_behind
from kefu.compliance.packs import pack_for
from kefu.compliance.rules import Severity
from kefu.compliance.sentences import sentence_of
from kefu.compliance.textview import build_view
from kefu.compliance.verdict import CheckContext, Finding, Verdict, VerdictName

# The guard's entry points; the types are re-exported so callers import from one place.
__all__ = ["CheckContext", "Finding", "Verdict", "VerdictName", "check_text", "judge", "warm_up"]


def warm_up() -> None:
    prescan.automaton()


def _in_scope(
    code: str,
    text: str,
    span: tuple[int, int],
    sentences: list[tuple[int, int]],
    context: CheckContext,
) -> bool:
    """False when the sentence holding a hit says the compliant thing instead (see concepts)."""
    s_start, s_end = sentence_of(sentences, span[0])
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
    scan = prescan.scan(view.compact)
    spans: dict[str, list[tuple[int, int]]] = {}
    compact = view.compact
    flagged: set[tuple[str, tuple[int, int]]] = set()
    for code, start, end in raw_hits(view, scan, context, pack):
        backup = code.startswith("concept:")
        code = code.removeprefix("concept:")
        sentence = sentence_of(scan.sentences, start)
        if backup and (code, sentence) in flagged:
            continue
        if _in_scope(code, compact, (start, end), scan.sentences, context):
            flagged.add((code, sentence))
            spans.setdefault(code, []).append(view.span(start, end))
    if context.recipient_is_paying_buyer is False:
        for start, end, original in privacy_hits(view, scan):
            if original:
                spans.setdefault("privacy", []).append((start, end))
            elif _in_scope("privacy", compact, (start, end), scan.sentences, context):
                spans.setdefault("privacy", []).append(view.span(start, end))
    findings: list[Finding] = []
    for code, found in spans.items():
        rule = pack.rule(code)
        if rule is None:
            continue
        for span in _merge(found, text):
            findings.append(Finding.of(rule, text, span, context))
    # The n-gram model speaks only where the rules were silent, and only warns.
    findings.extend(findings_behind(text, view, scan, context, pack, spans))
    # Most replies have no finding: no sort key function and no generator built for them.
    verdict: VerdictName = "ok"
    if findings:
        findings.sort(key=_finding_order)
        verdict = "warn"
        for finding in findings:
            if finding.severity is Severity.BLOCK:
                verdict = "block"
                break
    return _new_verdict(verdict, tuple(findings), pack.platform, pack.version, context)


# Verdict is a frozen dataclass of the interpreted verdict module: its generated `__init__`
# runs interpreted (a frame, five `object.__setattr__` calls) on every check. `_new_verdict`
# fills the same slots the same way from compiled code (decisions §98); it stays true only
# while these are all of Verdict's fields and it has no `__post_init__`, checked at import.
_VERDICT_FIELDS: Final = ("verdict", "findings", "platform", "pack_version", "context")
if tuple(f.name for f in fields(Verdict)) != _VERDICT_FIELDS or hasattr(Verdict, "__post_init__"):
    raise ImportError("scanner._new_verdict no longer fills every field of Verdict")


# The C extension's frozen() (_fastview.c), in a compiled build only (see native.py).
_FAST = native.fast_module()
_NATIVE_FROZEN: Final = None if _FAST is None else cast(Callable[..., Verdict], _FAST.frozen)


def _new_verdict(
    verdict: VerdictName,
    findings: tuple[Finding, ...],
    platform: str,
    pack_version: str,
    context: CheckContext,
) -> Verdict:
    """Verdict(verdict=…, findings=…, …), without the interpreted `__init__`."""
    frozen = _NATIVE_FROZEN
    if frozen is not None:
        # The same steps in C: object.__setattr__ from compiled code is still a call through
        # a wrapper descriptor with an argument tuple, ~850 instructions each (decisions §106).
        made: Verdict = frozen(
            Verdict, _VERDICT_FIELDS, verdict, findings, platform, pack_version, context
        )
        return made
    made = object.__new__(Verdict)
    setter = object.__setattr__
    setter(made, "verdict", verdict)
    setter(made, "findings", findings)
    setter(made, "platform", platform)
    setter(made, "pack_version", pack_version)
    setter(made, "context", context)
    return made


def _finding_order(finding: Finding) -> tuple[int, str]:
    return finding.start, finding.code


def _merge(spans: list[tuple[int, int]], text: str) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        # Touching or one space apart: one phrase found by two patterns. A full stop or comma
        # between them parts two phrases ("加我微信。a.cc" is two findings, each highlighted).
        if merged and (
            start <= merged[-1][1] or (start == merged[-1][1] + 1 and text[start - 1].isspace())
        ):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged
