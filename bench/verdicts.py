"""Every verdict the rule guard gives on the labelled corpus and variants of it, as one file.

`python -m bench.verdicts OUT.json` writes, for each (text, context) pair, the verdict and its
findings (code, severity, span); `python -m bench.verdicts --full OUT.json` the whole
`Verdict.as_dict()` instead (matches, source, the model's reasons, alternatives). Run it
before and after a change that should only make the guard faster, then
`python -m bench.verdicts --compare BEFORE.json AFTER.json`: any pair whose verdict differs is
printed and the exit code is 1.

The texts: both corpus splits as written, plus generated variants that move the text through
the folding and glue paths (upper case, full-width, traditional characters, spelled-out
separators, zero-width characters, doubled sentences, a buyer's echo question in front); the
contexts: every platform with each context switch on and off.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

_TRAD = str.maketrans(
    "发票开费运邮货递买卖单说钱点还这么们让询问题", "發票開費運郵貨遞買賣單說錢點還這麼們讓詢問題"
)
_WIDE = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _variants(text: str) -> Iterator[str]:
    yield text
    yield text.upper()
    yield text.translate(_TRAD)
    yield text.translate(_WIDE)
    yield " ".join(text)
    yield "\u200b".join(text[i : i + 3] for i in range(0, len(text), 3))
    yield text + "。" + text
    yield "您是想问这个吗？" + text
    yield text.replace("，", ",").replace("。", ". ")


def pairs() -> Iterator[tuple[str, Any]]:
    from bench import bench_compliance as bc
    from kefu.compliance.corpus import load
    from kefu.compliance.packs import PLATFORMS
    from kefu.compliance.scanner import CheckContext

    seen: set[str] = set()
    texts: list[str] = []
    # The speed bench's replies too: a change for speed must keep the verdicts it times.
    bench_texts = [bc.ZH_100, bc.ZH_HANT_100, bc.EN_100, bc.RU_ES_100, bc.VIOLATING_100]
    for source in [*(e.text for split in ("tuning", "holdout") for e in load(split)), *bench_texts]:
        for text in _variants(source):
            if text not in seen:
                seen.add(text)
                texts.append(text)
    base = [CheckContext(platform=platform) for platform in PLATFORMS] + [
        CheckContext(
            platform="taobao",
            free_shipping=True,
            recipient_is_paying_buyer=False,
            stock_available=True,
            refund_talk=True,
        ),
        CheckContext(
            platform="taobao",
            free_shipping=True,
            regional_postage=True,
            recipient_is_paying_buyer=True,
            stock_available=False,
        ),
    ]
    contexts = base + [replace(c, platform=p) for c in base[-2:] for p in PLATFORMS]
    for text in texts:
        for context in contexts:
            yield text, context


def snapshot(*, full: bool = False) -> dict[str, Any]:
    from kefu.compliance.scanner import judge

    out: dict[str, Any] = {}
    for text, context in pairs():
        verdict = judge(text, context=context)
        key = hashlib.sha256(repr((text, context)).encode()).hexdigest()
        if full:
            out[key] = [text, repr(context), verdict.as_dict()]
            continue
        out[key] = [
            text,
            repr(context),
            verdict.verdict,
            [[f.code, f.severity.value, f.start, f.end] for f in verdict.findings],
        ]
    return out


def main(argv: list[str]) -> int:
    from bench import harness

    harness.setup_django()
    if argv[:1] == ["--compare"]:
        with open(argv[1]) as f:
            before = json.load(f)
        with open(argv[2]) as f:
            after = json.load(f)
        differ = [k for k in before if before[k] != after.get(k)] + [
            k for k in after if k not in before
        ]
        for key in differ[:40]:
            print(json.dumps([before.get(key), after.get(key)], ensure_ascii=False))
        print(f"{len(before)} pairs before, {len(after)} after, {len(differ)} differ")
        return 1 if differ else 0
    full = argv[:1] == ["--full"]
    if full:
        argv = argv[1:]
    result = snapshot(full=full)
    with open(argv[0], "w") as f:
        json.dump(result, f, ensure_ascii=False)
    flagged = sum(1 for v in result.values() if (v[2]["verdict"] if full else v[2]) != "ok")
    print(f"{len(result)} pairs, {flagged} not ok -> {argv[0]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
