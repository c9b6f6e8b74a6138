"""The labelled corpus of agent replies and the precision/recall measurement over it.

`tuning.jsonl` is what the patterns were tuned against; `holdout.jsonl` was written apart and
only measured. Each line: {"text", "lang", "expected": [codes], optional "platform",
optional "context": {CheckContext fields}, optional "batch" (when and how a group of replies was
written, e.g. "2026-12-01-blind": written without reading the patterns, measured before tuning)}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kefu.compliance.scanner import CheckContext, check_text

CORPUS_DIR = Path(__file__).parent / "corpus"
SPLITS = ("tuning", "holdout")
DEFAULT_PLATFORM = "taobao"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    expected: frozenset[str]
    context: CheckContext
    lang: str
    line: int
    batch: str = ""


@dataclass(slots=True)
class CodeScore:
    true_pos: int = 0
    false_pos: int = 0
    false_neg: int = 0

    @property
    def precision(self) -> float:
        found = self.true_pos + self.false_pos
        return self.true_pos / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_pos + self.false_neg
        return self.true_pos / wanted if wanted else 1.0


@dataclass(slots=True)
class Report:
    split: str
    size: int = 0
    scores: dict[str, CodeScore] = field(default_factory=dict)
    misses: list[tuple[Example, frozenset[str]]] = field(default_factory=list)

    def as_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "code": code,
                "support": s.true_pos + s.false_neg,
                "precision": round(s.precision, 3),
                "recall": round(s.recall, 3),
                "false_pos": s.false_pos,
                "false_neg": s.false_neg,
            }
            for code, s in sorted(self.scores.items())
        ]


def example_from(data: dict[str, Any], *, line: int) -> Example:
    ctx = dict(data.get("context") or {})
    platform = data.get("platform") or ctx.pop("platform", DEFAULT_PLATFORM)
    return Example(
        text=str(data["text"]),
        expected=frozenset(data.get("expected") or ()),
        context=CheckContext(platform=platform, **ctx),
        lang=str(data.get("lang", "")),
        line=line,
        batch=str(data.get("batch", "")),
    )


def load(split: str) -> list[Example]:
    path = CORPUS_DIR / f"{split}.jsonl"
    examples = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if raw.strip():
            examples.append(example_from(json.loads(raw), line=number))
    return examples


def evaluate(split: str, examples: list[Example] | None = None) -> Report:
    items = load(split) if examples is None else examples
    report = Report(split=split, size=len(items))
    for example in items:
        found = check_text(example.text, context=example.context).codes
        for code in found | example.expected:
            score = report.scores.setdefault(code, CodeScore())
            if code in found and code in example.expected:
                score.true_pos += 1
            elif code in found:
                score.false_pos += 1
            else:
                score.false_neg += 1
        if found != example.expected:
            report.misses.append((example, found))
    return report
