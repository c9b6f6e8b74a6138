"""A small character n-gram model behind the rules (issue 14: "it may decide only together with
an explanation a seller can read").

Per code a linear model (logistic regression) over the binary character 1–4-grams of the
guard's compact view, trained offline on the tuning split only (`bench/guard_model.py`) and
shipped as `model.json`: per n-gram one weight per code, a bias and a threshold per code. The
threshold is above every compliant tuning reply's cross-validated score among the replies the
rules let through, so the model speaks only where the rules were silent and it is sure.

It runs only behind the rules and only on topic: a code the rules already found, a code whose
context does not apply (free shipping, stock, refund talk) or a code with no cue or topic word
in the one prescan pass is never scored. Its findings warn, never block (decisions: "A model
behind the rules"), and name the phrases that pushed the score.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache, reduce
from operator import add
from pathlib import Path
from typing import Any, cast

from kefu.compliance import concepts as cc
from kefu.compliance import native
from kefu.compliance import patterns as pt
from kefu.compliance.prescan import Scan
from kefu.compliance.rules import Bilingual, RulePack, Severity
from kefu.compliance.textview import TextView
from kefu.compliance.verdict import CheckContext, Finding

# Beside the interpreted `native` module: compiled with mypyc (setup.py), this module has no
# __file__ while it is imported.
MODEL_PATH = Path(native.__file__).parent / "model.json"
# KEFU_GUARD_MODEL=0 turns the model off (the rules alone, as before it shipped): a way back
# without a release if its warnings turn out wrong in a shop, and the bench's "before".
ENABLED = os.environ.get("KEFU_GUARD_MODEL", "1") != "0"
NGRAM_MAX = 4
# How many of the strongest phrases an explanation names.
EXPLAIN_TOP = 3
# The C twin of `_sums` (_fastview.c), in a compiled build only (see native.py).
_FAST = native.fast_module()
_Sums = Callable[[str, object], tuple[float, ...] | None]


def ngrams(text: str) -> list[str]:
    """The distinct character 1–4-grams of a compact view: the model's features (training uses
    this same function, so the features cannot drift apart)."""
    seen: dict[str, None] = {}
    size = len(text)
    for start in range(size):
        for n in range(1, NGRAM_MAX + 1):
            if start + n > size:
                break
            seen[text[start : start + n]] = None
    return list(seen)


@dataclass(frozen=True, slots=True)
class CodeModel:
    code: str
    bias: float
    threshold: float
    # What the reply "reads like", in the seller's words (zh, en).
    reads_like: tuple[str, str]


@dataclass(frozen=True, slots=True)
class Model:
    version: str
    codes: tuple[CodeModel, ...]
    # n-gram -> one weight per code, in the order of `codes`.
    weights: dict[str, tuple[float, ...]]
    # code -> its place in `codes`.
    index: dict[str, int]
    # The weights as the C extension's hash table (_fastview.ngram_table), or None where the
    # sources run (no build, a stale one, or KEFU_GUARD_INTERPRETED=1).
    table: object | None


@dataclass(frozen=True, slots=True)
class ModelHit:
    code: str
    score: float
    # Compact-view spans of the strongest phrases in reading order (at most EXPLAIN_TOP
    # n-grams at distinct places), and the phrase holding the strongest one: the finding's span.
    spans: tuple[tuple[int, int], ...]
    strongest: tuple[int, int]
    phrases: tuple[str, ...]
    reads_like: tuple[str, str]


@lru_cache(maxsize=1)
def load_model(path: Path = MODEL_PATH) -> Model:
    """Read the shipped weights once per process (a check never loads anything)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    codes = tuple(
        CodeModel(
            code=entry["code"],
            bias=float(entry["bias"]),
            threshold=float(entry["threshold"]),
            reads_like=(entry["reads_like"]["zh"], entry["reads_like"]["en"]),
        )
        for entry in data["codes"]
    )
    weights = {gram: tuple(ws) for gram, ws in data["weights"].items()}
    table = None if _FAST is None else _FAST.ngram_table(weights, len(codes))
    return Model(
        version=str(data["version"]),
        codes=codes,
        weights=weights,
        index={entry.code: i for i, entry in enumerate(codes)},
        table=table,
    )


# code -> "code:topic", its concept topic's key in Scan.lexical: built once per code, not
# formatted again for every code of every check.
_TOPIC_KEYS: dict[str, str] = {}


