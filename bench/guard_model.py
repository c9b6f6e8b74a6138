"""Train and measure the rule guard's n-gram model behind the rules (kefu/compliance/model.py).

    python -m bench.guard_model train      # fit on the tuning split, write model.json; prints
                                           # the 5-fold out-of-fold figures per code
    python -m bench.guard_model replay OLD.json ...  # blind batches against the rules of the day
    python -m bench.guard_model holdout    # per-code figures on the hold-out, aggregate only

Honesty rule (guide, "Tenth round"): fitting, features, the gate and every threshold use the
tuning split only. `holdout` prints per-code counts and precision/recall, never a reply, a
miss or a score; it is run to measure, not to choose.

The threshold per code: five-fold cross-validation on the tuning split; among the replies the
rules let through for that code, on topic for it and compliant for it, the highest out-of-fold
score. The model fires only strictly above it, so on the tuning split's own folds it adds no
false alarm. scikit-learn (a pinned dependency) fits offline; the product reads the JSON.

`replay` takes files written with an old checkout of the guard (the rules as they stood when
a blind tuning batch was written, before it was tuned on): [{"text", "old": [codes]}] for each
reply of one batch, named BATCH.old.json. The model is trained without that batch and judged
on it behind the old rules: how many of the old rules' misses it catches, how many compliant
replies it flags. That is the honest estimate of what it adds on wording nobody tuned for.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kefu.settings")

CODES = ("card_fee", "free_shipping", "invoice", "off_platform", "out_of_stock", "wait_patiently")
READS_LIKE = {
    "card_fee": (
        "像是要买家为刷卡付款多付钱",
        "reads like asking the buyer to pay more for a card",
    ),
    "free_shipping": (
        "像是包邮商品另收邮费",
        "reads like charging postage on a free-shipping listing",
    ),
    "invoice": (
        "像是拒开发票、加钱开票或改开金额/品名",
        "reads like refusing an invoice, charging for it or changing its amount or item",
    ),
    "off_platform": (
        "像是引导买家到平台外联系或付款",
        "reads like taking the buyer off the platform to talk or pay",
    ),
    "out_of_stock": (
        "像是因缺货让买家取消或退款",
        "reads like asking the buyer to cancel or refund because it is out of stock",
    ),
    "wait_patiently": (
        "像是只让买家等退款、不给时间",
        "reads like telling the buyer only to wait for the refund, with no date",
    ),
}
C = 1.0
FOLDS = 5
SEED = 0


def _examples() -> tuple[list[Any], list[str], list[list[str]], list[frozenset[str]]]:
    from kefu.compliance import model, prescan
    from kefu.compliance.corpus import load
    from kefu.compliance.scanner import judge
    from kefu.compliance.textview import build_view

    del model
    examples = load("tuning")
    compact = [build_view(e.text).compact for e in examples]
    gates: list[list[str]] = []
    for e, text in zip(examples, compact, strict=True):
        scan = prescan.scan(text)
        gates.append(_gate(text, scan, e.context))
    rules = [judge(e.text, context=e.context).codes for e in examples]
    return examples, compact, gates, rules


def _gate(text: str, scan: Any, context: Any) -> list[str]:
    from kefu.compliance.model import gated_codes

    return gated_codes(text, scan.cued, scan.lexical, context, candidates=CODES)


def _fit(texts: list[str], labels: dict[str, list[bool]]) -> tuple[Any, dict[str, Any]]:
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.linear_model import LogisticRegression

    from kefu.compliance.model import ngrams

    vec = CountVectorizer(analyzer=ngrams, binary=True, min_df=2)
    matrix = vec.fit_transform(texts)
    fitted = {
        code: LogisticRegression(C=C, max_iter=3000, class_weight="balanced").fit(
            matrix, labels[code]
        )
        for code in CODES
    }
    return vec, fitted


def _out_of_fold(idx: list[int], compact: list[str], examples: list[Any]) -> dict[str, dict]:
    from sklearn.model_selection import KFold

    scores: dict[str, dict[int, float]] = {code: {} for code in CODES}
    for train, test in KFold(FOLDS, shuffle=True, random_state=SEED).split(idx):
        tr = [idx[k] for k in train]
        te = [idx[k] for k in test]
        labels = {code: [code in examples[i].expected for i in tr] for code in CODES}
        vec, fitted = _fit([compact[i] for i in tr], labels)
        matrix = vec.transform([compact[i] for i in te])
        for code in CODES:
            for i, s in zip(te, fitted[code].decision_function(matrix), strict=True):
                scores[code][i] = float(s)
    return scores


def _thresholds(idx, scores, examples, gates, rules) -> dict[str, float]:
    out = {}
    for code in CODES:
        negatives = [
            scores[code][i]
            for i in idx
            if code in gates[i] and code not in rules[i] and code not in examples[i].expected
        ]
        positives = [
            scores[code][i] for i in idx if code in gates[i] and code in examples[i].expected
        ]
        out[code] = max(negatives) if negatives else 0.0
        caught = sum(1 for s in positives if s > out[code])
        print(
            f"  {code:15s} threshold {out[code]:6.3f}  out-of-fold: {caught}/{len(positives)} "
            f"on-topic violations above it, 0/{len(negatives)} compliant replies behind the rules"
        )
    return out


def train(path: Path | None = None) -> None:
    from kefu.compliance.model import MODEL_PATH

    examples, compact, gates, rules = _examples()
    idx = list(range(len(examples)))
    print(f"tuning split: {len(idx)} replies; {FOLDS}-fold thresholds")
    thresholds = _thresholds(idx, _out_of_fold(idx, compact, examples), examples, gates, rules)
    labels = {code: [code in e.expected for e in examples] for code in CODES}
    vec, fitted = _fit(compact, labels)
    weights: dict[str, list[float]] = {}
    for gram, column in sorted(vec.vocabulary_.items()):
        ws = [round(float(fitted[code].coef_[0][column]), 4) for code in CODES]
        if any(abs(w) >= 0.001 for w in ws):
            weights[gram] = ws
    data = {
        "version": "tuning-" + str(len(examples)),
        "trained_on": "tuning split only (bench/guard_model.py)",
        "codes": [
            {
                "code": code,
                "bias": round(float(fitted[code].intercept_[0]), 4),
                "threshold": round(thresholds[code], 4),
                "reads_like": {"zh": READS_LIKE[code][0], "en": READS_LIKE[code][1]},
            }
            for code in CODES
        ],
        "weights": weights,
    }
    target = path or MODEL_PATH
    target.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")
    print(f"wrote {target} ({len(weights)} n-grams, {target.stat().st_size // 1024} KiB)")


def replay(files: list[str]) -> None:
    examples, compact, gates, _rules = _examples()
    totals = {code: [0, 0, 0, 0] for code in CODES}
    for name in files:
        batch = Path(name).name.removesuffix(".old.json")
        old = {row["text"]: set(row["old"]) for row in json.loads(Path(name).read_text())}
        train_idx = [i for i, e in enumerate(examples) if e.batch != batch]
        test_idx = [i for i, e in enumerate(examples) if e.batch == batch]
        print(f"{batch}: trained on {len(train_idx)}, judged on {len(test_idx)}")
        scores = _out_of_fold(train_idx, compact, examples)
        th = _thresholds(train_idx, scores, examples, gates, _rules)
        labels = {code: [code in examples[i].expected for i in train_idx] for code in CODES}
        vec, fitted = _fit([compact[i] for i in train_idx], labels)
        matrix = vec.transform([compact[i] for i in test_idx])
        for code in CODES:
            batch_scores = fitted[code].decision_function(matrix)
            for i, s in zip(test_idx, batch_scores, strict=True):
                e = examples[i]
                said = code in old[e.text]
                if code in e.expected and not said:
                    totals[code][0] += 1
                    totals[code][1] += int(code in gates[i] and s > th[code])
                elif code not in e.expected and not said and code in gates[i]:
                    totals[code][2] += 1
                    totals[code][3] += int(s > th[code])
    for code, (missed, caught, negatives, flagged) in totals.items():
        print(
            f"  {code:15s} old rules missed {missed:3d}, model caught {caught:3d}; "
            f"compliant on topic {negatives:3d}, model flagged {flagged}"
        )


def holdout() -> None:
    """Aggregate per-code figures only: no reply, miss or score is printed."""
    from kefu.compliance.corpus import evaluate

    for row in evaluate("holdout").as_rows():
        print(
            f"  {row['code']:15s} support {row['support']:3d}  precision {row['precision']:.3f}"
            f"  recall {row['recall']:.3f}  FP {row['false_pos']}  FN {row['false_neg']}"
        )


def main(argv: list[str]) -> int:
    import django

    django.setup()
    command = argv[0] if argv else ""
    if command == "train":
        train()
    elif command == "replay":
        replay(argv[1:])
    elif command == "holdout":
        holdout()
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
