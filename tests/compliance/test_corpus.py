"""Precision and recall per rule code on the labelled corpus (quoted in the user guide)."""

from collections import Counter

import pytest

from kefu.compliance.corpus import SPLITS, evaluate, load
from kefu.compliance.packs import pack_for

THRESHOLD = 0.95


def test_corpus_is_large_mixed_and_split():
    tuning, holdout = load("tuning"), load("holdout")
    assert len(tuning) + len(holdout) >= 300
    assert len(holdout) >= 150
    assert not {e.text for e in tuning} & {e.text for e in holdout}
    for split in (tuning, holdout):
        langs = Counter(e.lang for e in split)
        assert {"zh-Hans", "zh-Hant", "en"} <= set(langs)
        assert sum(1 for e in split if not e.expected) >= 60  # compliant, many of them tricky
    known = pack_for("taobao").codes
    assert all(e.expected <= known for split in (tuning, holdout) for e in split)


@pytest.mark.parametrize("split", SPLITS)
def test_precision_and_recall_per_code(split):
    report = evaluate(split)
    rows = report.as_rows()
    assert {row["code"] for row in rows} >= {
        "invoice",
        "card_fee",
        "privacy",
        "free_shipping",
        "refuse_to_ship",
        "off_platform",
        "blame_courier",
        "wait_patiently",
        "out_of_stock",
    }
    for row in rows:
        assert row["support"] >= 5, row
    failing = [row for row in rows if row["precision"] < THRESHOLD or row["recall"] < THRESHOLD]
    misses = [(e.line, e.text, sorted(e.expected), sorted(found)) for e, found in report.misses]
    assert not failing, (failing, misses)