def gated_codes(
    compact: str,
    cued: Iterable[str],
    lexical: Iterable[str],
    context: CheckContext,
    *,
    found: Iterable[str] = (),
    enforced: Iterable[str] | None = None,
    candidates: Iterable[str] | None = None,
) -> list[str]:
    """The codes the model may score: on topic, in context, enforced, not already found.

    "On topic": the prescan pass saw the code's cue or one of its concept topic words. The same
    gate chose the training threshold (bench/guard_model.py), so it is part of the model."""
    # The scan's own set and dicts are used as they are: no copies per check.
    return _gated(
        compact,
        cued if isinstance(cued, set) else set(cued),
        lexical if isinstance(lexical, dict) else dict.fromkeys(lexical),
        context,
        found if isinstance(found, dict) else dict.fromkeys(found),
        enforced if enforced is None or isinstance(enforced, dict) else dict.fromkeys(enforced),
        load_model().index if candidates is None else dict.fromkeys(candidates),
    )


def _gated(
    compact: str,
    cued: set[str],
    lexical: dict[str, Any],
    context: CheckContext,
    done: dict[str, Any],
    allowed: dict[str, Any] | None,
    names: dict[str, Any],
) -> list[str]:
    """gated_codes over concrete containers: compiled, each membership test is a set or dict
    lookup, not the generic `in` of an Iterable (decisions §115)."""
    out: list[str] = []
    for code in names:
        if code in done or (allowed is not None and code not in allowed):
            continue
        if code == "free_shipping" and not context.free_shipping:
            continue
        if code == "out_of_stock":
            # Out of stock is the refusal family's code when stock is known to be gone.
            if context.stock_available is not False:
                continue
            if not (
                "refuse_to_ship" in cued
                or "refuse_to_ship:topic" in lexical
                or "refuse_to_ship:act" in lexical
            ):
                continue
            out.append(code)
            continue
        topic = _TOPIC_KEYS.get(code)
        if topic is None:
            topic = _TOPIC_KEYS[code] = f"{code}:topic"
        if code not in cued and topic not in lexical:
            continue
        # The refund-talk search last: a regex over the text, needed only on a stall topic.
        if code == "wait_patiently" and not (
            context.refund_talk or pt.REFUND_TALK.search(compact) is not None
        ):
            continue
        # Thanking the buyer for their patience ("感谢耐心等候", "thanks for your patience") asks
        # for none: the rules' own cancel, present, keeps the model from reading it as a stall.
        if code == "wait_patiently" and "wait_patiently:cancel" in lexical:
            continue
        out.append(code)
    return out


def _rules_read_compliant(code: str, compact: str) -> bool:
    """True when the rules' sentence-wide compliant reading for `code` is in the reply."""
    if code == "out_of_stock":
        return cc.ALTERNATIVE_OFFERED.search(compact) is not None
    scope = cc.SCOPE_CANCEL.get(code)
    return scope is not None and scope.search(compact) is not None


def _columns(compact: str) -> tuple[list[str], list[tuple[float, ...]]]:
    """The model's n-grams present in ``compact`` in the order of their first occurrence (the
    order of `ngrams`) and, per code, their weights (one column per code, in the order of the
    model's codes).

    Set operations and zip run in C; a loop per n-gram in Python cost ~2-3x as much (bench,
    docs/benchmarks.md "Tenth accuracy round"). Each distinct n-gram counts once: the features
    are binary. The order is fixed because floating-point addition is not associative: a set's
    order (which follows the per-process string hash) gave scores differing in the last bits
    from one process to the next, and the C twin could not have matched them."""
    weights = load_model().weights
    # The features training saw, from the same function, in the same order.
    present = [gram for gram in ngrams(compact) if gram in weights]
    return present, list(zip(*[weights[gram] for gram in present], strict=True))


def _sums(compact: str) -> tuple[float, ...] | None:
    """Per code (in the order of the model's codes) the weights of the model's n-grams in
    ``compact`` added one by one from 0.0 in the order of `_columns`, or None when it has none.

    The reference for the C twin (_fastview.ngram_sums), which makes the same additions in the
    same order, so both give the same doubles (tests/compliance/test_native.py). reduce(add)
    and not sum(): Python 3.12's sum() of floats compensates its rounding, which would make the
    reference depend on the interpreter's version."""
    _, columns = _columns(compact)
    if not columns:
        return None
    return tuple(reduce(add, column, 0.0) for column in columns)


