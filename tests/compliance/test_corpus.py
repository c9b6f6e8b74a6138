"""Precision and recall per rule code on the labelled corpus (quoted in the user guide)."""

from collections import Counter

import pytest

from kefu.compliance.corpus import SPLITS, evaluate, load
from kefu.compliance.packs import pack_for

# The gate of issue 14: every code on the hold-out.
GATE = 0.97
# Hold-out codes measured below the gate, at exactly their current (precision, recall). They are
# a documented gap (docs/guide/compliance.md, "Known gaps"), not a lowered bar: a code may not
# fall below these numbers, and an entry must go once the code clears the gate.
# The 2026-12-01 blind batch (written without reading the patterns) opened gaps on the hold-out
# for six codes; rounds six to twelve narrowed them and the thirteenth accuracy round closed them
# (each hold-out miss classed by mechanism and fixed as a class; guide, "Thirteenth accuracy
# round"). The tuning file has had no gap since the third round.
KNOWN_GAPS: dict[str, dict[str, tuple[float, float]]] = {
    "tuning": {},
    "holdout": {},
}
# Blind sets kept apart from tuning and from the model's training, each gated like the hold-out
# (>= 0.97 per code, support >= 10 per code). `floors` hold a code below the gate at its figures
# when the set was first measured blind: a code may not fall below them, and an entry goes once
# the code clears the gate, as with KNOWN_GAPS.
# * blind13 (thirteenth accuracy round): 152 replies for the six codes then below the gate. Its
#   six misses were read and fixed as classes in the fourteenth round, so it is now tuned against
#   and held to the plain gate (guide, "Fourteenth accuracy round").
# * blind14 (fourteenth accuracy round): 171 replies across all nine codes, written before
#   blind13's misses or the patterns were opened; the unseen measure now. Its floors are the
#   figures after that round's fixes (which came from blind13 alone and moved one blind14 figure
#   up: card_fee precision 0.909 -> 1.000), so none is below its first blind pass. Its misses
#   were read and fixed as classes in the fifteenth round: it is tuned against now and held to
#   the plain gate (guide, "Fifteenth accuracy round").
# * blind15 (fifteenth accuracy round): 186 replies across all nine codes, written before the
#   patterns or any other corpus line were opened and measured before any fix; the unseen
#   measure now. Its floors are its first-pass figures (the fifteenth round's fixes, made from
#   blind14 alone, moved six of its figures up and none down). Its misses were read and fixed
#   as classes in the sixteenth round: it is tuned against now and held to the plain gate.
# * blind16 (sixteenth accuracy round): 195 replies across all nine codes, written before the
#   patterns or concept lexicons were opened, reworded where close to any other corpus line and
#   measured once before any fix; the unseen measure now. Its floors are those first-pass
#   figures (the sixteenth round's fixes, made from blind15 and the hold-out, moved none of
#   them); it is never tuned against.
# * blind17 (seventeenth accuracy round): 197 replies across all nine codes, written before the
#   patterns or concept lexicons were opened and before blind16's misses were read, reworded
#   where close to any other corpus line (difflib >= 0.8) and measured once before any change.
#   Its floors were those first-pass figures (with the model). In the eighteenth round its misses
#   and blind18's were read and fixed as classes (structural readers: who pays, who acts, what
#   changes); it clears the gate on every code and is held to it.
# * blind18 (eighteenth accuracy round): 201 replies across all nine codes, written before the
#   patterns or concept lexicons were opened, reworded where close to any other corpus line
#   (difflib >= 0.8) and committed before the guard was run on it. First pass: 21 of 131
#   findings missed, 8 false (guide, "Eighteenth accuracy round"); then tuned against with
#   blind17. Its floors are the figures after that round. blind16, never tuned against and not
#   opened in that round, shows what the readers do on wording they were not written from: its
#   floors are raised to what they reach there.
# * blind19 (nineteenth accuracy round): 211 replies across all nine codes (127 violating),
#   written before the patterns or concept lexicons were opened, reworded where close to any
#   other corpus line (difflib >= 0.8) and committed before the guard was run on it. First pass:
#   28 of 127 findings missed, 8 false (guide, "Nineteenth accuracy round"). Its errors and
#   blind16's and blind18's last misses were then read and fixed as classes (who acts, who pays,
#   negation scope, a card price against another way's price across sentences, channel handles,
#   slang and typos), so blind16, blind18 and blind19 are all tuned against now and held to the
#   plain gate; the next blind set is the unseen measure.
# * blind20 (twentieth accuracy round): 224 replies across all nine codes (135 violating, 15 per
#   code), written from the corpus format and the code list only (no pattern, concept lexicon or
#   rule example opened), reworded where close to any other corpus line (difflib >= 0.8) and
#   committed before the guard was run on it. First pass: 21 of 135 findings missed, 6 false
#   (guide, "Twentieth accuracy round"). Then its misses were read and the general ones fixed
#   in the concept layer (2 missed, 4 false after); its floors are the figures after that, for
#   the five codes still below the gate. It is tuned against now: the next blind set is the
#   unseen measure.
CODES = {
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
BLIND_SETS: dict[str, tuple[set[str], dict[str, tuple[float, float]]]] = {
    "blind13": (
        {"card_fee", "free_shipping", "invoice", "off_platform", "out_of_stock", "wait_patiently"},
        {},
    ),
    "blind14": (
        set(CODES),
        {},
    ),
    "blind15": (
        set(CODES),
        {},
    ),
    "blind16": (
        set(CODES),
        {},
    ),
    "blind17": (
        set(CODES),
        {},
    ),
    "blind18": (
        set(CODES),
        {},
    ),
    "blind19": (
        set(CODES),
        {},
    ),
    "blind20": (
        set(CODES),
        {
            "card_fee": (0.938, 1.0),
            "free_shipping": (1.0, 0.933),
            "invoice": (1.0, 0.933),
            "off_platform": (0.882, 1.0),
            "refuse_to_ship": (0.938, 1.0),
        },
    ),
}


def test_corpus_is_large_mixed_and_split():
    tuning, holdout = load("tuning"), load("holdout")
    assert len(tuning) + len(holdout) >= 800
    assert len(holdout) >= 240
    assert not {e.text for e in tuning} & {e.text for e in holdout}
    for split in (tuning, holdout):
        langs = Counter(e.lang for e in split)
        assert {"zh-Hans", "zh-Hant", "en", "ru", "es"} <= set(langs)
        assert sum(1 for e in split if not e.expected) >= 100  # compliant, many of them tricky
    known = pack_for("taobao").codes
    assert all(e.expected <= known for split in (tuning, holdout) for e in split)


@pytest.mark.parametrize("split", SPLITS)
def test_precision_and_recall_per_code(split):
    report = evaluate(split)
    rows = report.as_rows()
    assert {row["code"] for row in rows} >= CODES
    gaps = KNOWN_GAPS[split]
    failing = []
    for row in rows:
        assert row["support"] >= 5, row
        floor_p, floor_r = gaps.get(row["code"], (GATE, GATE))
        if row["precision"] < min(GATE, floor_p) or row["recall"] < min(GATE, floor_r):
            failing.append(row)
    misses = [(e.line, e.text, sorted(e.expected), sorted(found)) for e, found in report.misses]
    assert not failing, (failing, misses)


@pytest.mark.parametrize("split", SPLITS)
def test_known_gaps_are_still_gaps(split):
    """A gap entry that the guard has since closed must be removed, so the gate applies again."""
    rows = {row["code"]: row for row in evaluate(split).as_rows()}
    closed = [
        code
        for code in KNOWN_GAPS[split]
        if rows[code]["precision"] >= GATE and rows[code]["recall"] >= GATE
    ]
    assert not closed


@pytest.mark.parametrize("name", sorted(BLIND_SETS))
def test_blind_set_is_apart_and_mixed(name):
    codes, _ = BLIND_SETS[name]
    blind = load(name)
    assert len(blind) >= 150
    others = {e.text for split in (*SPLITS, *BLIND_SETS) if split != name for e in load(split)}
    assert not {e.text for e in blind} & others
    assert {"zh-Hans", "zh-Hant", "en", "ru", "es"} <= {e.lang for e in blind}
    assert sum(1 for e in blind if not e.expected) >= 50  # hard negatives for each code
    assert all(e.expected <= codes for e in blind)


@pytest.mark.parametrize("name", sorted(BLIND_SETS))
def test_blind_set_precision_and_recall_per_code(name):
    codes, floors = BLIND_SETS[name]
    report = evaluate(name, load(name))
    rows = {row["code"]: row for row in report.as_rows()}
    assert set(rows) == codes
    failing = []
    for code, row in rows.items():
        assert row["support"] >= 10, row
        floor_p, floor_r = floors.get(code, (GATE, GATE))
        if row["precision"] < min(GATE, floor_p) or row["recall"] < min(GATE, floor_r):
            failing.append(row)
    misses = [(e.line, e.text, sorted(e.expected), sorted(found)) for e, found in report.misses]
    assert not failing, (failing, misses)
    # A floor the guard has since cleared must go, so the gate applies to that code again.
    assert not [
        code for code in floors if rows[code]["precision"] >= GATE and rows[code]["recall"] >= GATE
    ]