def sums(compact: str) -> tuple[float, ...] | None:
    """`_sums`, in C where the guard runs its compiled build (one pass over the text finds the
    n-grams and adds every code's weights: a few µs instead of ~60)."""
    return _model_sums(load_model(), compact)


def _model_sums(model: Model, compact: str) -> tuple[float, ...] | None:
    table = model.table
    if table is None or _FAST is None:
        return _sums(compact)
    return cast(_Sums, _FAST.ngram_sums)(compact, table)


def score(compact: str, codes: Iterable[str]) -> dict[str, float]:
    """The raw linear score per code, the bias included (what a threshold is compared with)."""
    model = load_model()
    totals = sums(compact)
    wanted = set(codes)
    out = {}
    for i, entry in enumerate(model.codes):
        if entry.code in wanted:
            out[entry.code] = entry.bias + (totals[i] if totals is not None else 0.0)
    return out


def hits(compact: str, codes: list[str]) -> list[ModelHit]:
    """The model's findings among ``codes`` (already gated) for one compact view."""
    if not codes:
        return []
    model = load_model()
    totals = _model_sums(model, compact)
    if totals is None:
        return []
    out = []
    explained: tuple[list[str], list[tuple[float, ...]]] | None = None
    for code in codes:
        i = model.index[code]
        entry = model.codes[i]
        total = entry.bias + totals[i]
        if total <= entry.threshold:
            continue
        # Only a finding (rare) pays for the n-grams themselves: its explanation names them.
        if explained is None:
            explained = _columns(compact)
        present, columns = explained
        # The n-grams that pushed it, and where.
        pushes = [
            (column, gram)
            for column, gram in zip(columns[i], present, strict=True)
            if column > 0 and len(gram) > 1
        ]
        first = {gram: compact.find(gram) for _, gram in pushes}
        pushes.sort(reverse=True)
        # The strongest n-grams at distinct places: three overlapping grams of one word
        # would show the seller one phrase where the model had more to say.
        top: list[tuple[int, int]] = []
        for _, gram in pushes:
            at = (first[gram], first[gram] + len(gram))
            if all(at[1] <= s or at[0] >= e for s, e in top):
                top.append(at)
                if len(top) == EXPLAIN_TOP:
                    break
        if not top:
            continue  # nothing a seller could be shown: the model may not decide alone
        spans = _phrases(top)
        lead = top[0][0]
        strongest = next(span for span in spans if span[0] <= lead < span[1])
        out.append(
            ModelHit(
                code=code,
                score=total,
                spans=tuple(spans),
                strongest=strongest,
                phrases=tuple(compact[s:e] for s, e in spans),
                reads_like=entry.reads_like,
            )
        )
    return out


def _phrases(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping or touching n-grams shown as one phrase, in reading order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def findings_behind(
    text: str,
    view: TextView,
    scan: Scan,
    context: CheckContext,
    pack: RulePack,
    found: Iterable[str],
) -> list[Finding]:
    """The model's warnings for codes the rules did not find in this message (see module doc)."""
    if not ENABLED:
        return []
    # The scan's set and dicts and the pack's dict pass through `gated_codes` as they are.
    codes = gated_codes(
        view.compact, scan.cued, scan.lexical, context, found=found, enforced=pack.by_code
    )
    if not codes:
        return []
    out = []
    for hit in hits(view.compact, codes):
        rule = pack.rule(hit.code)
        if rule is None:
            continue
        # A reply the rules read as the compliant answer for this code (an alternative offered
        # for a sold-out colour, the ordinary invoice offered when a special one cannot be) is
        # not left to the model: it would warn on exactly what the rules let through. Asked
        # only where the model would warn, so a check without a warning never searches.
        if _rules_read_compliant(hit.code, view.compact):
            continue
        quoted = [text[s:e] for s, e in (view.span(*span) for span in hit.spans)]
        zh_like, en_like = hit.reads_like
        out.append(
            Finding.of(
                rule,
                text,
                view.span(*hit.strongest),
                context,
                # A statistical reading warns; only a rule blocks (decisions: "A model behind
                # the rules").
                severity=Severity.WARN,
                source="model",
                reason=Bilingual(
                    zh=f"规则未命中，但模型判断这句{zh_like}：「{'」「'.join(quoted)}」。请按建议改写，或确认无误后发送。",
                    en=f"No rule matched, but the model says this {en_like}: "
                    + ", ".join(f"'{q}'" for q in quoted)
                    + ". Reword as suggested, or send if it is fine.",
                ),
            )
        )
    return out
